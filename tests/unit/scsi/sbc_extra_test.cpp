// Issue-3 commands: COMPARE AND WRITE, ORWRITE, WRITE AND VERIFY, WRITE SAME,
// UNMAP, GET LBA STATUS, PRE-FETCH, READ DEFECT DATA, PREVENT ALLOW, SPC-2
// RESERVE/RELEASE, REPORT SUPPORTED OPERATION CODES / TMF.
#include "scsi_harness.h"

namespace sharedisk::scsi::test {
namespace {

std::vector<uint8_t> caw_cdb(uint64_t lba, uint8_t blocks) {
  auto c = cdb16(0x89, lba, 0);
  c[13] = blocks;
  return c;
}

class Extra : public ::testing::Test {
 protected:
  void SetUp() override { h.clear_ua(); }
  Harness h{2048, 512, false, true};
};

TEST_F(Extra, CompareAndWrite) {
  auto a = pattern(1024, 1), b = pattern(1024, 2);
  ASSERT_EQ(h.run(cdb10(0x2A, 20, 2), 1024, a).status, status::kGood);
  std::vector<uint8_t> out = a;
  out.insert(out.end(), b.begin(), b.end());
  EXPECT_EQ(h.run(caw_cdb(20, 2), 2048, out).status, status::kGood);
  EXPECT_EQ(h.run(cdb10(0x28, 20, 2), 1024).data, b);
  // Now the verify instance (a) no longer matches: MISCOMPARE at offset 0... of the first
  // difference.
  auto r = h.run(caw_cdb(20, 2), 2048, out);
  EXPECT_EQ(r.key, 0xE);
  EXPECT_EQ(r.asc, 0x1D);
  size_t first = 0;
  while (a[first] == b[first]) ++first;
  EXPECT_EQ(size_t(r.sense[6] | r.sense[5] << 8), first);
  EXPECT_EQ(h.run(cdb10(0x28, 20, 2), 1024).data, b);  // unchanged
  // Wrong data-out size.
  r = h.run(caw_cdb(20, 1), 2048, out);
  EXPECT_EQ(r.asc, 0x24);
  r = h.run(caw_cdb(2047, 2), 2048, out);
  EXPECT_EQ(r.asc, 0x21);
  // 0 blocks: GOOD without data-out, INVALID FIELD IN CDB with (a block count
  // of 256 wrapped to 0), and the medium is untouched either way.
  EXPECT_EQ(h.run(caw_cdb(20, 0), 0).status, status::kGood);
  r = h.run(caw_cdb(20, 0), 2048, out);
  EXPECT_EQ(r.asc, 0x24);
  EXPECT_EQ(std::get<1>(field_pointer(r)), 13);
  EXPECT_EQ(h.run(cdb10(0x28, 20, 2), 1024).data, b);
}

TEST_F(Extra, OrWriteAndWriteVerify) {
  std::vector<uint8_t> x(512, 0x0F), y(512, 0xF0);
  ASSERT_EQ(h.run(cdb10(0x2E, 3, 1, 0x02), 512, x).status, status::kGood);  // WRITE AND VERIFY
  ASSERT_EQ(h.run(cdb16(0x8B, 3, 1), 512, y).status, status::kGood);
  auto r = h.run(cdb10(0x28, 3, 1), 512);
  EXPECT_EQ(r.data, std::vector<uint8_t>(512, 0xFF));
  EXPECT_EQ(h.run(cdb16(0x8B, 3, 1, 0x20), 512, y).asc, 0x24);
}

TEST_F(Extra, WriteSameAndUnmapAndLbaStatus) {
  auto blk = pattern(512, 9);
  ASSERT_EQ(h.run(cdb10(0x41, 100, 50), 512, blk).status, status::kGood);
  auto r = h.run(cdb10(0x28, 100, 50), 50 * 512);
  for (int i = 0; i < 50; ++i)
    EXPECT_TRUE(std::equal(blk.begin(), blk.end(), r.data.begin() + i * 512)) << i;
  EXPECT_EQ(h.run(cdb10(0x28, 150, 1), 512).data, std::vector<uint8_t>(512, 0));
  // GET LBA STATUS: mapped run at 100..149 then deallocated.
  auto st = h.run(cdb16(0x9E, 100, 64, 0x12), 64);
  ASSERT_EQ(st.status, status::kGood);
  EXPECT_EQ(st.data[8 + 12], 0);
  EXPECT_EQ(st.data[8 + 11], 50);
  EXPECT_EQ(st.data[24 + 12], 1);
  // UNMAP 10 blocks at 110.
  std::vector<uint8_t> p(24, 0);
  p[1] = 22;
  p[3] = 16;
  p[8 + 7] = 110;
  p[8 + 11] = 10;
  ASSERT_EQ(h.run({0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0}, 24, p).status, status::kGood);
  EXPECT_EQ(h.run(cdb10(0x28, 110, 1), 512).data, std::vector<uint8_t>(512, 0));
  EXPECT_EQ(h.run(cdb10(0x28, 109, 1), 512).data, blk);
  // WRITE SAME(16) UNMAP with zeroes, and NDOB.
  ASSERT_EQ(h.run(cdb16(0x93, 100, 5, 0x08), 512, std::vector<uint8_t>(512, 0)).status,
            status::kGood);
  EXPECT_EQ(h.run(cdb10(0x28, 104, 1), 512).data, std::vector<uint8_t>(512, 0));
  ASSERT_EQ(h.run(cdb16(0x93, 105, 5, 0x09), 0).status, status::kGood);
  EXPECT_EQ(h.run(cdb10(0x28, 109, 1), 512).data, std::vector<uint8_t>(512, 0));
  // 0 blocks (WSNZ=0): from the LBA to the end; beyond end, bad data-out size,
  // UNMAP descriptor beyond end.
  EXPECT_EQ(h.run({0x12, 1, 0xB0, 0, 64, 0}, 64).data[4] & 0x01, 0);
  ASSERT_EQ(h.run(cdb10(0x41, 2040, 0), 512, blk).status, status::kGood);
  r = h.run(cdb10(0x28, 2039, 9), 9 * 512);
  EXPECT_FALSE(std::equal(blk.begin(), blk.end(), r.data.begin()));
  for (int i = 1; i < 9; ++i)
    EXPECT_TRUE(std::equal(blk.begin(), blk.end(), r.data.begin() + i * 512)) << i;
  EXPECT_EQ(h.run(cdb10(0x41, 2048, 0), 512, blk).asc, 0x21);
  // UNMAP=1 deallocates whatever the pattern (the LUN is thin).
  ASSERT_EQ(h.run(cdb10(0x41, 2044, 0, 0x08), 512, blk).status, status::kGood);
  EXPECT_EQ(h.run(cdb10(0x28, 2044, 4), 2048).data, std::vector<uint8_t>(2048, 0));
  EXPECT_EQ(h.run(cdb10(0x41, 2049, 0), 512, blk).asc, 0x21);
  EXPECT_NE(h.run(cdb10(0x41, 0, 2), 1024, pattern(1024, 1)).status, status::kGood);
  p[8 + 6] = 0x10;
  EXPECT_EQ(h.run({0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0}, 24, p).asc, 0x21);
  EXPECT_EQ(h.run(cdb16(0x9E, 2048, 64, 0x12), 64).asc, 0x21);
}

TEST(Provisioning, FullLunRefusesUnmapAndReportsNoLbp) {
  Harness h(64, 512, false, false);
  h.clear_ua();
  std::vector<uint8_t> p(24, 0);
  EXPECT_EQ(h.run({0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0}, 24, p).asc, 0x20);
  // WRITE SAME with UNMAP: INVALID FIELD IN CDB (LBPWS=0); without it, fine.
  auto ws = h.run(cdb16(0x93, 0, 4, 0x08), 512, std::vector<uint8_t>(512, 0));
  EXPECT_EQ(ws.asc, 0x24);
  EXPECT_EQ(std::get<1>(field_pointer(ws)), 1);
  EXPECT_EQ(h.run(cdb16(0x93, 0, 4), 512, std::vector<uint8_t>(512, 0)).status, status::kGood);
  auto lbp = h.run({0x12, 1, 0xB2, 0, 64, 0}, 64);
  EXPECT_EQ(lbp.data[5], 0);
  auto bl = h.run({0x12, 1, 0xB0, 0, 64, 0}, 64);
  EXPECT_EQ(bl.data[23], 0);  // MAXIMUM UNMAP LBA COUNT
  auto rc = h.run(cdb16(0x9E, 0, 32, 0x10), 32);
  EXPECT_EQ(rc.data[14] & 0x80, 0);
}

TEST_F(Extra, PrefetchDefectsPreventAllow) {
  EXPECT_EQ(h.run(cdb10(0x34, 0, 10), 0).status, status::kGood);
  EXPECT_EQ(h.run(cdb16(0x90, 2048, 1), 0).asc, 0x21);
  auto r = h.run({0x37, 0, 0x0D, 0, 0, 0, 0, 0, 4, 0}, 4);
  ASSERT_EQ(r.status, status::kGood);
  EXPECT_EQ(r.data.size(), 4u);
  EXPECT_EQ(r.data[1], 0x0D);
  r = h.run({0xB7, 0x15, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0}, 8);
  EXPECT_EQ(r.data.size(), 8u);
  EXPECT_EQ(h.run({0x1E, 0, 0, 0, 1, 0}, 0).status, status::kGood);
  EXPECT_EQ(h.run({0x1E, 0, 0, 0, 0, 0}, 0).status, status::kGood);
  EXPECT_EQ(h.run({0x1E, 0, 0, 0, 2, 0}, 0).asc, 0x24);
}

TEST_F(Extra, Spc2ReserveRelease) {
  Nexus* other = h.dev->attach("iqn.x:b,i,0x1", "iqn.2019-02.lb2:odcfs2,t,0x1", 1, 1);
  h.clear_ua(other);
  EXPECT_EQ(h.run({0x16, 0, 0, 0, 0, 0}, 0).status, status::kGood);
  EXPECT_EQ(h.run({0x16, 0, 0, 0, 0, 0}, 0).status, status::kGood);  // again: fine
  EXPECT_EQ(h.run({0x16, 0, 0, 0, 0, 0}, 0, {}, other).status, status::kReservationConflict);
  EXPECT_EQ(h.run(cdb10(0x28, 0, 1), 512, {}, other).status, status::kReservationConflict);
  EXPECT_EQ(h.run({0x12, 0, 0, 0, 36, 0}, 36, {}, other).status, status::kGood);
  EXPECT_EQ(h.run(cdb10(0x28, 0, 1), 512).status, status::kGood);
  EXPECT_EQ(h.run({0x17, 0, 0, 0, 0, 0}, 0, {}, other).status, status::kGood);  // no-op
  EXPECT_EQ(h.run(cdb10(0x28, 0, 1), 512, {}, other).status, status::kReservationConflict);
  EXPECT_EQ(h.run({0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0).status, status::kGood);
  EXPECT_EQ(h.run(cdb10(0x28, 0, 1), 512, {}, other).status, status::kGood);
  // A LUN reset and the holder's logout both drop it.
  EXPECT_EQ(h.run({0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0).status, status::kGood);
  h.dev->lun_reset(other, 1);
  h.clear_ua(other);
  EXPECT_EQ(h.run(cdb10(0x28, 0, 1), 512, {}, other).status, status::kGood);
  h.clear_ua();
  EXPECT_EQ(h.run({0x16, 0, 0, 0, 0, 0}, 0, {}, other).status, status::kGood);
  h.dev->detach(other);
  EXPECT_EQ(h.run(cdb10(0x28, 0, 1), 512).status, status::kGood);
}

TEST_F(Extra, ReportSupportedOpcodes) {
  auto all = h.run({0xA3, 0x0C, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0}, 4096);
  ASSERT_EQ(all.status, status::kGood);
  uint32_t len = all.data[0] << 24 | all.data[1] << 16 | all.data[2] << 8 | all.data[3];
  ASSERT_EQ(len % 8, 0u);
  ASSERT_EQ(len + 4, all.data.size());
  bool read10 = false, rc16 = false;
  for (size_t p = 4; p < all.data.size(); p += 8) {
    if (all.data[p] == 0x28) read10 = all.data[p + 7] == 10 && !(all.data[p + 5] & 1);
    if (all.data[p] == 0x9E && all.data[p + 3] == 0x10) rc16 = all.data[p + 5] & 1;
  }
  EXPECT_TRUE(read10 && rc16);
  auto rctd = h.run({0xA3, 0x0C, 0x80, 0, 0, 0, 0, 0, 0x10, 0, 0, 0}, 4096);
  EXPECT_EQ((rctd.data.size() - 4) % 20, 0u);
  EXPECT_EQ(rctd.data[4 + 5] & 0x02, 0x02);
  auto one = h.run({0xA3, 0x0C, 0x01, 0x28, 0, 0, 0, 0, 1, 0, 0, 0}, 256);
  ASSERT_EQ(one.status, status::kGood);
  EXPECT_EQ(one.data[1] & 7, 3);
  EXPECT_EQ(one.data[3], 10);
  EXPECT_EQ(one.data[4], 0x28);
  EXPECT_EQ(one.data[5] & 0x18, 0x18);  // DPO/FUA usage
  auto sa = h.run({0xA3, 0x0C, 0x02, 0x9E, 0, 0x10, 0, 0, 1, 0, 0, 0}, 256);
  EXPECT_EQ(sa.data[1] & 7, 3);
  EXPECT_EQ(h.run({0xA3, 0x0C, 0x01, 0x9E, 0, 0, 0, 0, 1, 0, 0, 0}, 256).asc, 0x24);
  auto none = h.run({0xA3, 0x0C, 0x01, 0xE7, 0, 0, 0, 0, 1, 0, 0, 0}, 256);
  EXPECT_EQ(none.data[1] & 7, 1);
  auto tmf = h.run({0xA3, 0x0D, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0}, 4);
  EXPECT_EQ(tmf.data[0] & 0x80, 0x80);
}

// COMPARE AND WRITE is atomic against a write queued while it holds the blocks.
TEST_F(Extra, WriteWaitsForCompareAndWrite) {
  auto a = pattern(512, 1), b = pattern(512, 2), c = pattern(512, 3);
  ASSERT_EQ(h.run(cdb10(0x2A, 7, 1), 512, a).status, status::kGood);
  Task caw, w;
  auto setup = [&](Task& t, std::vector<uint8_t> cdb, std::vector<uint8_t> data) {
    std::memcpy(t.cdb, cdb.data(), cdb.size());
    t.lun = kLunField1;
    t.expected_length = uint32_t(data.size());
    t.buffer = h.pool.get(data.size());
    std::memcpy(t.buffer.data(), data.data(), data.size());
    t.data_out_length = uint32_t(data.size());
    t.nexus = h.nexus;
    t.owner = &h;
  };
  std::vector<uint8_t> ab = a;
  ab.insert(ab.end(), b.begin(), b.end());
  setup(caw, caw_cdb(7, 1), ab);
  setup(w, cdb10(0x2A, 7, 1), c);
  int before = h.completed;
  h.dev->execute(caw);  // holds block 7 until its read and write complete
  h.dev->execute(w);    // must wait in the gate
  for (int i = 0; i < 2000 && h.completed < before + 2; ++i) {
    h.io.run_for(std::chrono::milliseconds(5));
    h.io.restart();
  }
  EXPECT_EQ(caw.status, status::kGood);
  EXPECT_EQ(w.status, status::kGood);
  EXPECT_EQ(h.run(cdb10(0x28, 7, 1), 512).data, c);  // the write landed after CAW's
}

}  // namespace
}  // namespace sharedisk::scsi::test
