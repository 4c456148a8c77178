// CHAP primitives and the target-side exchange (RFC 7143 §12.1.3, RFC 1994):
// MD5 known answers, binary value encodings, challenge form, one-way and
// mutual success, and every refusal (wrong secret, unknown user, algorithm,
// reflection, malformed values, missing mutual challenge).
#include <gtest/gtest.h>

#include <map>

#include "iscsi/chap.h"

namespace sharedisk::iscsi {
namespace {

std::vector<uint8_t> bytes(std::initializer_list<int> v) {
  std::vector<uint8_t> out;
  for (int b : v) out.push_back(uint8_t(b));
  return out;
}

std::vector<uint8_t> iota16() {
  std::vector<uint8_t> c(16);
  for (int i = 0; i < 16; ++i) c[i] = uint8_t(i);
  return c;
}

std::map<std::string, std::string> parse(const std::string& s) {
  std::vector<KeyValue> keys;
  std::string error;
  EXPECT_TRUE(parse_text(reinterpret_cast<const uint8_t*>(s.data()), s.size(), &keys, &error));
  std::map<std::string, std::string> out;
  for (auto& kv : keys) out[kv.key] = kv.value;
  return out;
}

TEST(Chap, Md5ResponseMatchesIndependentlyComputedValues) {
  // Python: hashlib.md5(bytes([1]) + b"initiator-secret-1" + bytes(range(16))).hexdigest()
  auto c = iota16();
  auto r = chap::response(1, "initiator-secret-1", c.data(), c.size());
  EXPECT_EQ(chap::encode_hex(r.data(), r.size()), "0xf8a876be858b70fd6d198f4ed5b966b3");
  auto c2 = bytes({0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef, 0xde,
                   0xad, 0xbe, 0xef});
  auto r2 = chap::response(0xab, "target-secret-22", c2.data(), c2.size());
  EXPECT_EQ(chap::encode_hex(r2.data(), r2.size()), "0x5fcaad8dcf566c140c251644abe3bd6f");
}

TEST(Chap, BinaryValuesHexAndBase64) {
  std::vector<uint8_t> out;
  ASSERT_TRUE(chap::decode_binary("0x000102030405060708090A0b0c0d0e0f", &out));
  EXPECT_EQ(out, iota16());
  ASSERT_TRUE(chap::decode_binary("0bAAECAwQFBgcICQoLDA0ODw==", &out));
  EXPECT_EQ(out, iota16());
  ASSERT_TRUE(chap::decode_binary("0bYWI=", &out));
  EXPECT_EQ(out, bytes({'a', 'b'}));
  ASSERT_TRUE(chap::decode_binary("0xabc", &out));  // odd: implied leading zero
  EXPECT_EQ(out, bytes({0x0a, 0xbc}));
  for (const char* bad :
       {"", "0x", "0b", "abcd", "0xzz", "0y12", "0bYW=I", "0bYWI", "0b====", "0x12 34"}) {
    EXPECT_FALSE(chap::decode_binary(bad, &out)) << bad;
    EXPECT_TRUE(out.empty());
  }
  std::string huge = "0x" + std::string(2 * 1025, 'a');
  EXPECT_FALSE(chap::decode_binary(huge, &out));
  std::string max = "0x" + std::string(2 * 1024, 'a');
  EXPECT_TRUE(chap::decode_binary(max, &out));
  EXPECT_EQ(out.size(), 1024u);
}

TEST(Chap, RandomBytesDiffer) {
  uint8_t a[16] = {}, b[16] = {};
  ASSERT_TRUE(chap::random_bytes(a, sizeof a));
  ASSERT_TRUE(chap::random_bytes(b, sizeof b));
  EXPECT_FALSE(chap::equal(a, b, sizeof a));
  EXPECT_TRUE(chap::equal(a, a, sizeof a));
}

class ChapExchangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    policy_.mode = AuthMode::kChap;
    policy_.incoming = {{"alice", "alice-secret-123"}, {"bob", "bob-secret-4567"}};
    policy_.outgoing = ChapCredential{"target", "target-secret-89"};
  }
  std::string step(ChapExchange& x, std::vector<KeyValue> keys, ChapExchange::Result want) {
    std::string response;
    EXPECT_EQ(x.step(keys, response), want) << x.failure();
    return response;
  }
  // Runs CHAP_A and returns the identifier and challenge the target sent.
  std::pair<uint8_t, std::vector<uint8_t>> challenge(ChapExchange& x) {
    auto k = parse(step(x, {{"CHAP_A", "7,5"}}, ChapExchange::Result::kContinue));
    EXPECT_EQ(k["CHAP_A"], "5");
    uint64_t id = 0;
    EXPECT_TRUE(parse_number(k["CHAP_I"], &id));
    EXPECT_LE(id, 255u);
    std::vector<uint8_t> c;
    EXPECT_TRUE(chap::decode_binary(k["CHAP_C"], &c));
    EXPECT_EQ(k["CHAP_C"].substr(0, 2), "0x");
    return {uint8_t(id), c};
  }
  static std::string answer(uint8_t id, const std::string& secret, const std::vector<uint8_t>& c) {
    auto r = chap::response(id, secret, c.data(), c.size());
    return chap::encode_hex(r.data(), r.size());
  }
  AuthPolicy policy_;
};

