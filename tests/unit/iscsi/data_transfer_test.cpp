// WriteTransfer and DataInSplitter without sockets: which write data may come
// unsolicited (ImmediateData, InitialR2T, FirstBurstLength, the F bit), the
// R2Ts a write gets (MaxBurstLength each, MaxOutstandingR2T at a time), which
// Data-Out PDUs are in sequence (DataSN, buffer offset, burst bounds), and
// read data split into Data-In PDUs at MaxRecvDataSegmentLength with F at
// every MaxBurstLength and the status in the last PDU, as laid out on the wire.
#include <gtest/gtest.h>

#include <vector>

#include "iscsi/data_transfer.h"

namespace sharedisk::iscsi {
namespace {

SessionParams params(bool initial_r2t, uint32_t first_burst, uint32_t max_burst, uint32_t max_r2t) {
  SessionParams p;
  p.initial_r2t = initial_r2t;
  p.immediate_data = true;
  p.first_burst_length = first_burst;
  p.max_burst_length = max_burst;
  p.max_outstanding_r2t = max_r2t;
  return p;
}

// Receives one Data-Out PDU as the connection does: checked, then counted.
bool data_out(WriteTransfer& x, const SessionParams& p, bool solicited, uint32_t datasn,
              uint32_t offset, uint32_t length, bool final) {
  if (!x.accepts(solicited, datasn, offset, length, p.initial_r2t)) return false;
  x.segment_received(length);
  x.data_out_ended(solicited, final);
  return true;
}

// The next R2T `x` sends is this one.
void expect_r2t(WriteTransfer& x, const SessionParams& p, uint32_t r2tsn, uint32_t offset,
                uint32_t length) {
  WriteTransfer::R2tRequest r;
  ASSERT_TRUE(x.next_r2t(p, &r));
  EXPECT_EQ(r.r2tsn, r2tsn);
  EXPECT_EQ(r.offset, offset);
  EXPECT_EQ(r.length, length);
}

TEST(WriteTransfer, InitialR2TSolicitsEverythingInMaxBurstLengthPieces) {
  SessionParams p = params(true, 65536, 262144, 1);
  WriteTransfer x;
  x.start(p, true, 1048576, 0, true);
  EXPECT_EQ(x.unsolicited_end(), 0u);
  EXPECT_TRUE(x.needs_r2t());
  EXPECT_FALSE(x.complete());
  expect_r2t(x, p, 0, 0, 262144);
  WriteTransfer::R2tRequest r;
  EXPECT_FALSE(x.next_r2t(p, &r));  // MaxOutstandingR2T=1
  EXPECT_EQ(x.r2t_outstanding(), 1u);
  // Unsolicited data is refused under InitialR2T=Yes.
  EXPECT_FALSE(x.accepts(false, 0, 0, 8192, p.initial_r2t));
  // The solicited burst: 32 PDUs of 8 KiB, DataSN 0..31, F on the last.
  for (uint32_t i = 0; i < 32; ++i)
    ASSERT_TRUE(data_out(x, p, true, i, i * 8192, 8192, i == 31)) << i;
  EXPECT_EQ(x.received(), 262144u);
  EXPECT_EQ(x.expected_datasn(), 0u);  // a new sequence starts at 0
  EXPECT_EQ(x.r2t_outstanding(), 0u);
  expect_r2t(x, p, 1, 262144, 262144);
}

TEST(WriteTransfer, MaxOutstandingR2TBoundsTheR2TsInFlight) {
  SessionParams p = params(true, 65536, 262144, 4);
  WriteTransfer x;
  x.start(p, true, 5 * 262144 + 4096, 0, true);
  std::vector<WriteTransfer::R2tRequest> sent;
  WriteTransfer::R2tRequest r;
  while (x.next_r2t(p, &r)) sent.push_back(r);
  ASSERT_EQ(sent.size(), 4u);
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(sent[i].r2tsn, i);
    EXPECT_EQ(sent[i].offset, i * 262144);
    EXPECT_EQ(sent[i].length, 262144u);
  }
  EXPECT_EQ(x.solicited_end(), 4u * 262144);
  // The first R2T is answered (one PDU, F): one more R2T, then the last,
  // shorter one after the next answer.
  ASSERT_TRUE(data_out(x, p, true, 0, 0, 262144, true));
  expect_r2t(x, p, 4, 4 * 262144, 262144);
  EXPECT_FALSE(x.next_r2t(p, &r));
  ASSERT_TRUE(data_out(x, p, true, 0, 262144, 262144, true));
  expect_r2t(x, p, 5, 5 * 262144, 4096);
  EXPECT_FALSE(x.next_r2t(p, &r));  // everything is solicited
}

TEST(WriteTransfer, FirstBurstLengthBoundsUnsolicitedData) {
  SessionParams p = params(false, 65536, 262144, 1);
  WriteTransfer x;
  x.start(p, true, 262144, 16384, false);  // 16 KiB immediate, Data-Out to follow
  EXPECT_EQ(x.unsolicited_end(), 65536u);
  x.segment_received(16384);  // the immediate data
  EXPECT_FALSE(x.needs_r2t());
  // Past FirstBurstLength, at the wrong offset, or with the wrong DataSN: no.
  EXPECT_FALSE(x.accepts(false, 0, 16384, 65536, p.initial_r2t));
  EXPECT_FALSE(x.accepts(false, 0, 8192, 8192, p.initial_r2t));
  EXPECT_FALSE(x.accepts(false, 1, 16384, 8192, p.initial_r2t));
  // A solicited PDU before any R2T has nothing solicited past the burst.
  EXPECT_FALSE(x.accepts(true, 0, 16384, 65536, p.initial_r2t));
  ASSERT_TRUE(data_out(x, p, false, 0, 16384, 32768, false));
  ASSERT_TRUE(data_out(x, p, false, 1, 49152, 16384, true));
  EXPECT_EQ(x.received(), 65536u);
  EXPECT_TRUE(x.needs_r2t());
  expect_r2t(x, p, 0, 65536, 196608);
}

TEST(WriteTransfer, UnsolicitedBurstEndedEarlyIsSolicited) {
  SessionParams p = params(false, 65536, 262144, 1);
  WriteTransfer x;
  x.start(p, true, 131072, 0, false);
  ASSERT_TRUE(data_out(x, p, false, 0, 0, 32768, true));  // F after 32 KiB of 64
  EXPECT_EQ(x.unsolicited_end(), 32768u);
  EXPECT_EQ(x.solicited_end(), 32768u);
  EXPECT_TRUE(x.needs_r2t());
  expect_r2t(x, p, 0, 32768, 98304);
}

TEST(WriteTransfer, FinalBitOnTheCommandMeansOnlyImmediateData) {
  SessionParams p = params(false, 65536, 262144, 1);
  WriteTransfer x;
  x.start(p, true, 131072, 8192, true);
  EXPECT_EQ(x.unsolicited_end(), 8192u);
  x.segment_received(8192);
  EXPECT_TRUE(x.needs_r2t());
  EXPECT_FALSE(x.accepts(false, 0, 8192, 8192, p.initial_r2t));
  expect_r2t(x, p, 0, 8192, 122880);
}

TEST(WriteTransfer, ReceivedNeverPassesTheExpectedLength) {
  SessionParams p = params(true, 65536, 262144, 1);
  WriteTransfer x;
  x.start(p, true, 4096, 4096, true);
  x.segment_received(8192);
  EXPECT_EQ(x.received(), 4096u);
  EXPECT_TRUE(x.complete());
  WriteTransfer::R2tRequest r;
  EXPECT_FALSE(x.next_r2t(p, &r));
  // A read takes no write data and needs no R2T.
  WriteTransfer read;
  read.start(p, false, 65536, 0, true);
  EXPECT_EQ(read.unsolicited_end(), 0u);
  EXPECT_EQ(read.edtl(), 65536u);
  EXPECT_FALSE(read.accepts(false, 0, 0, 512, false));
  // Refused (too large to buffer): nothing expected, nothing solicited.
  x.start(p, true, 1u << 30, 0, true);
  x.refuse();
  EXPECT_EQ(x.edtl(), 0u);
  EXPECT_TRUE(x.complete());
  EXPECT_FALSE(x.next_r2t(p, &r));
}

struct Pdu {
  uint32_t offset, length, datasn;
  bool final, last;
  bool operator==(const Pdu&) const = default;
};

std::vector<Pdu> split(uint32_t length, uint32_t mrdsl, uint32_t max_burst, uint32_t* pdus) {
  DataInSplitter s(length, mrdsl, max_burst);
  std::vector<Pdu> out;
  DataInSplitter::Segment seg;
  while (s.next(&seg)) out.push_back({seg.offset, seg.length, seg.datasn, seg.final, seg.last});
  *pdus = s.pdus();
  return out;
}

TEST(DataInSplitter, SplitsAtMaxRecvDataSegmentLength) {
  uint32_t n = 0;
  EXPECT_EQ(split(20000, 8192, 262144, &n), (std::vector<Pdu>{{0, 8192, 0, false, false},
                                                              {8192, 8192, 1, false, false},
                                                              {16384, 3616, 2, true, true}}));
  EXPECT_EQ(n, 3u);
  EXPECT_EQ(split(8192, 8192, 262144, &n), (std::vector<Pdu>{{0, 8192, 0, true, true}}));
  EXPECT_TRUE(split(0, 8192, 262144, &n).empty());
  EXPECT_EQ(n, 0u);
}

TEST(DataInSplitter, EndsEveryBurstWithFinal) {
  uint32_t n = 0;
  // MaxBurstLength not a multiple of the segment length: a burst's last
  // segment is cut short so that no burst exceeds it.
  EXPECT_EQ(split(300000, 100000, 150000, &n), (std::vector<Pdu>{{0, 100000, 0, false, false},
                                                                 {100000, 50000, 1, true, false},
                                                                 {150000, 100000, 2, false, false},
                                                                 {250000, 50000, 3, true, true}}));
  EXPECT_EQ(n, 4u);
  EXPECT_EQ(split(300000, 65536, 131072, &n), (std::vector<Pdu>{{0, 65536, 0, false, false},
                                                                {65536, 65536, 1, true, false},
                                                                {131072, 65536, 2, false, false},
                                                                {196608, 65536, 3, true, false},
                                                                {262144, 37856, 4, true, true}}));
}

TEST(DataInSplitter, StatusTravelsInTheLastPduOnTheWire) {
  DataInSplitter s(12288, 8192, 262144);
  DataInStatus st{
      .in_last_pdu = true, .status = 0, .residual_flags = flag::kUnderflow, .residual = 4096};
  DataInSplitter::Segment seg;
  ASSERT_TRUE(s.next(&seg));
  out::DataIn first = data_in_header(seg, 0x1234, st);
  first.sn = {.statsn = 7, .exp_cmdsn = 8, .max_cmdsn = 9};
  Bhs a = out::build(first);
  EXPECT_EQ(a.opcode(), op::kDataIn);
  EXPECT_EQ(a.flags(), 0);  // neither F nor S nor residual flags
  EXPECT_EQ(a.data_length(), 8192u);
  EXPECT_EQ(a.itt(), 0x1234u);
  EXPECT_EQ(a.field32(24), 0u);  // StatSN reserved without S
  EXPECT_EQ(a.field32(28), 8u);
  EXPECT_EQ(a.datasn(), 0u);
  EXPECT_EQ(a.buffer_offset(), 0u);
  EXPECT_EQ(a.field32(44), 0u);
  ASSERT_TRUE(s.next(&seg));
  out::DataIn last = data_in_header(seg, 0x1234, st);
  EXPECT_TRUE(last.status_present);
  last.sn = {.statsn = 7, .exp_cmdsn = 8, .max_cmdsn = 9};
  Bhs b = out::build(last);
  EXPECT_EQ(b.flags(), flag::kFinal | flag::kStatus | flag::kUnderflow);
  EXPECT_EQ(b.b[3], 0);  // GOOD
  EXPECT_EQ(b.data_length(), 4096u);
  EXPECT_EQ(b.field32(24), 7u);
  EXPECT_EQ(b.datasn(), 1u);
  EXPECT_EQ(b.buffer_offset(), 8192u);
  EXPECT_EQ(b.field32(44), 4096u);  // residual count
  EXPECT_FALSE(s.next(&seg));
  // With sense to send, the status goes in a SCSI Response instead: the last
  // Data-In has F but not S.
  DataInSplitter t(4096, 8192, 262144);
  ASSERT_TRUE(t.next(&seg));
  Bhs c = out::build(data_in_header(seg, 1, DataInStatus{.in_last_pdu = false, .status = 2}));
  EXPECT_EQ(c.flags(), flag::kFinal);
  EXPECT_EQ(c.b[3], 0);
  EXPECT_EQ(t.pdus(), 1u);  // the Response's ExpDataSN
}

}  // namespace
}  // namespace sharedisk::iscsi
