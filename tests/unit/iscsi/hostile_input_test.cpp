// Regressions found by the fuzzers and the security tests (issue 6).
#include <gtest/gtest.h>

#include "iscsi/negotiation.h"
#include "iscsi/pdu.h"
#include "iscsi/text_keys.h"

namespace sharedisk::iscsi {
namespace {

TEST(HostileInput, LoginDataSegmentIsBoundedBeforeFullFeature) {
  Bhs h;
  h.set_opcode(op::kLoginRequest);
  h.set_data_length(8192);
  EXPECT_EQ(check_received(h, false, 8192), 0);
  h.set_data_length(8193);
  EXPECT_EQ(check_received(h, false, 8192), reject::kProtocolError);
  h.set_data_length(0xffffff);
  EXPECT_EQ(check_received(h, false, 8192), reject::kProtocolError);
}

TEST(HostileInput, RejectedMaxRecvDataSegmentLengthIsAnsweredOnce) {
  // fuzz_text: an invalid MRDSL was answered "Reject" and then declared again
  // by finish(), so the response carried the key twice.
  TargetLimits limits;
  Negotiator n(limits, false);
  std::string response, error;
  ASSERT_TRUE(
      n.negotiate({{"MaxRecvDataSegmentLength", "26210304050203040506"}}, response, &error));
  n.finish(response);
  std::vector<KeyValue> keys;
  ASSERT_TRUE(
      parse_text(reinterpret_cast<const uint8_t*>(response.data()), response.size(), &keys, &error))
      << error;
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].value, "Reject");
}

}  // namespace
}  // namespace sharedisk::iscsi

#include "iscsi/login.h"
#include "scsi/device.h"

namespace sharedisk::iscsi {
namespace {

class NoAdmit : public SessionAdmission {
 public:
  uint16_t admit(const Login&, uint16_t*) override { return 1; }
};

TEST(HostileInput, InitiatorNamesWithControlCharactersOrTooLongAreRefused) {
  TargetRegistry registry;
  TargetLimits limits;
  NoAdmit admit;
  for (std::string name : {std::string("iqn.2024-01.x:a\nFAKE LOG LINE"), std::string(224, 'a'),
                           std::string("iqn.2024-01.x:\x1b[31m")}) {
    Login login(registry, limits, "127.0.0.1", admit);
    std::string d;
    append_key(d, "InitiatorName", name);
    append_key(d, "SessionType", "Discovery");
    Bhs h;
    h.b[0] = 0x43;
    h.b[1] = 0x81;
    h.set_data_length(uint32_t(d.size()));
    Login::Reply r = login.handle(h, reinterpret_cast<const uint8_t*>(d.data()), d.size());
    EXPECT_TRUE(r.close);
    EXPECT_EQ(uint16_t(r.bhs.b[36] << 8 | r.bhs.b[37]), login_status::kInitiatorError);
  }
}

}  // namespace
}  // namespace sharedisk::iscsi
