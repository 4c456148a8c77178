// Operational key negotiation (RFC 7143 §13): the result function of each key
// (minimum, maximum, OR, AND, declarative), Reject for out-of-range or
// malformed values, Irrelevant in discovery sessions, and the declarations the
// target adds at the end of the operational stage.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "iscsi/negotiation.h"

namespace sharedisk::iscsi {
namespace {

using Answers = std::map<std::string, std::string>;

Answers decode(const std::string& response) {
  std::vector<KeyValue> keys;
  std::string error;
  EXPECT_TRUE(
      parse_text(reinterpret_cast<const uint8_t*>(response.data()), response.size(), &keys, &error))
      << error;
  Answers out;
  for (const KeyValue& kv : keys) out[kv.key] = kv.value;
  return out;
}

struct Outcome {
  bool ok;
  Answers answers;
  std::string error;
};

Outcome offer(Negotiator& n, const std::vector<KeyValue>& keys) {
  std::string response, error;
  bool ok = n.negotiate(keys, response, &error);
  return {ok, decode(response), error};
}

// One key offered to a fresh normal-session negotiator with `limits`.
std::string answer_of(const std::string& key, const std::string& value,
                      const TargetLimits& limits = {}, bool discovery = false) {
  Negotiator n(limits, discovery);
  Outcome o = offer(n, {{key, value}});
  EXPECT_TRUE(o.ok) << key << "=" << value << ": " << o.error;
  EXPECT_EQ(o.answers.size(), 1u) << key;
  return o.answers[key];
}

TEST(Negotiation, OperationalKeySet) {
  for (const char* k :
       {"HeaderDigest", "DataDigest", "MaxConnections", "InitialR2T", "ImmediateData",
        "MaxRecvDataSegmentLength", "MaxBurstLength", "FirstBurstLength", "DefaultTime2Wait",
        "DefaultTime2Retain", "MaxOutstandingR2T", "DataPDUInOrder", "DataSequenceInOrder",
        "ErrorRecoveryLevel", "OFMarker", "IFMarker", "OFMarkInt", "IFMarkInt"})
    EXPECT_TRUE(is_operational_key(k)) << k;
  for (const char* k : {"InitiatorName", "TargetName", "SessionType", "AuthMethod", "CHAP_A",
                        "X-com.example.foo", "headerdigest"})
    EXPECT_FALSE(is_operational_key(k)) << k;
}

TEST(Negotiation, DefaultsBeforeAnyKey) {
  Negotiator n(TargetLimits{}, false);
  const SessionParams& p = n.params();
  EXPECT_FALSE(p.header_digest);
  EXPECT_FALSE(p.data_digest);
  EXPECT_TRUE(p.initial_r2t);
  EXPECT_TRUE(p.immediate_data);
  EXPECT_EQ(p.initiator_mrdsl, 8192u);
  EXPECT_EQ(p.max_burst_length, 262144u);
  EXPECT_EQ(p.first_burst_length, 65536u);
  EXPECT_EQ(p.error_recovery_level, 0u);
}

TEST(Negotiation, DigestsNoneOnlyWhenNotOffered) {
  TargetLimits off;
  off.digests = false;
  EXPECT_EQ(answer_of("HeaderDigest", "None", off), "None");
  EXPECT_EQ(answer_of("HeaderDigest", "CRC32C,None", off), "None");
  EXPECT_EQ(answer_of("DataDigest", "CRC32C,None", off), "None");
  EXPECT_EQ(answer_of("DataDigest", "None,CRC32C", off), "None");
}

TEST(Negotiation, DigestWithoutAcceptableValueIsRejectAndFailsLogin) {
  TargetLimits off;
  off.digests = false;
  Negotiator n(off, false);
  Outcome o = offer(n, {{"HeaderDigest", "CRC32C"}});
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.answers["HeaderDigest"], "Reject");
  EXPECT_FALSE(o.error.empty());
  Negotiator m(TargetLimits{}, false);
  o = offer(m, {{"DataDigest", "MD5"}});
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.answers["DataDigest"], "Reject");
}

