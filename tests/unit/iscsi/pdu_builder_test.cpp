// The typed builders of iscsi/pdu_builder.h against RFC 7143 §11: each test
// lays out the expected 48 bytes by hand from the RFC's field positions
// (with its own byte writer, not the project's) and compares the whole
// header, so a field at the wrong offset or a reserved byte left non-zero
// fails.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>

#include "iscsi/pdu_builder.h"

namespace sharedisk::iscsi {
namespace {

using Bytes = std::array<uint8_t, kBhsSize>;

// Writes `width` bytes of `v` at `offset`, most significant first.
void at(Bytes& b, size_t offset, uint64_t v, size_t width) {
  for (size_t i = 0; i < width; ++i) b[offset + i] = uint8_t(v >> (8 * (width - 1 - i)));
}

// StatSN 24-27, ExpCmdSN 28-31, MaxCmdSN 32-35.
void sn(Bytes& b, uint32_t statsn, uint32_t exp, uint32_t max) {
  at(b, 24, statsn, 4);
  at(b, 28, exp, 4);
  at(b, 32, max, 4);
}

const out::SeqNumbers kSn{.statsn = 0x11121314, .exp_cmdsn = 0x21222324, .max_cmdsn = 0x31323334};

void expect_bytes(const Bhs& got, const Bytes& want) {
  for (size_t i = 0; i < kBhsSize; ++i) EXPECT_EQ(got.b[i], want[i]) << "byte " << i;
}

TEST(PduBuilder, ScsiResponse) {  // §11.4
  Bhs h = out::build(out::ScsiResponse{.residual_flags = flag::kUnderflow,
                                       .response = 0x01,
                                       .status = 0x02,
                                       .data_length = 20,
                                       .itt = 0xa1a2a3a4,
                                       .sn = kSn,
                                       .exp_datasn = 7,
                                       .residual = 0x1000});
  Bytes w{};
  w[0] = 0x21;
  w[1] = 0x80 | 0x02;  // F, U
  w[2] = 0x01;         // Response
  w[3] = 0x02;         // Status
  at(w, 5, 20, 3);     // DataSegmentLength
  at(w, 16, 0xa1a2a3a4, 4);
  sn(w, 0x11121314, 0x21222324, 0x31323334);
  at(w, 36, 7, 4);       // ExpDataSN
  at(w, 44, 0x1000, 4);  // Residual Count
  expect_bytes(h, w);
}

TEST(PduBuilder, DataInWithoutStatus) {  // §11.7: StatSN reserved without S
  Bhs h = out::build(out::DataIn{.final = true,
                                 .status_present = false,
                                 .residual_flags = flag::kOverflow,  // ignored without S
                                 .status = 0x02,                     // ignored without S
                                 .data_length = 8192,
                                 .itt = 0xb1b2b3b4,
                                 .sn = kSn,
                                 .datasn = 3,
                                 .buffer_offset = 0x20000,
                                 .residual = 99});  // ignored without S
  Bytes w{};
  w[0] = 0x25;
  w[1] = 0x80;  // F only
  at(w, 5, 8192, 3);
  at(w, 16, 0xb1b2b3b4, 4);
  at(w, 20, 0xffffffff, 4);  // Target Transfer Tag
  sn(w, 0, 0x21222324, 0x31323334);
  at(w, 36, 3, 4);        // DataSN
  at(w, 40, 0x20000, 4);  // Buffer Offset
  expect_bytes(h, w);
}

TEST(PduBuilder, DataInWithStatus) {  // §11.7: S carries status, StatSN, residual
  Bhs h = out::build(out::DataIn{.final = true,
                                 .status_present = true,
                                 .residual_flags = flag::kUnderflow,
                                 .status = 0x00,
                                 .data_length = 512,
                                 .lun = 0x0001000000000000ull,
                                 .itt = 1,
                                 .sn = kSn,
                                 .datasn = 0,
                                 .buffer_offset = 0,
                                 .residual = 512});
  Bytes w{};
  w[0] = 0x25;
  w[1] = 0x80 | 0x02 | 0x01;  // F, U, S
  at(w, 5, 512, 3);
  at(w, 8, 0x0001000000000000ull, 8);
  at(w, 16, 1, 4);
  at(w, 20, 0xffffffff, 4);
  sn(w, 0x11121314, 0x21222324, 0x31323334);
  at(w, 44, 512, 4);
  expect_bytes(h, w);
}

TEST(PduBuilder, R2T) {  // §11.8
  Bhs h = out::build(out::R2T{.lun = 0x0002000000000000ull,
                              .itt = 0xc1c2c3c4,
                              .ttt = 0x00001005,
                              .sn = kSn,
                              .r2tsn = 4,
                              .buffer_offset = 0x40000,
                              .desired_length = 0x40000});
  Bytes w{};
  w[0] = 0x31;
  w[1] = 0x80;
  at(w, 8, 0x0002000000000000ull, 8);
  at(w, 16, 0xc1c2c3c4, 4);
  at(w, 20, 0x00001005, 4);
  sn(w, 0x11121314, 0x21222324, 0x31323334);
  at(w, 36, 4, 4);        // R2TSN
  at(w, 40, 0x40000, 4);  // Buffer Offset
  at(w, 44, 0x40000, 4);  // Desired Data Transfer Length
  expect_bytes(h, w);
}

TEST(PduBuilder, NopInAnswerAndPing) {  // §11.19
  Bhs answer = out::build(
      out::NopIn{.data_length = 5, .lun = 0x0003000000000000ull, .itt = 0xd1d2d3d4, .sn = kSn});
  Bytes w{};
  w[0] = 0x20;
  w[1] = 0x80;
  at(w, 5, 5, 3);
  at(w, 8, 0x0003000000000000ull, 8);
  at(w, 16, 0xd1d2d3d4, 4);
  at(w, 20, 0xffffffff, 4);  // TTT reserved in an answer
  sn(w, 0x11121314, 0x21222324, 0x31323334);
  expect_bytes(answer, w);

  Bhs ping = out::build(out::NopIn{.ttt = 0x40000001, .sn = kSn});
  Bytes p{};
  p[0] = 0x20;
  p[1] = 0x80;
  at(p, 16, 0xffffffff, 4);  // ITT reserved in a ping
  at(p, 20, 0x40000001, 4);
  sn(p, 0x11121314, 0x21222324, 0x31323334);
  expect_bytes(ping, p);
}

TEST(PduBuilder, TaskMgmtResponse) {  // §11.6
  Bhs h = out::build(
      out::TaskMgmtResponse{.response = tmf::kTaskDoesNotExist, .itt = 0xe1e2e3e4, .sn = kSn});
  Bytes w{};
  w[0] = 0x22;
  w[1] = 0x80;
  w[2] = 0x01;  // Response: task does not exist
  at(w, 16, 0xe1e2e3e4, 4);
  sn(w, 0x11121314, 0x21222324, 0x31323334);
  expect_bytes(h, w);
}

TEST(PduBuilder, Reject) {  // §11.17
  Bhs h = out::build(out::Reject{.reason = reject::kProtocolError, .sn = kSn});
  Bytes w{};
  w[0] = 0x3f;
  w[1] = 0x80;
  w[2] = 0x04;      // Reason: protocol error
  at(w, 5, 48, 3);  // the rejected header
  at(w, 16, 0xffffffff, 4);
  sn(w, 0x11121314, 0x21222324, 0x31323334);
  expect_bytes(h, w);
}

TEST(PduBuilder, LogoutResponse) {  // §11.15
  Bhs h = out::build(out::LogoutResponse{
      .response = 2, .itt = 0xf1f2f3f4, .sn = kSn, .time2wait = 0x0102, .time2retain = 0x0304});
  Bytes w{};
  w[0] = 0x26;
  w[1] = 0x80;
  w[2] = 2;
  at(w, 16, 0xf1f2f3f4, 4);
  sn(w, 0x11121314, 0x21222324, 0x31323334);
  at(w, 40, 0x0102, 2);  // Time2Wait
  at(w, 42, 0x0304, 2);  // Time2Retain
  expect_bytes(h, w);
}

TEST(PduBuilder, TextResponseFinalAndContinued) {  // §11.11
  Bhs fin =
      out::build(out::TextResponse{.data_length = 100, .lun = 0, .itt = 0x01020304, .sn = kSn});
  Bytes w{};
  w[0] = 0x24;
  w[1] = 0x80;  // F
  at(w, 5, 100, 3);
  at(w, 16, 0x01020304, 4);
  at(w, 20, 0xffffffff, 4);
  sn(w, 0x11121314, 0x21222324, 0x31323334);
  expect_bytes(fin, w);

  Bhs more = out::build(out::TextResponse{.final = false,
                                          .cont = true,
                                          .data_length = 8192,
                                          .itt = 0x01020304,
                                          .ttt = 0x80000007,
                                          .sn = kSn});
  Bytes c{};
  c[0] = 0x24;
  c[1] = 0x40;  // C, no F
  at(c, 5, 8192, 3);
  at(c, 16, 0x01020304, 4);
  at(c, 20, 0x80000007, 4);
  sn(c, 0x11121314, 0x21222324, 0x31323334);
  expect_bytes(more, c);
}

TEST(PduBuilder, LoginResponse) {  // §11.13
  Bhs h = out::build(out::LoginResponse{.transit = true,
                                        .csg = 1,
                                        .nsg = 3,
                                        .data_length = 300,
                                        .isid = 0x80123456789aull,
                                        .tsih = 0x0042,
                                        .itt = 0x10000000,
                                        .sn = kSn,
                                        .status = login_status::kTargetError});
  Bytes w{};
  w[0] = 0x23;
  w[1] = 0x80 | (1 << 2) | 3;  // T, CSG=1, NSG=3
  at(w, 5, 300, 3);
  at(w, 8, 0x80123456789aull, 6);  // ISID
  at(w, 14, 0x0042, 2);            // TSIH
  at(w, 16, 0x10000000, 4);
  sn(w, 0x11121314, 0x21222324, 0x31323334);
  w[36] = 0x03;  // Status-Class: target error
  w[37] = 0x00;  // Status-Detail
  expect_bytes(h, w);
  EXPECT_EQ(h.login_status_code(), login_status::kTargetError);
  EXPECT_EQ(h.isid(), 0x80123456789aull);
  EXPECT_EQ(h.tsih(), 0x0042);
}

TEST(PduBuilder, AsyncMessage) {  // §11.9
  Bhs h = out::build(out::AsyncMessage{.data_length = 18,
                                       .lun = 0x0001000000000000ull,
                                       .sn = kSn,
                                       .async_event = 1,
                                       .async_vcode = 0,
                                       .parameter1 = 0x0a0b,
                                       .parameter2 = 0x0c0d,
                                       .parameter3 = 0x0e0f});
  Bytes w{};
  w[0] = 0x32;
  w[1] = 0x80;
  at(w, 5, 18, 3);
  at(w, 8, 0x0001000000000000ull, 8);
  at(w, 16, 0xffffffff, 4);
  sn(w, 0x11121314, 0x21222324, 0x31323334);
  w[36] = 1;  // AsyncEvent
  w[37] = 0;  // AsyncVCode
  at(w, 38, 0x0a0b, 2);
  at(w, 40, 0x0c0d, 2);
  at(w, 42, 0x0e0f, 2);
  expect_bytes(h, w);
}

}  // namespace
}  // namespace sharedisk::iscsi