TEST_F(ChapExchangeTest, ChallengeIsSixteenRandomBytesEachTime) {
  ChapExchange a(policy_), b(policy_);
  auto ca = challenge(a);
  auto cb = challenge(b);
  EXPECT_EQ(ca.second.size(), 16u);
  EXPECT_EQ(cb.second.size(), 16u);
  EXPECT_NE(ca.second, cb.second);
}

TEST_F(ChapExchangeTest, OneWaySuccessHexAndBase64) {
  ChapExchange x(policy_);
  auto [id, c] = challenge(x);
  std::string r = step(x, {{"CHAP_N", "bob"}, {"CHAP_R", answer(id, "bob-secret-4567", c)}},
                       ChapExchange::Result::kDone);
  EXPECT_TRUE(r.empty());  // one-way: the target says nothing more
  EXPECT_EQ(x.user(), "bob");

  ChapExchange y(policy_);
  auto [id2, c2] = challenge(y);
  auto raw = chap::response(id2, "alice-secret-123", c2.data(), c2.size());
  // base64 of the 16 response bytes
  static const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string enc = "0b";
  for (size_t i = 0; i < 16; i += 3) {
    uint32_t w =
        uint32_t(raw[i]) << 16 | (i + 1 < 16 ? raw[i + 1] << 8 : 0) | (i + 2 < 16 ? raw[i + 2] : 0);
    enc += b64[w >> 18 & 63];
    enc += b64[w >> 12 & 63];
    enc += i + 1 < 16 ? b64[w >> 6 & 63] : '=';
    enc += i + 2 < 16 ? b64[w & 63] : '=';
  }
  step(y, {{"CHAP_N", "alice"}, {"CHAP_R", enc}}, ChapExchange::Result::kDone);
}

TEST_F(ChapExchangeTest, MutualTargetAnswersInitiatorChallenge) {
  policy_.mode = AuthMode::kMutual;
  ChapExchange x(policy_);
  auto [id, c] = challenge(x);
  auto mine = bytes({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17});
  auto k = parse(step(x,
                      {{"CHAP_N", "alice"},
                       {"CHAP_R", answer(id, "alice-secret-123", c)},
                       {"CHAP_I", "77"},
                       {"CHAP_C", chap::encode_hex(mine.data(), mine.size())}},
                      ChapExchange::Result::kDone));
  EXPECT_EQ(k["CHAP_N"], "target");
  EXPECT_EQ(k["CHAP_R"], answer(77, "target-secret-89", mine));
}