TEST(Negotiation, DigestsCrc32cWhenAllowed) {
  TargetLimits limits;
  limits.digests = true;
  Negotiator n(limits, false);
  Outcome o = offer(n, {{"HeaderDigest", "CRC32C,None"}, {"DataDigest", "None,CRC32C"}});
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.answers["HeaderDigest"], "CRC32C");
  EXPECT_EQ(o.answers["DataDigest"], "None");  // the initiator's preference order rules
  EXPECT_TRUE(n.params().header_digest);
  EXPECT_FALSE(n.params().data_digest);
}

TEST(Negotiation, MaxConnectionsIsOne) {
  EXPECT_EQ(answer_of("MaxConnections", "1"), "1");
  EXPECT_EQ(answer_of("MaxConnections", "8"), "1");
  EXPECT_EQ(answer_of("MaxConnections", "0"), "Reject");
  EXPECT_EQ(answer_of("MaxConnections", "65536"), "Reject");
  EXPECT_EQ(answer_of("MaxConnections", "many"), "Reject");
}

TEST(Negotiation, InitialR2TIsOr) {
  TargetLimits no, yes;
  no.initial_r2t = false;
  yes.initial_r2t = true;
  EXPECT_EQ(answer_of("InitialR2T", "No", no), "No");
  EXPECT_EQ(answer_of("InitialR2T", "Yes", no), "Yes");
  EXPECT_EQ(answer_of("InitialR2T", "No", yes), "Yes");
  EXPECT_EQ(answer_of("InitialR2T", "yes", no), "Reject");
  Negotiator n(no, false);
  ASSERT_TRUE(offer(n, {{"InitialR2T", "No"}}).ok);
  EXPECT_FALSE(n.params().initial_r2t);
}

TEST(Negotiation, ImmediateDataIsAnd) {
  TargetLimits on, off;
  off.immediate_data = false;
  EXPECT_EQ(answer_of("ImmediateData", "Yes", on), "Yes");
  EXPECT_EQ(answer_of("ImmediateData", "No", on), "No");
  EXPECT_EQ(answer_of("ImmediateData", "Yes", off), "No");
  EXPECT_EQ(answer_of("ImmediateData", "1", on), "Reject");
  Negotiator n(off, false);
  ASSERT_TRUE(offer(n, {{"ImmediateData", "Yes"}}).ok);
  EXPECT_FALSE(n.params().immediate_data);
}

TEST(Negotiation, MaxRecvDataSegmentLengthDeclaredBothWays) {
  TargetLimits limits;
  limits.max_recv_data_segment_length = 131072;
  Negotiator n(limits, false);
  Outcome o = offer(n, {{"MaxRecvDataSegmentLength", "65536"}});
  ASSERT_TRUE(o.ok);
  // The answer is the target's own declaration, not an echo of the offer.
  EXPECT_EQ(o.answers["MaxRecvDataSegmentLength"], "131072");
  EXPECT_EQ(n.params().initiator_mrdsl, 65536u);  // what we may send
  EXPECT_EQ(n.params().target_mrdsl, 131072u);    // what we accept
  std::string more;
  n.finish(more);
  EXPECT_EQ(decode(more).count("MaxRecvDataSegmentLength"), 0u) << "declared twice";
}

TEST(Negotiation, MaxRecvDataSegmentLengthDeclaredByFinishWhenNotOffered) {
  TargetLimits limits;
  limits.max_recv_data_segment_length = 65536;
  Negotiator n(limits, false);
  ASSERT_TRUE(offer(n, {{"InitialR2T", "Yes"}}).ok);
  std::string response;
  n.finish(response);
  EXPECT_EQ(decode(response)["MaxRecvDataSegmentLength"], "65536");
  EXPECT_EQ(n.params().initiator_mrdsl, 8192u);  // RFC default for the other direction
  std::string again;
  n.finish(again);
  EXPECT_TRUE(again.empty());
}

