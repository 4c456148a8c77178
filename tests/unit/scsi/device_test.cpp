// Dispatch, LUN addressing, unit attentions, INQUIRY/VPD, REPORT LUNS,
// READ CAPACITY, REQUEST SENSE, START STOP UNIT, sense formats.
#include "scsi_harness.h"

namespace sharedisk::scsi::test {
namespace {

TEST(LunAddressing, PeripheralAndFlat) {
  uint64_t n = 0;
  EXPECT_TRUE(decode_lun(0x0001000000000000ull, &n));
  EXPECT_EQ(n, 1u);
  EXPECT_TRUE(decode_lun(0x4123000000000000ull, &n));
  EXPECT_EQ(n, 0x123u);
  EXPECT_FALSE(decode_lun(0x0101000000000000ull, &n));  // bus 1
  EXPECT_FALSE(decode_lun(0x8001000000000000ull, &n));  // logical unit addressing
  EXPECT_FALSE(decode_lun(0x0001000100000000ull, &n));  // second level
  EXPECT_EQ(encode_lun(5), 0x0005000000000000ull);
  EXPECT_EQ(encode_lun(300), 0x412C000000000000ull);
  for (uint64_t v : {0ull, 1ull, 255ull, 256ull, 16383ull}) {
    ASSERT_TRUE(decode_lun(encode_lun(v), &n));
    EXPECT_EQ(n, v);
  }
}

TEST(UnitAttention, PowerOnFirstThenClearedAndInquiryDoesNotConsume) {
  Harness h;
  auto inq = h.run({0x12, 0, 0, 0, 96, 0}, 96);
  EXPECT_EQ(inq.status, status::kGood);
  auto luns = h.run({0xA0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}, 256);
  EXPECT_EQ(luns.status, status::kGood);
  auto tur = h.run({0x00, 0, 0, 0, 0, 0}, 0);
  EXPECT_EQ(tur.status, status::kCheckCondition);
  EXPECT_EQ(tur.key, 0x6);
  EXPECT_EQ(tur.asc, 0x29);
  EXPECT_EQ(tur.ascq, 0x00);
  EXPECT_EQ(h.run({0x00, 0, 0, 0, 0, 0}, 0).status, status::kGood);
}

TEST(UnitAttention, RequestSenseReportsAndClears) {
  Harness h;
  auto rs = h.run({0x03, 0, 0, 0, 252, 0}, 252);
  EXPECT_EQ(rs.status, status::kGood);
  ASSERT_GE(rs.data.size(), 14u);
  EXPECT_EQ(rs.data[0], 0x70);
  EXPECT_EQ(rs.data[2], 0x6);
  EXPECT_EQ(rs.data[12], 0x29);
  rs = h.run({0x03, 0, 0, 0, 252, 0}, 252);
  EXPECT_EQ(rs.data[2], 0x0);
  EXPECT_EQ(rs.data[12], 0x0);
  EXPECT_EQ(h.run({0x00, 0, 0, 0, 0, 0}, 0).status, status::kGood);
  // DESC=1: descriptor format.
  rs = h.run({0x03, 1, 0, 0, 252, 0}, 252);
  EXPECT_EQ(rs.data[0], 0x72);
}

// SAM-5 5.14 / libiscsi MultipathIO.Reset: a reset's unit attention reaches
// every nexus, the one that requested the reset too.
TEST(UnitAttention, ResetsGoToEveryNexus) {
  Harness h;
  Nexus* other = h.dev->attach("iqn.x:b,i,0x1", "iqn.2019-02.lb2:odcfs2,t,0x1", 1, 1);
  h.clear_ua();
  h.clear_ua(other);
  h.dev->lun_reset(h.nexus, 1);
  for (Nexus* n : {h.nexus, other}) {
    auto r = h.run({0x00, 0, 0, 0, 0, 0}, 0, {}, n);
    EXPECT_EQ(r.key, 0x6);
    EXPECT_EQ(r.asc, 0x29);
    EXPECT_EQ(r.ascq, 0x03);
    EXPECT_EQ(h.run({0x00, 0, 0, 0, 0, 0}, 0, {}, n).status, status::kGood);
  }
  h.dev->target_reset(other);
  for (Nexus* n : {h.nexus, other}) {
    auto r = h.run({0x00, 0, 0, 0, 0, 0}, 0, {}, n);
    EXPECT_EQ(r.asc, 0x29);
    EXPECT_EQ(r.ascq, 0x02);
  }
  EXPECT_FALSE(h.dev->capacity_changed(1));  // same size
  EXPECT_FALSE(h.dev->capacity_changed(9));
  h.dev->detach(other);
}

TEST(Dispatch, UnknownLun) {
  Harness h;
  const uint64_t lun7 = 0x0007000000000000ull;
  auto inq = h.run({0x12, 0, 0, 0, 96, 0}, 96, {}, nullptr, lun7);
  EXPECT_EQ(inq.status, status::kGood);
  ASSERT_GE(inq.data.size(), 36u);
  EXPECT_EQ(inq.data[0], 0x7F);
  auto tur = h.run({0x00, 0, 0, 0, 0, 0}, 0, {}, nullptr, lun7);
  EXPECT_EQ(tur.key, 0x5);
  EXPECT_EQ(tur.asc, 0x25);
  auto rl = h.run({0xA0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}, 256, {}, nullptr, lun7);
  EXPECT_EQ(rl.status, status::kGood);
  auto rs = h.run({0x03, 0, 0, 0, 18, 0}, 18, {}, nullptr, lun7);
  EXPECT_EQ(rs.status, status::kGood);
  EXPECT_EQ(rs.data[12], 0x25);
}

TEST(Dispatch, InvalidOpcodeAndServiceAction) {
  Harness h;
  h.clear_ua();
  auto r = h.run({0xFF, 0, 0, 0, 0, 0}, 0);
  EXPECT_EQ(r.key, 0x5);
  EXPECT_EQ(r.asc, 0x20);
  r = h.run({0x9E, 0x1F, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0}, 32);
  EXPECT_EQ(r.key, 0x5);
  EXPECT_EQ(r.asc, 0x24);
  auto [cd, byte, bit] = field_pointer(r);
  EXPECT_TRUE(cd);
  EXPECT_EQ(byte, 1);
  EXPECT_EQ(bit, 4);
}

TEST(ReportLuns, FormatAndAllocation) {
  Harness h;
  h.add(0, 64, 512);
  h.add(300, 64, 4096);
  auto r = h.run({0xA0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}, 256);
  ASSERT_EQ(r.status, status::kGood);
  ASSERT_EQ(r.data.size(), 8u + 3 * 8);
  EXPECT_EQ(r.data[3], 24);
  EXPECT_EQ(r.data[8 + 1], 0);   // LUN 0
  EXPECT_EQ(r.data[16 + 1], 1);  // LUN 1
  EXPECT_EQ(r.data[24], 0x41);   // LUN 300: flat addressing
  EXPECT_EQ(r.data[25], 0x2C);
  // Allocation length 16 truncates without error.
  r = h.run({0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0}, 16);
  EXPECT_EQ(r.status, status::kGood);
  EXPECT_EQ(r.data.size(), 16u);
  EXPECT_EQ(r.transfer_length, 16u);
  r = h.run({0xA0, 0, 7, 0, 0, 0, 0, 0, 1, 0, 0, 0}, 256);
  EXPECT_EQ(r.asc, 0x24);
  EXPECT_EQ(std::get<1>(field_pointer(r)), 2);
}

TEST(Inquiry, StandardData) {
  Harness h;
  auto r = h.run({0x12, 0, 0, 1, 4, 0}, 260);
  ASSERT_EQ(r.status, status::kGood);
  ASSERT_GE(r.data.size(), 36u);
  EXPECT_EQ(r.data[0], 0);
  EXPECT_EQ(r.data[2], 6);
  EXPECT_EQ(r.data[3] & 0x0F, 2);
  EXPECT_EQ(r.data[4] + 5u, r.data.size());
  EXPECT_EQ(std::string(r.data.begin() + 8, r.data.begin() + 16), "SHAREDSK");
  bool sbc3 = false;
  for (int i = 58; i < 74; i += 2) sbc3 |= (r.data[i] << 8 | r.data[i + 1]) == 0x04C0;
  EXPECT_TRUE(sbc3);
  // Allocation length is honoured, transfer_length follows it.
  r = h.run({0x12, 0, 0, 0, 5, 0}, 5);
  EXPECT_EQ(r.data.size(), 5u);
  EXPECT_EQ(r.transfer_length, 5u);
  // Page code without EVPD, and CMDDT, are invalid fields.
  r = h.run({0x12, 0, 0x80, 0, 96, 0}, 96);
  EXPECT_EQ(r.asc, 0x24);
  EXPECT_EQ(std::get<1>(field_pointer(r)), 2);
  r = h.run({0x12, 2, 0, 0, 96, 0}, 96);
  EXPECT_EQ(std::get<1>(field_pointer(r)), 1);
  EXPECT_EQ(std::get<2>(field_pointer(r)), 1);
}

TEST(Inquiry, VpdPages) {
  Harness h;
  auto r = h.run({0x12, 1, 0x00, 0, 255, 0}, 255);
  ASSERT_EQ(r.status, status::kGood);
  std::vector<uint8_t> pages(r.data.begin() + 4, r.data.end());
  EXPECT_EQ(pages.size(), r.data[3]);
  for (uint8_t p : pages) {
    auto v = h.run({0x12, 1, p, 0, 255, 0}, 255);
    EXPECT_EQ(v.status, status::kGood) << int(p);
    EXPECT_EQ(v.data[1], p);
  }
  auto sn = h.run({0x12, 1, 0x80, 0, 255, 0}, 255);
  EXPECT_EQ(std::string(sn.data.begin() + 4, sn.data.end()), "SER1");
  auto id = h.run({0x12, 1, 0x83, 0x01, 0, 0}, 256);
  ASSERT_EQ(id.status, status::kGood);
  size_t len = (id.data[2] << 8 | id.data[3]) + 4u;
  ASSERT_EQ(len, id.data.size());
  bool naa = false, t10 = false, rtp = false, tpg = false, port_name = false, dev_name = false;
  for (size_t p = 4; p + 4 <= len; p += 4 + id.data[p + 3]) {
    uint8_t type = id.data[p + 1] & 0x0F, assoc = (id.data[p + 1] >> 4) & 3;
    const uint8_t* v = &id.data[p + 4];
    if (type == 3 && assoc == 0) naa = v[0] == 0x60 && id.data[p + 3] == 16;
    if (type == 1) t10 = std::string(v, v + 8) == "SHAREDSK";
    if (type == 4 && assoc == 1) rtp = v[3] == 1;
    if (type == 5 && assoc == 1) tpg = v[3] == 1;
    if (type == 8 && assoc == 1)
      port_name = std::string(reinterpret_cast<const char*>(v)) == "iqn.2019-02.lb2:odcfs2,t,0x1";
    if (type == 8 && assoc == 2)
      dev_name = std::string(reinterpret_cast<const char*>(v)) == "iqn.2019-02.lb2:odcfs2";
    if (type == 8) {
      EXPECT_EQ(id.data[p + 3] % 4, 0);
    }
  }
  EXPECT_TRUE(naa && t10 && rtp && tpg && port_name && dev_name);
  auto bl = h.run({0x12, 1, 0xB0, 0, 64, 0}, 64);
  EXPECT_EQ(bl.data[3], 0x3C);
  EXPECT_EQ(bl.data.size(), 64u);
  auto bad = h.run({0x12, 1, 0x42, 0, 64, 0}, 64);
  EXPECT_EQ(bad.asc, 0x24);
}

TEST(ReadCapacity, TenAndSixteen) {
  Harness h(1000, 4096);
  h.clear_ua();
  auto r = h.run({0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 8);
  ASSERT_EQ(r.status, status::kGood);
  EXPECT_EQ(r.data, (std::vector<uint8_t>{0, 0, 0x03, 0xE7, 0, 0, 0x10, 0}));
  r = h.run({0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0}, 8);  // LBA without PMI
  EXPECT_EQ(r.asc, 0x24);
  r = h.run(cdb16(0x9E, 0, 32, 0x10), 32);
  ASSERT_EQ(r.status, status::kGood);
  ASSERT_EQ(r.data.size(), 32u);
  EXPECT_EQ(r.data[7], 0xE7);
  EXPECT_EQ(r.data[10], 0x10);
  r = h.run(cdb16(0x9E, 0, 12, 0x10), 12);
  EXPECT_EQ(r.data.size(), 12u);
}

TEST(StartStopUnit, NonRemovable) {
  Harness h;
  h.clear_ua();
  EXPECT_EQ(h.run({0x1B, 1, 0, 0, 0x01, 0}, 0).status, status::kGood);
  EXPECT_EQ(h.run({0x1B, 0, 0, 0, 0x00, 0}, 0).status, status::kGood);
  auto r = h.run({0x1B, 1, 0, 0, 0x02, 0}, 0);  // LOEJ on fixed medium
  EXPECT_EQ(r.asc, 0x24);
  EXPECT_EQ(std::get<1>(field_pointer(r)), 4);
  EXPECT_EQ(std::get<2>(field_pointer(r)), 1);
  EXPECT_EQ(h.run({0x00, 0, 0, 0, 0, 0}, 0).status, status::kGood);
}

}  // namespace
}  // namespace sharedisk::scsi::test
