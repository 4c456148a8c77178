// READ/WRITE/VERIFY/SYNCHRONIZE CACHE and MODE SENSE/SELECT through Device::execute.
#include "scsi_harness.h"

namespace sharedisk::scsi::test {
namespace {

class Rw : public ::testing::Test {
 protected:
  void SetUp() override { h.clear_ua(); }
  Harness h{2048, 512};
};

TEST_F(Rw, WriteReadBackAllSizes) {
  auto data = pattern(8 * 512, 3);
  ASSERT_EQ(h.run(cdb10(0x2A, 100, 8), 4096, data).status, status::kGood);
  auto r = h.run(cdb10(0x28, 100, 8), 4096);
  EXPECT_EQ(r.data, data);
  r = h.run({0x08, 0, 0, 100, 8, 0}, 4096);  // READ(6)
  EXPECT_EQ(r.data, data);
  std::vector<uint8_t> c12 = {0xA8, 0, 0, 0, 0, 100, 0, 0, 0, 8, 0, 0};
  EXPECT_EQ(h.run(c12, 4096).data, data);
  EXPECT_EQ(h.run(cdb16(0x88, 100, 8), 4096).data, data);
  auto d2 = pattern(512, 9);
  ASSERT_EQ(h.run({0x0A, 0, 0, 5, 1, 0}, 512, d2).status, status::kGood);
  EXPECT_EQ(h.run(cdb16(0x88, 5, 1, 0x18), 512).data, d2);                   // DPO+FUA
  ASSERT_EQ(h.run(cdb16(0x8A, 6, 1, 0x08), 512, d2).status, status::kGood);  // FUA
  EXPECT_EQ(h.run(cdb10(0x28, 6, 1), 512).data, d2);
}

TEST_F(Rw, Read6ZeroMeans256Blocks) {
  auto r = h.run({0x08, 0, 0, 0, 0, 0}, 256 * 512);
  EXPECT_EQ(r.status, status::kGood);
  EXPECT_EQ(r.transfer_length, 256u * 512);
  EXPECT_EQ(r.data.size(), 256u * 512);
}

TEST_F(Rw, LbaOutOfRange) {
  for (auto cdb :
       {cdb10(0x28, 2048, 1), cdb10(0x28, 2047, 2), cdb10(0x28, 2049, 0), cdb16(0x88, ~0ull, 1),
        cdb10(0x2A, 2048, 1), cdb10(0x2F, 2048, 1), cdb16(0x91, 4000, 0)}) {
    auto r = h.run(cdb, 512, cdb[0] == 0x2A ? pattern(512, 1) : std::vector<uint8_t>{});
    EXPECT_EQ(r.status, status::kCheckCondition);
    EXPECT_EQ(r.key, 0x5);
    EXPECT_EQ(r.asc, 0x21);
  }
  EXPECT_EQ(h.run(cdb10(0x28, 2048, 0), 0).status, status::kGood);  // 0 blocks at the end
  EXPECT_EQ(h.run(cdb10(0x28, 2047, 1), 512).status, status::kGood);
}

TEST_F(Rw, ProtectFieldsAreInvalid) {
  auto r = h.run(cdb10(0x28, 0, 1, 0x20), 512);
  EXPECT_EQ(r.asc, 0x24);
  EXPECT_EQ(std::get<1>(field_pointer(r)), 1);
  EXPECT_EQ(std::get<2>(field_pointer(r)), 7);
  r = h.run(cdb10(0x2A, 0, 1, 0x40), 512, pattern(512, 0));
  EXPECT_EQ(r.asc, 0x24);
  r = h.run(cdb10(0x2F, 0, 1, 0x20), 0);
  EXPECT_EQ(r.asc, 0x24);
}

TEST_F(Rw, ReadResiduals) {
  auto r = h.run(cdb10(0x28, 0, 1), 0);  // EDTL 0
  EXPECT_EQ(r.status, status::kGood);
  EXPECT_EQ(r.transfer_length, 512u);
  EXPECT_EQ(r.data_in_length, 0u);
  r = h.run(cdb10(0x28, 0, 1), 10000);
  EXPECT_EQ(r.data_in_length, 512u);
  EXPECT_EQ(r.transfer_length, 512u);
  r = h.run(cdb10(0x28, 0, 1), 200);
  EXPECT_EQ(r.data_in_length, 200u);
  EXPECT_EQ(r.transfer_length, 512u);
  r = h.run(cdb10(0x28, 0, 2), 512);
  EXPECT_EQ(r.data_in_length, 512u);
  EXPECT_EQ(r.transfer_length, 1024u);
}

TEST_F(Rw, WriteResidualsWriteOnlyWholeBlocksThatArrived) {
  auto a = std::vector<uint8_t>(1024, 'a'), b = std::vector<uint8_t>(1024, 'b');
  ASSERT_EQ(h.run(cdb10(0x2A, 0, 2), 1024, a).status, status::kGood);
  // CDB 1 block, EDTL 2 blocks: only the CDB's block is written.
  auto r = h.run(cdb10(0x2A, 0, 1), 1024, b);
  EXPECT_EQ(r.status, status::kGood);
  EXPECT_EQ(r.transfer_length, 512u);
  auto back = h.run(cdb10(0x28, 0, 2), 1024).data;
  EXPECT_EQ(back[0], 'b');
  EXPECT_EQ(back[600], 'a');
  // CDB 2 blocks, EDTL 1 block: only the block that arrived is written.
  ASSERT_EQ(h.run(cdb10(0x2A, 0, 2), 1024, a).status, status::kGood);
  r = h.run(cdb10(0x2A, 0, 2), 512, std::vector<uint8_t>(512, 'b'));
  EXPECT_EQ(r.status, status::kGood);
  EXPECT_EQ(r.transfer_length, 1024u);
  back = h.run(cdb10(0x28, 0, 2), 1024).data;
  EXPECT_EQ(back[0], 'b');
  EXPECT_EQ(back[600], 'a');
  // 200 bytes of a 512-byte block: nothing written, GOOD, overflow for the transport.
  r = h.run(cdb10(0x2A, 0, 1), 200, std::vector<uint8_t>(200, 'c'));
  EXPECT_EQ(r.status, status::kGood);
  EXPECT_EQ(h.run(cdb10(0x28, 0, 1), 512).data[0], 'b');
  r = h.run(cdb10(0x2A, 0, 1), 0);
  EXPECT_EQ(r.status, status::kGood);
  EXPECT_EQ(r.transfer_length, 512u);
}

TEST_F(Rw, VerifyBytchk) {
  auto data = pattern(4 * 512, 77);
  ASSERT_EQ(h.run(cdb10(0x2A, 10, 4), 2048, data).status, status::kGood);
  EXPECT_EQ(h.run(cdb10(0x2F, 10, 4, 0x02), 2048, data).status, status::kGood);
  auto bad = data;
  bad[1000] ^= 1;
  auto r = h.run(cdb16(0x8F, 10, 4, 0x02), 2048, bad);
  EXPECT_EQ(r.key, 0xE);
  EXPECT_EQ(r.asc, 0x1D);
  ASSERT_EQ(r.sense.size(), 18u);
  EXPECT_TRUE(r.sense[0] & 0x80);  // VALID
  EXPECT_EQ(r.sense[3] << 24 | r.sense[4] << 16 | r.sense[5] << 8 | r.sense[6], 1000);
  EXPECT_EQ(h.run(cdb10(0x2F, 10, 4, 0x00), 0).status, status::kGood);  // BYTCHK 0: no compare
  r = h.run(cdb10(0x2F, 10, 4, 0x04), 0);                               // BYTCHK 2 reserved
  EXPECT_EQ(r.asc, 0x24);
  // BYTCHK 3: one block against each block.
  auto block = pattern(512, 5);
  std::vector<uint8_t> same;
  for (int i = 0; i < 3; ++i) same.insert(same.end(), block.begin(), block.end());
  ASSERT_EQ(h.run(cdb10(0x2A, 50, 3), 1536, same).status, status::kGood);
  EXPECT_EQ(h.run(cdb10(0x2F, 50, 3, 0x06), 512, block).status, status::kGood);
  r = h.run(cdb10(0x2F, 49, 3, 0x06), 512, block);
  EXPECT_EQ(r.key, 0xE);
}

TEST_F(Rw, SynchronizeCache) {
  EXPECT_EQ(h.run(cdb10(0x35, 0, 0), 0).status, status::kGood);
  EXPECT_EQ(h.run(cdb16(0x91, 10, 10), 0).status, status::kGood);
}

TEST(ReadOnly, WritesAreProtected) {
  Harness h(64, 512, true);
  h.clear_ua();
  auto r = h.run(cdb10(0x2A, 0, 1), 512, pattern(512, 1));
  EXPECT_EQ(r.key, 0x7);
  EXPECT_EQ(r.asc, 0x27);
  EXPECT_EQ(h.run(cdb10(0x28, 0, 1), 512).status, status::kGood);
  // WRITE SAME with UNMAP reports the write protection, not the missing LBPWS.
  EXPECT_EQ(h.run(cdb10(0x41, 0, 1, 0x08), 512, std::vector<uint8_t>(512, 0)).asc, 0x27);
  EXPECT_EQ(h.run({0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0}, 24, std::vector<uint8_t>(24, 0)).asc, 0x27);
  auto ms = h.run({0x1A, 0, 0x3F, 0, 255, 0}, 255);
  EXPECT_EQ(ms.data[2] & 0x80, 0x80);  // WP
}

TEST_F(Rw, ModeSenseAllPagesAndResiduals) {
  auto r = h.run({0x1A, 0, 0x3F, 0, 255, 0}, 255);
  ASSERT_EQ(r.status, status::kGood);
  EXPECT_EQ(r.data[0] + 1u, r.data.size());
  EXPECT_EQ(r.data[2] & 0x10, 0x10);  // DPOFUA
  EXPECT_EQ(r.data[3], 8);            // block descriptor
  std::vector<uint8_t> codes;
  for (size_t p = 4 + 8; p < r.data.size(); p += 2 + r.data[p + 1])
    codes.push_back(r.data[p] & 0x3F);
  EXPECT_EQ(codes, (std::vector<uint8_t>{0x01, 0x08, 0x0A}));
  EXPECT_LT(r.transfer_length, 255u);  // the transport reports underflow
  r = h.run({0x1A, 0, 0x3F, 0, 4, 0}, 4);
  EXPECT_EQ(r.data.size(), 4u);
  EXPECT_EQ(r.transfer_length, 4u);                   // no overflow
  r = h.run({0x1A, 0, 0x3F | 0xC0, 0, 255, 0}, 255);  // saved values
  EXPECT_EQ(r.asc, 0x39);
  r = h.run({0x1A, 0, 0x19, 0, 255, 0}, 255);
  EXPECT_EQ(r.asc, 0x24);
  r = h.run({0x5A, 0x18, 0x08, 0, 0, 0, 0, 0, 255, 0}, 255);  // MODE SENSE(10) DBD
  ASSERT_EQ(r.status, status::kGood);
  EXPECT_EQ(r.data[7], 0);
  EXPECT_EQ(r.data[8], 0x08);
  r = h.run({0x5A, 0x10, 0x08, 0, 0, 0, 0, 0, 255, 0}, 255);  // LLBAA
  EXPECT_EQ(r.data[4] & 1, 1);
  EXPECT_EQ(r.data[7], 16);
}

TEST_F(Rw, ModeSelectChangesWceAndDsenseAndRaisesUa) {
  Nexus* other = h.dev->attach("iqn.x:b,i,0x1", "iqn.2019-02.lb2:odcfs2,t,0x1", 1, 1);
  h.clear_ua(other);
  auto cur = h.run({0x1A, 0x08, 0x08, 0, 255, 0}, 255);  // caching page, no BD
  ASSERT_EQ(cur.status, status::kGood);
  EXPECT_EQ(cur.data[4 + 2] & 0x04, 0x04);  // WCE: memory backing is write-back
  std::vector<uint8_t> sel(cur.data.begin(), cur.data.end());
  sel[0] = 0;
  sel[4 + 2] &= ~0x04;
  auto r = h.run({0x15, 0x10, 0, 0, uint8_t(sel.size()), 0}, uint32_t(sel.size()), sel);
  ASSERT_EQ(r.status, status::kGood);
  EXPECT_EQ(h.run({0x1A, 0x08, 0x08, 0, 255, 0}, 255).data[6] & 0x04, 0);
  r = h.run({0x00, 0, 0, 0, 0, 0}, 0, {}, other);
  EXPECT_EQ(r.asc, 0x2A);
  EXPECT_EQ(r.ascq, 0x01);
  EXPECT_EQ(h.run({0x00, 0, 0, 0, 0, 0}, 0).status, status::kGood);  // not the changer
  // A non-changeable bit: INVALID FIELD IN PARAMETER LIST pointing at it.
  sel[4 + 2] |= 0x01;  // RCD
  r = h.run({0x15, 0x10, 0, 0, uint8_t(sel.size()), 0}, uint32_t(sel.size()), sel);
  EXPECT_EQ(r.asc, 0x26);
  auto [cd, byte, bit] = field_pointer(r);
  EXPECT_FALSE(cd);
  EXPECT_EQ(byte, 6);
  EXPECT_EQ(bit, 0);
  // SP is refused.
  r = h.run({0x15, 0x11, 0, 0, uint8_t(sel.size()), 0}, uint32_t(sel.size()), sel);
  EXPECT_EQ(r.asc, 0x24);
  // D_SENSE on: errors come back in descriptor format.
  auto ctl = h.run({0x1A, 0x08, 0x0A, 0, 255, 0}, 255).data;
  ctl[0] = 0;
  ctl[4 + 2] |= 0x04;
  ASSERT_EQ(h.run({0x15, 0x10, 0, 0, uint8_t(ctl.size()), 0}, uint32_t(ctl.size()), ctl).status,
            status::kGood);
  r = h.run(cdb16(0x88, ~0ull, 1), 512);
  EXPECT_EQ(r.sense[0], 0x72);
  EXPECT_EQ(r.asc, 0x21);
  // Parameter list shorter than announced.
  r = h.run({0x15, 0x10, 0, 0, 40, 0}, 40, std::vector<uint8_t>(10, 0));
  EXPECT_EQ(r.asc, 0x1A);
  h.dev->detach(other);
}

}  // namespace
}  // namespace sharedisk::scsi::test