TEST(Negotiation, MaxRecvDataSegmentLengthRange) {
  EXPECT_EQ(answer_of("MaxRecvDataSegmentLength", "511"), "Reject");
  EXPECT_EQ(answer_of("MaxRecvDataSegmentLength", "16777216"), "Reject");
  EXPECT_NE(answer_of("MaxRecvDataSegmentLength", "512"), "Reject");
  EXPECT_NE(answer_of("MaxRecvDataSegmentLength", "16777215"), "Reject");
  EXPECT_NE(answer_of("MaxRecvDataSegmentLength", "0x2000"), "Reject");
}

TEST(Negotiation, BurstLengthsAreMinimum) {
  TargetLimits limits;
  limits.max_burst_length = 1048576;
  limits.first_burst_length = 65536;
  EXPECT_EQ(answer_of("MaxBurstLength", "262144", limits), "262144");
  EXPECT_EQ(answer_of("MaxBurstLength", "16776192", limits), "1048576");
  EXPECT_EQ(answer_of("FirstBurstLength", "8192", limits), "8192");
  EXPECT_EQ(answer_of("FirstBurstLength", "262144", limits), "65536");
  EXPECT_EQ(answer_of("MaxBurstLength", "511", limits), "Reject");
  EXPECT_EQ(answer_of("FirstBurstLength", "16777216", limits), "Reject");
  EXPECT_EQ(answer_of("FirstBurstLength", "lots", limits), "Reject");
  Negotiator n(limits, false);
  ASSERT_TRUE(offer(n, {{"MaxBurstLength", "524288"}, {"FirstBurstLength", "32768"}}).ok);
  EXPECT_EQ(n.params().max_burst_length, 524288u);
  EXPECT_EQ(n.params().first_burst_length, 32768u);
}

TEST(Negotiation, FirstBurstNeverExceedsMaxBurstAfterFinish) {
  Negotiator n(TargetLimits{}, false);
  ASSERT_TRUE(offer(n, {{"MaxBurstLength", "4096"}, {"FirstBurstLength", "65536"}}).ok);
  std::string response;
  n.finish(response);
  EXPECT_LE(n.params().first_burst_length, n.params().max_burst_length);
}

TEST(Negotiation, DefaultTime2WaitIsMaximum) {
  TargetLimits limits;
  limits.default_time2wait = 2;
  EXPECT_EQ(answer_of("DefaultTime2Wait", "0", limits), "2");
  EXPECT_EQ(answer_of("DefaultTime2Wait", "10", limits), "10");
  EXPECT_EQ(answer_of("DefaultTime2Wait", "3601", limits), "Reject");
}

TEST(Negotiation, DefaultTime2RetainIsMinimum) {
  TargetLimits limits;
  limits.default_time2retain = 0;
  EXPECT_EQ(answer_of("DefaultTime2Retain", "20", limits), "0");
  limits.default_time2retain = 30;
  EXPECT_EQ(answer_of("DefaultTime2Retain", "20", limits), "20");
  EXPECT_EQ(answer_of("DefaultTime2Retain", "60", limits), "30");
  EXPECT_EQ(answer_of("DefaultTime2Retain", "-1", limits), "Reject");
}

TEST(Negotiation, MaxOutstandingR2TIsMinimum) {
  TargetLimits limits;
  limits.max_outstanding_r2t = 4;
  EXPECT_EQ(answer_of("MaxOutstandingR2T", "1", limits), "1");
  EXPECT_EQ(answer_of("MaxOutstandingR2T", "16", limits), "4");
  EXPECT_EQ(answer_of("MaxOutstandingR2T", "0", limits), "Reject");
  EXPECT_EQ(answer_of("MaxOutstandingR2T", "65536", limits), "Reject");
}

TEST(Negotiation, DataOrderingIsOrAndAlwaysYesHere) {
  for (const char* key : {"DataPDUInOrder", "DataSequenceInOrder"}) {
    EXPECT_EQ(answer_of(key, "Yes"), "Yes") << key;
    EXPECT_EQ(answer_of(key, "No"), "Yes") << key;
    EXPECT_EQ(answer_of(key, "Maybe"), "Reject") << key;
  }
}

TEST(Negotiation, ErrorRecoveryLevelZero) {
  EXPECT_EQ(answer_of("ErrorRecoveryLevel", "0"), "0");
  EXPECT_EQ(answer_of("ErrorRecoveryLevel", "2"), "0");
  EXPECT_EQ(answer_of("ErrorRecoveryLevel", "3"), "Reject");
}

