// EXTENDED COPY (LID1), RECEIVE COPY RESULTS, the third-party copy VPD page
// and REPORT TARGET PORT GROUPS, through Device::execute on RAM LUNs.
#include "scsi_harness.h"

namespace sharedisk::scsi::test {
namespace {

constexpr uint64_t kLunField2 = 0x0002000000000000ull;

std::vector<uint8_t> naa_of(uint64_t number) {
  return {0x60, 0x01, 0x40, 0x50, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, uint8_t(number)};
}

// An identification target descriptor (E4h) naming `naa`, block length `bs`.
std::vector<uint8_t> target_desc(const std::vector<uint8_t>& naa, uint32_t bs,
                                 uint8_t type = 0xE4) {
  std::vector<uint8_t> d(32, 0);
  d[0] = type;
  d[4] = 0x01;  // binary
  d[5] = 0x03;  // association LU, NAA
  d[7] = uint8_t(naa.size());
  std::copy(naa.begin(), naa.end(), d.begin() + 8);
  d[29] = uint8_t(bs >> 16);
  d[30] = uint8_t(bs >> 8);
  d[31] = uint8_t(bs);
  return d;
}

std::vector<uint8_t> b2b_seg(uint16_t src, uint16_t dst, uint16_t blocks, uint64_t src_lba,
                             uint64_t dst_lba, uint8_t type = 0x02) {
  std::vector<uint8_t> d(28, 0);
  d[0] = type;
  d[3] = 0x18;
  d[5] = uint8_t(src);
  d[7] = uint8_t(dst);
  d[10] = uint8_t(blocks >> 8);
  d[11] = uint8_t(blocks);
  for (int i = 0; i < 8; ++i) {
    d[12 + i] = uint8_t(src_lba >> (56 - 8 * i));
    d[20 + i] = uint8_t(dst_lba >> (56 - 8 * i));
  }
  return d;
}

std::vector<uint8_t> param_list(uint8_t list_id, uint8_t usage,
                                const std::vector<std::vector<uint8_t>>& targets,
                                const std::vector<std::vector<uint8_t>>& segments) {
  std::vector<uint8_t> p(16, 0);
  p[0] = list_id;
  p[1] = uint8_t(usage << 3);
  size_t tdl = 0, sdl = 0;
  for (auto& t : targets) p.insert(p.end(), t.begin(), t.end()), tdl += t.size();
  for (auto& s : segments) p.insert(p.end(), s.begin(), s.end()), sdl += s.size();
  p[2] = uint8_t(tdl >> 8);
  p[3] = uint8_t(tdl);
  p[10] = uint8_t(sdl >> 8);
  p[11] = uint8_t(sdl);
  return p;
}

std::vector<uint8_t> xcopy_cdb(uint32_t len) {
  std::vector<uint8_t> c(16, 0);
  c[0] = 0x83;
  c[10] = uint8_t(len >> 24);
  c[11] = uint8_t(len >> 16);
  c[12] = uint8_t(len >> 8);
  c[13] = uint8_t(len);
  return c;
}

std::vector<uint8_t> rcr_cdb(uint8_t sa, uint8_t list_id, uint32_t alloc = 1024) {
  std::vector<uint8_t> c(16, 0);
  c[0] = 0x84;
  c[1] = sa;
  c[2] = list_id;
  c[10] = uint8_t(alloc >> 24);
  c[11] = uint8_t(alloc >> 16);
  c[12] = uint8_t(alloc >> 8);
  c[13] = uint8_t(alloc);
  return c;
}

uint32_t be32(const std::vector<uint8_t>& v, size_t at) {
  return uint32_t(v[at]) << 24 | uint32_t(v[at + 1]) << 16 | uint32_t(v[at + 2]) << 8 | v[at + 3];
}
uint16_t be16(const std::vector<uint8_t>& v, size_t at) {
  return uint16_t(v[at] << 8 | v[at + 1]);
}

class Xcopy : public ::testing::Test {
 protected:
  void SetUp() override {
    h.add(2, 8192, 512);
    h.clear_ua();
    for (int i = 0; i < 8; ++i)
      if (h.run({0x00, 0, 0, 0, 0, 0}, 0, {}, nullptr, kLunField2).status == status::kGood) break;
  }
  Result xcopy(const std::vector<uint8_t>& p) {
    return h.run(xcopy_cdb(uint32_t(p.size())), uint32_t(p.size()), p);
  }
  Harness h{4096, 512};
};

TEST_F(Xcopy, CopiesBetweenLunsAndHoldsTheStatus) {
  // 3000 blocks (several 1 MiB chunks and a partial one) from LUN 1 to LUN 2.
  auto data = pattern(3000 * 512, 3);
  for (uint32_t b = 0; b < 3000; b += 500) {
    std::vector<uint8_t> part(data.begin() + b * 512, data.begin() + (b + 500) * 512);
    ASSERT_EQ(h.run(cdb16(0x8A, 10 + b, 500), 500 * 512, part).status, status::kGood);
  }
  auto p = param_list(7, 0, {target_desc(naa_of(1), 512), target_desc(naa_of(2), 512)},
                      {b2b_seg(0, 1, 3000, 10, 100)});
  ASSERT_EQ(xcopy(p).status, status::kGood);
  std::vector<uint8_t> got;
  for (uint32_t b = 0; b < 3000; b += 500) {
    auto r = h.run(cdb16(0x88, 100 + b, 500), 500 * 512, {}, nullptr, kLunField2);
    got.insert(got.end(), r.data.begin(), r.data.end());
  }
  EXPECT_TRUE(got == data);
  // Block 99 and 3100 of LUN 2 stayed untouched.
  EXPECT_EQ(h.run(cdb16(0x88, 99, 1), 512, {}, nullptr, kLunField2).data,
            std::vector<uint8_t>(512, 0));
  EXPECT_EQ(h.run(cdb16(0x88, 3100, 1), 512, {}, nullptr, kLunField2).data,
            std::vector<uint8_t>(512, 0));

  auto st = h.run(rcr_cdb(0x00, 7), 1024);
  ASSERT_EQ(st.status, status::kGood);
  EXPECT_EQ(be32(st.data, 0), 8u);
  EXPECT_EQ(st.data[4], 0x01);  // completed without errors
  EXPECT_EQ(be16(st.data, 5), 1);
  EXPECT_EQ(st.data[7], 0x00);  // bytes
  EXPECT_EQ(be32(st.data, 8), 3000u * 512);
  // Another list identifier is unknown; a nexus holds only its own copies.
  EXPECT_EQ(h.run(rcr_cdb(0x00, 8), 1024).asc, 0x24);
  Nexus* other = h.dev->attach("iqn.x:b,i,0x1", "iqn.2019-02.lb2:odcfs2,t,0x1", 1, 1);
  h.clear_ua(other);
  h.clear_ua(other);
  EXPECT_EQ(h.run(rcr_cdb(0x00, 7), 1024, {}, other).asc, 0x24);
  h.dev->detach(other);
}

TEST_F(Xcopy, DiscardedListIdIsNotHeld) {
  auto p = param_list(9, 2, {target_desc(naa_of(1), 512)}, {b2b_seg(0, 0, 4, 0, 8)});
  ASSERT_EQ(xcopy(p).status, status::kGood);
  EXPECT_EQ(h.run(rcr_cdb(0x00, 9), 1024).asc, 0x24);
}

TEST_F(Xcopy, OverlappingCopyWithinOneLunBehavesLikeMemmove) {
  auto data = pattern(4000 * 512, 5);
  for (uint32_t b = 0; b < 4000; b += 500) {
    std::vector<uint8_t> part(data.begin() + b * 512, data.begin() + (b + 500) * 512);
    ASSERT_EQ(h.run(cdb16(0x8A, b, 500), 500 * 512, part).status, status::kGood);
  }
  // Move blocks 0..2999 up by 1000 (overlapping by 2000 blocks).
  auto p = param_list(1, 3, {target_desc(naa_of(1), 512)}, {b2b_seg(0, 0, 3000, 0, 1000)});
  ASSERT_EQ(xcopy(p).status, status::kGood);
  for (uint32_t b = 0; b < 3000; b += 500) {
    auto r = h.run(cdb16(0x88, 1000 + b, 500), 500 * 512);
    EXPECT_TRUE(std::equal(r.data.begin(), r.data.end(), data.begin() + b * 512)) << b;
  }
}

TEST_F(Xcopy, ParameterListErrors) {
  auto td = target_desc(naa_of(1), 512);
  auto seg = b2b_seg(0, 0, 16, 0, 100);
  // Length 0: nothing to do.
  EXPECT_EQ(h.run(xcopy_cdb(0), 0).status, status::kGood);
  // Truncated inside the target descriptor: PARAMETER LIST LENGTH ERROR.
  auto p = param_list(1, 0, {td}, {seg});
  std::vector<uint8_t> cut(p.begin(), p.begin() + 16 + 31);
  auto r = xcopy(cut);
  EXPECT_EQ(r.key, 0x05);
  EXPECT_EQ(r.asc, 0x1A);
  // Too many target / segment descriptors.
  r = xcopy(param_list(1, 0, std::vector<std::vector<uint8_t>>(9, td), {seg}));
  EXPECT_EQ(r.asc, 0x26);
  EXPECT_EQ(r.ascq, 0x06);
  r = xcopy(param_list(1, 0, {td}, std::vector<std::vector<uint8_t>>(17, seg)));
  EXPECT_EQ(r.asc, 0x26);
  EXPECT_EQ(r.ascq, 0x08);
  // Unsupported descriptor types.
  r = xcopy(param_list(1, 0, {target_desc(naa_of(1), 512, 0xE0)}, {seg}));
  EXPECT_EQ(r.ascq, 0x07);
  std::vector<uint8_t> stream(24, 0);
  stream[0] = 0x03;  // stream-to-stream
  stream[3] = 0x14;
  r = xcopy(param_list(1, 0, {td}, {stream}));
  EXPECT_EQ(r.ascq, 0x09);
  // A descriptor list longer than the copy manager takes.
  // (checked first: 9 x 32 + 30 x 28 bytes > 1024, whatever the counts).
  r = xcopy(param_list(1, 0, std::vector<std::vector<uint8_t>>(9, td),
                       std::vector<std::vector<uint8_t>>(30, seg)));
  EXPECT_EQ(r.asc, 0x1A);
}

TEST_F(Xcopy, CopyAbortedCases) {
  auto td = target_desc(naa_of(1), 512);
  // Segment naming a target descriptor that does not exist.
  auto r = xcopy(param_list(1, 0, {td}, {b2b_seg(0, 1, 16, 0, 100)}));
  EXPECT_EQ(r.key, 0x0A);
  EXPECT_EQ(r.asc, 0x0D);
  EXPECT_EQ(r.ascq, 0x02);
  // An NAA that is none of our LUNs.
  r = xcopy(param_list(1, 0, {target_desc(naa_of(9), 512)}, {b2b_seg(0, 0, 16, 0, 100)}));
  EXPECT_EQ(r.key, 0x0A);
  EXPECT_EQ(r.ascq, 0x02);
  // Past the end of the destination: nothing is written.
  ASSERT_EQ(h.run(cdb16(0x8A, 0, 1), 512, pattern(512, 1)).status, status::kGood);
  r = xcopy(param_list(1, 0, {td}, {b2b_seg(0, 0, 16, 0, 4095)}));
  EXPECT_EQ(r.key, 0x0A);
  EXPECT_EQ(h.run(cdb16(0x88, 4095, 1), 512).data, std::vector<uint8_t>(512, 0));
  // A wrong disk block length.
  r = xcopy(param_list(1, 0, {target_desc(naa_of(1), 4096)}, {b2b_seg(0, 0, 16, 0, 100)}));
  EXPECT_EQ(r.asc, 0x26);
}

TEST_F(Xcopy, OperatingParametersMatchTheVpdPage) {
  auto op = h.run(rcr_cdb(0x03, 0), 1024);
  ASSERT_EQ(op.status, status::kGood);
  EXPECT_EQ(be32(op.data, 0) + 4, op.data.size());
  EXPECT_EQ(be16(op.data, 8), 8);    // MAXIMUM TARGET DESCRIPTOR COUNT
  EXPECT_EQ(be16(op.data, 10), 16);  // MAXIMUM SEGMENT DESCRIPTOR COUNT
  EXPECT_EQ(be32(op.data, 12), 1024u);
  ASSERT_EQ(op.data[43], 2);
  EXPECT_EQ(op.data[44], 0x02);
  EXPECT_EQ(op.data[45], 0xE4);

  auto vpd = h.run({0x12, 1, 0x8F, 0x04, 0, 0}, 1024);
  ASSERT_EQ(vpd.status, status::kGood);
  ASSERT_EQ(vpd.data[1], 0x8F);
  EXPECT_EQ(be16(vpd.data, 2) + 4u, vpd.data.size());
  bool commands = false, params = false, descriptors = false, general = false;
  for (size_t at = 4; at + 4 <= vpd.data.size();) {
    uint16_t type = be16(vpd.data, at), len = be16(vpd.data, at + 2);
    ASSERT_LE(at + 4 + len, vpd.data.size());
    const uint8_t* b = vpd.data.data() + at;
    if (type == 0x0001) commands = b[5] == 0x83 && b[6] == 1 && b[8] == 0x84 && b[9] == 2;
    if (type == 0x0004)
      params = be16(vpd.data, at + 8) == be16(op.data, 8) &&
               be16(vpd.data, at + 10) == be16(op.data, 10) &&
               be32(vpd.data, at + 12) == be32(op.data, 12);
    if (type == 0x0008) descriptors = b[4] == 2 && b[5] == 0x02 && b[6] == 0xE4;
    if (type == 0x8001) general = be32(vpd.data, at + 12) == be32(op.data, 16) && b[16] == 9;
    at += 4 + len;
  }
  EXPECT_TRUE(commands && params && descriptors && general);
  auto pages = h.run({0x12, 1, 0x00, 0, 255, 0}, 255);
  EXPECT_NE(std::find(pages.data.begin() + 4, pages.data.end(), 0x8F), pages.data.end());
  auto std_inq = h.run({0x12, 0, 0, 0, 96, 0}, 96);
  EXPECT_EQ(std_inq.data[5] & 0x30, 0x30);  // TPGS 11b: implicit and explicit ALUA
  EXPECT_EQ(std_inq.data[5] & 0x08, 0x08);  // 3PC
}

// Without a gateway section: one group (1) with its one port (1), whoever is attached.
TEST_F(Xcopy, ReportTargetPortGroups) {
  Nexus* other = h.dev->attach("iqn.x:b,i,0x1", "iqn.2019-02.lb2:odcfs2,t,0x1", 1, 1);
  h.clear_ua(other);
  std::vector<uint8_t> cdb = {0xA3, 0x0A, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
  auto r = h.run(cdb, 256);
  ASSERT_EQ(r.status, status::kGood);
  ASSERT_EQ(be32(r.data, 0) + 4, r.data.size());
  EXPECT_EQ(r.data[4] & 0x0F, 0x0);   // active/optimized
  EXPECT_EQ(r.data[4] & 0x80, 0x80);  // preferred
  EXPECT_EQ(r.data[5] & 0x01, 0x01);  // AO_SUP
  EXPECT_EQ(be16(r.data, 6), 1);      // the nexus' target port group
  ASSERT_EQ(r.data[11], 1);           // port 1
  EXPECT_EQ(be16(r.data, 14), 1);
  EXPECT_EQ(r.data.size(), 16u);  // the only group
  EXPECT_EQ(h.run(cdb, 256, {}, other).data, r.data);
  // Extended header.
  cdb[1] = 0x2A;
  r = h.run(cdb, 256);
  ASSERT_EQ(r.status, status::kGood);
  EXPECT_EQ(r.data[4] & 0x70, 0x10);
  EXPECT_EQ(be16(r.data, 10), 1);
  cdb[1] = 0x4A;  // reserved format
  EXPECT_EQ(h.run(cdb, 256).asc, 0x24);
  h.dev->detach(other);
}

}  // namespace
}  // namespace sharedisk::scsi::test
