// Data integrity through the whole stack: writes of many sizes and alignments
// read back and compared byte for byte, on 512- and 4096-byte-block LUNs, with
// every combination of ImmediateData/InitialR2T the initiator can offer, and
// against a target that forces small bursts (many R2Ts and Data-Out PDUs);
// LBAs at the very end of the LUN and just past it; and a queue depth of 32
// asynchronous commands with verification.
#include <random>

#include "itest_support.h"

namespace sharedisk::itest {
namespace {

constexpr const char* kIqn = "iqn.2024-01.test.sharedisk:io";

struct IoCase {
  const char* name;
  int lun;  // 1: 512-byte blocks, 2: 4096-byte blocks
  bool immediate_data;
  bool initial_r2t;
  bool small_bursts;  // target offers 8 KiB PDUs, 8 KiB first burst, 64 KiB bursts
};

std::string io_yaml(bool small_bursts) {
  std::string y = preamble();
  if (small_bursts)
    y += "iscsi:\n"
         "  max_recv_data_segment_length: 8192\n"
         "  first_burst_length: 8192\n"
         "  max_burst_length: 65536\n";
  y += "targets:\n"
       "  - iqn: iqn.2024-01.test.sharedisk:io\n"
       "    luns:\n"
       "      - number: 1\n"
       "        path: @DIR@/lun512.img\n"
       "        size: 64M\n"
       "      - number: 2\n"
       "        path: @DIR@/lun4096.img\n"
       "        size: 64M\n"
       "        block_size: 4096\n";
  return y;
}

class IoTest : public ::testing::TestWithParam<IoCase> {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<Daemon>(dir_, io_yaml(GetParam().small_bursts));
    START_DAEMON(*daemon_);
    LoginOptions o;
    o.immediate_data = GetParam().immediate_data;
    o.initial_r2t = GetParam().initial_r2t;
    std::string error;
    session_ = Session::open(daemon_->portal(), kIqn, GetParam().lun, o, &error);
    ASSERT_NE(session_, nullptr) << error << "\n" << daemon_->output();
    ASSERT_TRUE(session_->clear_unit_attentions());
    ASSERT_TRUE(session_->capacity(&blocks_, &block_size_));
    ASSERT_EQ(block_size_, GetParam().lun == 1 ? 512u : 4096u);
    ASSERT_EQ(uint64_t(blocks_) * block_size_, 64ull << 20);
  }