TEST_F(ChapExchangeTest, Refusals) {
  struct Case {
    const char* name;
    std::function<std::vector<KeyValue>(uint8_t, const std::vector<uint8_t>&)> keys;
    const char* why;
  };
  auto ok = [](uint8_t id, const std::vector<uint8_t>& c) {
    return answer(id, "alice-secret-123", c);
  };
  std::vector<Case> cases = {
      {"wrong secret",
       [&](uint8_t id, auto& c) {
         return std::vector<KeyValue>{{"CHAP_N", "alice"},
                                      {"CHAP_R", answer(id, "bob-secret-4567", c)}};
       },
       "wrong CHAP_N/CHAP_R"},
      {"unknown user",
       [&](uint8_t id, auto& c) {
         return std::vector<KeyValue>{{"CHAP_N", "mallory"}, {"CHAP_R", ok(id, c)}};
       },
       "wrong CHAP_N/CHAP_R"},
      {"wrong identifier",
       [&](uint8_t id, auto& c) {
         return std::vector<KeyValue>{{"CHAP_N", "alice"},
                                      {"CHAP_R", answer(uint8_t(id + 1), "alice-secret-123", c)}};
       },
       "wrong CHAP_N/CHAP_R"},
      {"short response",
       [&](uint8_t, auto&) {
         return std::vector<KeyValue>{{"CHAP_N", "alice"}, {"CHAP_R", "0x0102"}};
       },
       "malformed CHAP_R"},
      {"garbage response",
       [&](uint8_t, auto&) {
         return std::vector<KeyValue>{{"CHAP_N", "alice"}, {"CHAP_R", "hello"}};
       },
       "malformed CHAP_R"},
      {"no CHAP_R",
       [&](uint8_t, auto&) {
         return std::vector<KeyValue>{{"CHAP_N", "alice"}};
       },
       "missing"},
      {"reflection",
       [&](uint8_t id, auto& c) {
         return std::vector<KeyValue>{{"CHAP_N", "alice"},
                                      {"CHAP_R", ok(id, c)},
                                      {"CHAP_I", std::to_string(id)},
                                      {"CHAP_C", chap::encode_hex(c.data(), c.size())}};
       },
       "reflected"},
      {"CHAP_I without CHAP_C",
       [&](uint8_t id, auto& c) {
         return std::vector<KeyValue>{{"CHAP_N", "alice"}, {"CHAP_R", ok(id, c)}, {"CHAP_I", "1"}};
       },
       "CHAP_I without CHAP_C"},
      {"CHAP_I out of range",
       [&](uint8_t id, auto& c) {
         return std::vector<KeyValue>{
             {"CHAP_N", "alice"}, {"CHAP_R", ok(id, c)}, {"CHAP_I", "256"}, {"CHAP_C", "0x01"}};
       },
       "malformed CHAP_I"},
      {"CHAP_A again",
       [&](uint8_t id, auto& c) {
         return std::vector<KeyValue>{{"CHAP_N", "alice"}, {"CHAP_R", ok(id, c)}, {"CHAP_A", "5"}};
       },
       "CHAP_A repeated"},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    ChapExchange x(policy_);
    auto [id, c] = challenge(x);
    std::string response;
    EXPECT_EQ(x.step(k.keys(id, c), response), ChapExchange::Result::kFail);
    EXPECT_NE(x.failure().find(k.why), std::string::npos) << x.failure();
    EXPECT_EQ(x.failure().find("secret-"), std::string::npos) << "a secret leaked: " << x.failure();
    EXPECT_EQ(x.step({}, response), ChapExchange::Result::kFail);  // stays failed
  }
}

TEST_F(ChapExchangeTest, MutualRequiredButNoChallengeFails) {
  policy_.mode = AuthMode::kMutual;
  ChapExchange x(policy_);
  auto [id, c] = challenge(x);
  step(x, {{"CHAP_N", "alice"}, {"CHAP_R", answer(id, "alice-secret-123", c)}},
       ChapExchange::Result::kFail);
  EXPECT_NE(x.failure().find("mutual"), std::string::npos);
}

TEST_F(ChapExchangeTest, MutualAskedWithoutTargetSecretFails) {
  policy_.outgoing.reset();
  ChapExchange x(policy_);
  auto [id, c] = challenge(x);
  step(x,
       {{"CHAP_N", "alice"},
        {"CHAP_R", answer(id, "alice-secret-123", c)},
        {"CHAP_I", "3"},
        {"CHAP_C", "0x0102030405060708"}},
       ChapExchange::Result::kFail);
}

TEST_F(ChapExchangeTest, MutualWithTheInitiatorsOwnSecretIsRefused) {
  policy_.outgoing = ChapCredential{"target", "alice-secret-123"};
  ChapExchange x(policy_);
  auto [id, c] = challenge(x);
  step(x,
       {{"CHAP_N", "alice"},
        {"CHAP_R", answer(id, "alice-secret-123", c)},
        {"CHAP_I", "3"},
        {"CHAP_C", "0x0102030405060708"}},
       ChapExchange::Result::kFail);
  EXPECT_NE(x.failure().find("own secret"), std::string::npos);
}

TEST_F(ChapExchangeTest, AlgorithmNegotiation) {
  ChapExchange x(policy_);
  auto k = parse(step(x, {{"CHAP_A", "6,7"}}, ChapExchange::Result::kFail));
  EXPECT_EQ(k["CHAP_A"], "Reject");
  ChapExchange y(policy_);
  step(y, {}, ChapExchange::Result::kContinue);  // AuthMethod-only PDU: wait for CHAP_A
  step(y, {{"CHAP_N", "alice"}, {"CHAP_R", "0x00"}}, ChapExchange::Result::kFail);
  ChapExchange z(policy_);
  step(z, {{"CHAP_A", "0x5"}}, ChapExchange::Result::kContinue);  // numbers may be hex
}

TEST_F(ChapExchangeTest, FixedChallengeForTests) {
  ChapExchange x(policy_);
  x.set_fixed_challenge(9, iota16());
  auto [id, c] = challenge(x);
  EXPECT_EQ(id, 9);
  EXPECT_EQ(c, iota16());
}

}  // namespace
}  // namespace sharedisk::iscsi
