// The BHS codec of iscsi/pdu.h: byte order of the load/store helpers, every
// Bhs accessor against hand-placed RFC 7143 offsets, serial number arithmetic
// across the 2^32 wrap, padding, and the structural checks that decide which
// received PDUs are rejected and why.
#include <gtest/gtest.h>

#include "iscsi/pdu.h"

namespace sharedisk::iscsi {
namespace {

TEST(PduBytes, LoadAndStoreAreBigEndian) {
  uint8_t b[8] = {};
  put_be16(b, 0x1234);
  EXPECT_EQ(b[0], 0x12);
  EXPECT_EQ(b[1], 0x34);
  EXPECT_EQ(get_be16(b), 0x1234);

  put_be24(b, 0xabcdef);
  EXPECT_EQ(b[0], 0xab);
  EXPECT_EQ(b[2], 0xef);
  EXPECT_EQ(get_be24(b), 0xabcdefu);

  put_be32(b, 0xdeadbeef);
  EXPECT_EQ(b[0], 0xde);
  EXPECT_EQ(b[3], 0xef);
  EXPECT_EQ(get_be32(b), 0xdeadbeefu);

  put_be64(b, 0x0102030405060708ull);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(b[i], i + 1);
  EXPECT_EQ(get_be64(b), 0x0102030405060708ull);

  // High bits survive (no sign extension through int promotion).
  put_be32(b, 0xffffffff);
  EXPECT_EQ(get_be32(b), 0xffffffffu);
  put_be64(b, ~0ull);
  EXPECT_EQ(get_be64(b), ~0ull);
}

TEST(PduBytes, Store24KeepsOnlyThreeBytes) {
  uint8_t b[4] = {0x55, 0, 0, 0x66};
  put_be24(b + 0, 0x01000002);  // the top byte does not fit
  EXPECT_EQ(get_be24(b), 0x000002u);
  EXPECT_EQ(b[3], 0x66);
}

TEST(PduSerial, OrderingWithoutWrap) {
  EXPECT_TRUE(sn_lt(1, 2));
  EXPECT_FALSE(sn_lt(2, 1));
  EXPECT_FALSE(sn_lt(5, 5));
  EXPECT_TRUE(sn_le(5, 5));
  EXPECT_TRUE(sn_le(4, 5));
  EXPECT_FALSE(sn_le(6, 5));
}

TEST(PduSerial, OrderingAcrossTheWrap) {
  EXPECT_TRUE(sn_lt(0xffffffff, 0));
  EXPECT_TRUE(sn_lt(0xfffffff0, 0x10));
  EXPECT_FALSE(sn_lt(0x10, 0xfffffff0));
  EXPECT_TRUE(sn_le(0xffffffff, 0));
  EXPECT_FALSE(sn_le(0, 0xffffffff));
  // A window of 128 that straddles the wrap.
  uint32_t exp = 0xffffffc0, max = exp + 127;
  for (uint32_t i = 0; i < 128; ++i) {
    EXPECT_TRUE(sn_le(exp, exp + i)) << i;
    EXPECT_TRUE(sn_le(exp + i, max)) << i;
  }
  EXPECT_TRUE(sn_lt(max, max + 1));
  EXPECT_TRUE(sn_lt(exp - 1, exp));
}

TEST(PduSerial, HalfRangeIsTheHorizon) {
  // RFC 1982: a and a + 2^31 - 1 compare as less; beyond that the sense flips.
  uint32_t a = 1000;
  EXPECT_TRUE(sn_lt(a, a + 0x7fffffff));
  EXPECT_FALSE(sn_lt(a, a + 0x80000001));
  EXPECT_TRUE(sn_lt(a + 0x80000001, a));
}

TEST(PduPadding, Pad4) {
  EXPECT_EQ(pad4(0), 0u);
  EXPECT_EQ(pad4(1), 3u);
  EXPECT_EQ(pad4(2), 2u);
  EXPECT_EQ(pad4(3), 1u);
  EXPECT_EQ(pad4(4), 0u);
  EXPECT_EQ(pad4(8193), 3u);
  EXPECT_EQ(pad4(0xffffff), 1u);
  for (uint32_t n = 0; n < 64; ++n) EXPECT_EQ((n + pad4(n)) % 4, 0u) << n;
}

TEST(PduBhs, CommonFieldsAtTheirOffsets) {
  Bhs h;
  h.b[0] = 0x40 | op::kScsiCommand;  // immediate
  h.b[1] = flag::kFinal | flag::kRead | 0x01;
  h.b[4] = 3;  // TotalAHSLength in words
  put_be24(&h.b[5], 0x012345);
  put_be64(&h.b[8], 0x0001000000000000ull);
  put_be32(&h.b[16], 0xa1b2c3d4);
  EXPECT_EQ(h.opcode(), op::kScsiCommand);
  EXPECT_TRUE(h.immediate());
  EXPECT_TRUE(h.final());
  EXPECT_EQ(h.flags() & flag::kAttrMask, 1);
  EXPECT_EQ(h.ahs_length(), 12u);
  EXPECT_EQ(h.data_length(), 0x012345u);
  EXPECT_EQ(h.lun(), 0x0001000000000000ull);
  EXPECT_EQ(h.itt(), 0xa1b2c3d4u);
}

TEST(PduBhs, OpcodeIgnoresTheTopTwoBits) {
  Bhs h;
  h.b[0] = 0xc0 | op::kNopOut;  // bit 7 reserved, bit 6 immediate
  EXPECT_EQ(h.opcode(), op::kNopOut);
  EXPECT_TRUE(h.immediate());
  h.b[0] = op::kDataOut;
  EXPECT_FALSE(h.immediate());
}

TEST(PduBhs, ScsiCommandFields) {
  Bhs h;
  put_be32(&h.b[20], 4096);
  put_be32(&h.b[24], 77);
  put_be32(&h.b[28], 12);
  h.b[32] = 0x28;
  h.b[47] = 0x99;
  EXPECT_EQ(h.expected_length(), 4096u);
  EXPECT_EQ(h.cmdsn(), 77u);
  EXPECT_EQ(h.exp_statsn(), 12u);
  EXPECT_EQ(h.cdb()[0], 0x28);
  EXPECT_EQ(h.cdb()[15], 0x99);
  EXPECT_EQ(h.field32(24), 77u);
}

TEST(PduBhs, DataOutFields) {
  Bhs h;
  put_be32(&h.b[20], 0x11223344);
  put_be32(&h.b[36], 5);
  put_be32(&h.b[40], 0x10000);
  EXPECT_EQ(h.ttt(), 0x11223344u);
  EXPECT_EQ(h.datasn(), 5u);
  EXPECT_EQ(h.buffer_offset(), 0x10000u);
}

TEST(PduBhs, LoginFields) {
  Bhs h;
  h.b[1] = flag::kTransit | (1 << 2) | 3;  // T, CSG=1, NSG=3
  h.b[8] = 0x80;                           // ISID: 6 bytes from offset 8
  h.b[13] = 0x2a;
  put_be16(&h.b[14], 0x0102);
  put_be16(&h.b[20], 7);
  EXPECT_TRUE(h.transit());
  EXPECT_FALSE(h.cont());
  EXPECT_EQ(h.csg(), 1);
  EXPECT_EQ(h.nsg(), 3);
  EXPECT_EQ(h.isid(), 0x80000000002aull);
  EXPECT_EQ(h.tsih(), 0x0102);
  EXPECT_EQ(h.cid(), 7);
  h.b[1] = flag::kContinue;
  EXPECT_TRUE(h.cont());
  EXPECT_FALSE(h.transit());
  EXPECT_EQ(h.csg(), 0);
}

TEST(PduBhs, SettersRoundTrip) {
  Bhs h;
  h.set_opcode(op::kDataIn);
  h.set_flags(flag::kFinal | flag::kStatus);
  h.set_data_length(262144);
  h.set_lun(0x0005000000000000ull);
  h.set_itt(42);
  h.set32(36, 9);
  EXPECT_EQ(h.opcode(), op::kDataIn);
  EXPECT_EQ(h.flags(), flag::kFinal | flag::kStatus);
  EXPECT_EQ(h.data_length(), 262144u);
  EXPECT_EQ(h.lun(), 0x0005000000000000ull);
  EXPECT_EQ(h.itt(), 42u);
  EXPECT_EQ(h.datasn(), 9u);
  // Untouched bytes stay zero.
  EXPECT_EQ(h.b[2], 0);
  EXPECT_EQ(h.b[4], 0);
}

TEST(PduDescribe, NamesOpcodeAndFields) {
  Bhs h;
  h.set_opcode(op::kTextRequest);
  h.set_itt(0x10);
  h.set_data_length(17);
  std::string d = describe(h);
  EXPECT_NE(d.find("Text-Request"), std::string::npos) << d;
  EXPECT_NE(d.find("0x00000010"), std::string::npos) << d;
  EXPECT_NE(d.find("dsl=17"), std::string::npos) << d;
  h.set_opcode(0x1d);
  EXPECT_NE(describe(h).find("unknown"), std::string::npos);
}

Bhs pdu(uint8_t opcode, uint32_t data_length = 0) {
  Bhs h;
  h.set_opcode(opcode);
  h.set_flags(flag::kFinal);
  h.set_data_length(data_length);
  return h;
}

TEST(PduCheck, InitiatorOpcodesAcceptedInFullFeature) {
  for (uint8_t o : {op::kNopOut, op::kScsiCommand, op::kTaskMgmtRequest, op::kTextRequest,
                    op::kDataOut, op::kLogoutRequest})
    EXPECT_EQ(check_received(pdu(o), true, 8192), 0) << int(o);
}

TEST(PduCheck, TargetOpcodesAreProtocolErrors) {
  for (uint8_t o :
       {op::kNopIn, op::kScsiResponse, op::kTaskMgmtResponse, op::kLoginResponse, op::kTextResponse,
        op::kDataIn, op::kLogoutResponse, op::kR2T, op::kAsyncMessage, op::kReject}) {
    EXPECT_EQ(check_received(pdu(o), true, 8192), reject::kProtocolError) << int(o);
    EXPECT_EQ(check_received(pdu(o), false, 8192), reject::kProtocolError) << int(o);
  }
}

TEST(PduCheck, UnknownInitiatorOpcodesAreNotSupported) {
  for (uint8_t o : {uint8_t(0x07), uint8_t(0x0f), uint8_t(0x1c), uint8_t(0x1d), uint8_t(0x1e)})
    EXPECT_EQ(check_received(pdu(o), true, 8192), reject::kCommandNotSupported) << int(o);
}

TEST(PduCheck, OnlyLoginBeforeFullFeature) {
  EXPECT_EQ(check_received(pdu(op::kLoginRequest), false, 8192), 0);
  for (uint8_t o : {op::kNopOut, op::kScsiCommand, op::kTextRequest, op::kDataOut,
                    op::kLogoutRequest, op::kTaskMgmtRequest})
    EXPECT_EQ(check_received(pdu(o), false, 8192), reject::kProtocolError) << int(o);
  // ... and no second login once in full feature phase.
  EXPECT_EQ(check_received(pdu(op::kLoginRequest), true, 8192), reject::kProtocolError);
}

TEST(PduCheck, OversizeDataSegment) {
  EXPECT_EQ(check_received(pdu(op::kScsiCommand, 8192), true, 8192), 0);
  EXPECT_EQ(check_received(pdu(op::kScsiCommand, 8193), true, 8192), reject::kProtocolError);
  EXPECT_EQ(check_received(pdu(op::kDataOut, 262145), true, 262144), reject::kProtocolError);
  EXPECT_EQ(check_received(pdu(op::kDataOut, 262144), true, 262144), 0);
}

TEST(PduCheck, SnackRejectedAtErrorRecoveryLevelZero) {
  EXPECT_EQ(check_received(pdu(op::kSnackRequest), true, 8192), reject::kSnackReject);
}

TEST(PduCheck, DataOutWithAhsIsInvalid) {
  Bhs h = pdu(op::kDataOut, 512);
  h.b[4] = 1;
  EXPECT_EQ(check_received(h, true, 8192), reject::kInvalidPduField);
}

}  // namespace
}  // namespace sharedisk::iscsi