  // Writes `count` blocks at `lba` with `seed` and reads them back.
  void round_trip(uint64_t lba, uint32_t count, uint32_t seed) {
    auto data = pattern(seed, lba, count, block_size_);
    ScsiResult w = session_->write16(lba, data, block_size_);
    ASSERT_TRUE(w.good()) << "WRITE16 lba " << lba << " x" << count << ": status " << w.status
                          << " sense " << w.sense_key << "/" << std::hex << w.ascq << " "
                          << w.error;
    ScsiResult r = session_->read16(lba, uint32_t(data.size()), block_size_);
    ASSERT_TRUE(r.good()) << "READ16 lba " << lba << " x" << count << ": " << r.error;
    ASSERT_EQ(r.data.size(), data.size());
    long diff = first_difference(r.data, data);
    ASSERT_EQ(diff, -1) << "lba " << lba << " x" << count << " differs at byte " << diff;
  }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<Session> session_;
  uint64_t blocks_ = 0;
  uint32_t block_size_ = 0;
};

TEST_P(IoTest, SizesAndAlignmentsRoundTrip) {
  // Block counts around powers of two, up to just over 1 MiB (and 2 MiB for
  // 512-byte blocks): every split of data into PDUs, bursts and R2Ts.
  std::vector<uint32_t> counts = {1,  2,  3,  7,  8,   9,   15,  16,  17,  31, 32,
                                  33, 63, 64, 65, 127, 128, 129, 255, 256, 257};
  uint32_t mib = (1u << 20) / block_size_;
  for (uint32_t c : {mib - 1, mib, mib + 1, 2 * mib + 3}) counts.push_back(c);
  uint64_t lba = 1;  // odd start, and every following start moves by an odd amount
  uint32_t seed = 1;
  for (uint32_t count : counts) {
    ASSERT_LT(lba + count, blocks_);
    round_trip(lba, count, seed++);
    if (HasFatalFailure()) return;
    lba += count + 3;
  }
}

TEST_P(IoTest, EndOfLunAndBeyond) {
  round_trip(blocks_ - 1, 1, 100);
  round_trip(blocks_ - 8, 8, 101);
  uint32_t big = (1u << 20) / block_size_ + 1;
  round_trip(blocks_ - big, big, 102);  // ends exactly at the last block

  auto two = pattern(103, blocks_ - 1, 2, block_size_);
  ScsiResult w = session_->write16(blocks_ - 1, two, block_size_);
  EXPECT_EQ(w.status, SCSI_STATUS_CHECK_CONDITION);
  EXPECT_EQ(w.sense_key, SCSI_SENSE_ILLEGAL_REQUEST);
  EXPECT_EQ(w.ascq, 0x2100) << "LOGICAL BLOCK ADDRESS OUT OF RANGE";
  ScsiResult r = session_->read16(blocks_, block_size_, block_size_);
  EXPECT_EQ(r.status, SCSI_STATUS_CHECK_CONDITION);
  EXPECT_EQ(r.sense_key, SCSI_SENSE_ILLEGAL_REQUEST);
  EXPECT_EQ(r.ascq, 0x2100);
  // The failed write changed nothing at the last block.
  r = session_->read16(blocks_ - 1, block_size_, block_size_);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(first_difference(r.data, pattern(102, blocks_ - 1, 1, block_size_)), -1);
}

TEST_P(IoTest, PartialOverwriteAndTenByteCommands) {
  const uint64_t base = 5000;
  auto outer = pattern(7, base, 16, block_size_);
  ASSERT_TRUE(session_->write10(uint32_t(base), outer, block_size_).good());
  auto inner = pattern(8, base + 5, 3, block_size_);
  ASSERT_TRUE(session_->write16(base + 5, inner, block_size_, true /* FUA */).good());
  std::copy(inner.begin(), inner.end(), outer.begin() + 5 * block_size_);
  ScsiResult r = session_->read10(uint32_t(base), 16 * block_size_, block_size_);
  ASSERT_TRUE(r.good()) << r.error;
  EXPECT_EQ(first_difference(r.data, outer), -1);
}

TEST_P(IoTest, QueueDepth32AsyncVerified) {
  std::mt19937 rng(GetParam().lun * 31 + GetParam().immediate_data * 7 + GetParam().initial_r2t);
  struct Extent {
    uint64_t lba;
    uint32_t count;
  };
  std::vector<Extent> extents;
  uint64_t lba = 3;
  for (int i = 0; i < 400; ++i) {
    uint32_t count = 1 + rng() % (i % 10 == 0 ? 300 : 24);
    if (lba + count >= blocks_) break;
    extents.push_back({lba, count});
    lba += count + rng() % 5;
  }
  ASSERT_GE(extents.size(), 200u);

  AsyncRunner writes(*session_, 32);
  int write_failures = 0;
  for (size_t i = 0; i < extents.size(); ++i) {
    writes.write16(extents[i].lba,
                   pattern(uint32_t(1000 + i), extents[i].lba, extents[i].count, block_size_),
                   block_size_, [&](const ScsiResult& r) { write_failures += !r.good(); });
  }
  std::string error;
  ASSERT_TRUE(writes.run(std::chrono::seconds(60), &error)) << error;
  EXPECT_EQ(write_failures, 0);
  EXPECT_EQ(writes.max_in_flight(), 32u);

  AsyncRunner reads(*session_, 32);
  int mismatches = 0, read_failures = 0;
  for (size_t i = 0; i < extents.size(); ++i) {
    Extent e = extents[i];
    reads.read16(e.lba, e.count * block_size_, block_size_, [&, e, i](const ScsiResult& r) {
      if (!r.good()) {
        ++read_failures;
        return;
      }
      if (first_difference(r.data, pattern(uint32_t(1000 + i), e.lba, e.count, block_size_)) != -1)
        ++mismatches;
    });
  }
  ASSERT_TRUE(reads.run(std::chrono::seconds(60), &error)) << error;
  EXPECT_EQ(read_failures, 0);
  EXPECT_EQ(mismatches, 0);
}

const IoCase kCases[] = {
    {"b512_imm_noR2T", 1, true, false, false},
    {"b512_noimm_R2T", 1, false, true, false},
    {"b512_imm_R2T", 1, true, true, false},
    {"b512_noimm_noR2T", 1, false, false, false},
    {"b4096_imm_noR2T", 2, true, false, false},
    {"b4096_noimm_R2T", 2, false, true, false},
    {"small_bursts_b512_imm_noR2T", 1, true, false, true},
    {"small_bursts_b4096_imm_noR2T", 2, true, false, true},
    {"small_bursts_b512_noimm_R2T", 1, false, true, true},
};

INSTANTIATE_TEST_SUITE_P(Negotiated, IoTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<IoCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace sharedisk::itest