TEST(Negotiation, MarkersOffAndLegacyKeys) {
  EXPECT_EQ(answer_of("OFMarker", "Yes"), "No");
  EXPECT_EQ(answer_of("IFMarker", "No"), "No");
  EXPECT_EQ(answer_of("IFMarker", "Sure"), "Reject");
  EXPECT_EQ(answer_of("OFMarkInt", "2048~8192"), "Irrelevant");
  EXPECT_EQ(answer_of("IFMarkInt", "2048~8192"), "Irrelevant");
  EXPECT_EQ(answer_of("iSCSIProtocolLevel", "2"), "1");
  EXPECT_EQ(answer_of("iSCSIProtocolLevel", "0"), "0");
  EXPECT_EQ(answer_of("TaskReporting", "ResponseFence"), "RFC3720");
}

TEST(Negotiation, DiscoveryMakesSessionKeysIrrelevant) {
  for (const char* key : {"MaxBurstLength", "FirstBurstLength", "MaxOutstandingR2T"})
    EXPECT_EQ(answer_of(key, "65536", {}, true), "Irrelevant") << key;
  for (const char* key : {"DataPDUInOrder", "DataSequenceInOrder"})
    EXPECT_EQ(answer_of(key, "Yes", {}, true), "Irrelevant") << key;
  // Connection-scope keys still count in discovery.
  EXPECT_EQ(answer_of("HeaderDigest", "None", {}, true), "None");
  EXPECT_NE(answer_of("MaxRecvDataSegmentLength", "65536", {}, true), "Irrelevant");
}

TEST(Negotiation, NonOperationalKeysAreLeftToTheLoginLayer) {
  Negotiator n(TargetLimits{}, false);
  Outcome o = offer(n, {{"InitiatorName", "iqn.2024-01.x:y"},
                        {"TargetName", "iqn.2024-01.x:t"},
                        {"X-com.example.unknown", "1"},
                        {"InitiatorAlias", "host"}});
  EXPECT_TRUE(o.ok);
  EXPECT_TRUE(o.answers.empty());
}

TEST(Negotiation, KeyNegotiatedTwiceFails) {
  Negotiator n(TargetLimits{}, false);
  ASSERT_TRUE(offer(n, {{"MaxBurstLength", "65536"}}).ok);
  Outcome o = offer(n, {{"MaxBurstLength", "65536"}});
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("MaxBurstLength"), std::string::npos) << o.error;
}

TEST(Negotiation, AnswersEveryKeyOfARealOffer) {
  // What open-iscsi sends in its operational stage.
  Negotiator n(TargetLimits{}, false);
  Outcome o = offer(n, {{"HeaderDigest", "None"},
                        {"DataDigest", "None"},
                        {"DefaultTime2Wait", "2"},
                        {"DefaultTime2Retain", "0"},
                        {"IFMarker", "No"},
                        {"OFMarker", "No"},
                        {"ErrorRecoveryLevel", "0"},
                        {"InitialR2T", "No"},
                        {"ImmediateData", "Yes"},
                        {"MaxBurstLength", "16776192"},
                        {"FirstBurstLength", "262144"},
                        {"MaxOutstandingR2T", "1"},
                        {"MaxConnections", "1"},
                        {"DataPDUInOrder", "Yes"},
                        {"DataSequenceInOrder", "Yes"},
                        {"MaxRecvDataSegmentLength", "262144"}});
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.answers.size(), 16u);
  for (const auto& [k, v] : o.answers) EXPECT_NE(v, "Reject") << k;
  const SessionParams& p = n.params();
  EXPECT_FALSE(p.initial_r2t);
  EXPECT_TRUE(p.immediate_data);
  EXPECT_EQ(p.max_burst_length, 16776192u);
  EXPECT_EQ(p.first_burst_length, 262144u);
  EXPECT_EQ(p.initiator_mrdsl, 262144u);
  EXPECT_EQ(p.max_connections, 1u);
}

}  // namespace
}  // namespace sharedisk::iscsi
