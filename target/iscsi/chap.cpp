#include "iscsi/chap.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/random.h>

#include <cerrno>

namespace sharedisk::iscsi {

namespace chap {

std::array<uint8_t, 16> response(uint8_t identifier, std::string_view secret,
                                 const uint8_t* challenge, size_t length) {
  std::array<uint8_t, 16> out{};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned int n = 0;
  bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_md5(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx, &identifier, 1) == 1 &&
            EVP_DigestUpdate(ctx, secret.data(), secret.size()) == 1 &&
            EVP_DigestUpdate(ctx, challenge, length) == 1 &&
            EVP_DigestFinal_ex(ctx, out.data(), &n) == 1 && n == out.size();
  EVP_MD_CTX_free(ctx);
  // A libcrypto failure (e.g. MD5 disabled by a FIPS policy) must never
  // produce a predictable value that could match: fill with fresh randomness.
  if (!ok) random_bytes(out.data(), out.size());
  return out;
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool decode_hex(std::string_view digits, std::vector<uint8_t>* out) {
  // An odd number of digits has an implied leading zero (RFC 7143 §6.1).
  size_t i = 0;
  if (digits.size() % 2 == 1) {
    int v = hex_value(digits[0]);
    if (v < 0) return false;
    out->push_back(uint8_t(v));
    i = 1;
  }
  for (; i < digits.size(); i += 2) {
    int hi = hex_value(digits[i]), lo = hex_value(digits[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(uint8_t(hi << 4 | lo));
  }
  return true;
}

bool decode_base64(std::string_view text, std::vector<uint8_t>* out) {
  if (text.size() % 4 != 0) return false;
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = text[i + k];
      if (c == '=' && last && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return false;  // data after '='
      v[k] = base64_value(c);
      if (v[k] < 0) return false;
    }
    uint32_t word = uint32_t(v[0]) << 18 | uint32_t(v[1]) << 12 | uint32_t(v[2]) << 6 | v[3];
    out->push_back(uint8_t(word >> 16));
    if (pad < 2) out->push_back(uint8_t(word >> 8));
    if (pad < 1) out->push_back(uint8_t(word));
  }
  return true;
}

}  // namespace

bool decode_binary(std::string_view text, std::vector<uint8_t>* out) {
  out->clear();
  if (text.size() < 3 || text[0] != '0') return false;
  std::string_view body = text.substr(2);
  // Cheap bound before decoding anything: 1024 bytes are 2048 hex digits.
  if (body.size() > 2 * kMaxBinaryLength) return false;
  bool ok = false;
  if (text[1] == 'x' || text[1] == 'X')
    ok = decode_hex(body, out);
  else if (text[1] == 'b' || text[1] == 'B')
    ok = decode_base64(body, out);
  if (!ok || out->empty() || out->size() > kMaxBinaryLength) {
    out->clear();
    return false;
  }
  return true;
}

std::string encode_hex(const uint8_t* data, size_t length) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s = "0x";
  s.reserve(2 + 2 * length);
  for (size_t i = 0; i < length; ++i) {
    s.push_back(kDigits[data[i] >> 4]);
    s.push_back(kDigits[data[i] & 15]);
  }
  return s;
}

bool random_bytes(uint8_t* out, size_t length) {
  size_t done = 0;
  for (int tries = 0; done < length && tries < 100; ++tries) {
    ssize_t n = getrandom(out + done, length - done, 0);
    if (n > 0)
      done += size_t(n);
    else if (n < 0 && errno != EINTR && errno != EAGAIN)
      break;
  }
  return done == length;
}

bool equal(const uint8_t* a, const uint8_t* b, size_t length) {
  return CRYPTO_memcmp(a, b, length) == 0;
}

}  // namespace chap

namespace {
const KeyValue* find(const std::vector<KeyValue>& keys, std::string_view name) {
  for (const KeyValue& kv : keys)
    if (kv.key == name) return &kv;
  return nullptr;
}
}  // namespace

void ChapExchange::set_fixed_challenge(uint8_t identifier, std::vector<uint8_t> challenge) {
  fixed_.emplace(identifier, std::move(challenge));
}

ChapExchange::Result ChapExchange::fail(std::string why) {
  state_ = State::kFailed;
  failure_ = std::move(why);
  return Result::kFail;
}

ChapExchange::Result ChapExchange::step(const std::vector<KeyValue>& keys, std::string& response) {
  switch (state_) {
    case State::kWantAlgorithm:
      return offer_challenge(keys, response);
    case State::kWantResponse:
      return check_response(keys, response);
    case State::kDone:
      // Nothing more to say; CHAP keys after success are a protocol error.
      for (const KeyValue& kv : keys)
        if (kv.key.rfind("CHAP_", 0) == 0) return fail("CHAP key after authentication: " + kv.key);
      return Result::kDone;
    case State::kFailed:
      return Result::kFail;
  }
  return Result::kFail;
}

ChapExchange::Result ChapExchange::offer_challenge(const std::vector<KeyValue>& keys,
                                                   std::string& response) {
  const KeyValue* a = find(keys, "CHAP_A");
  if (a == nullptr) {
    for (const KeyValue& kv : keys)
      if (kv.key.rfind("CHAP_", 0) == 0) return fail("CHAP key before CHAP_A: " + kv.key);
    return Result::kContinue;  // AuthMethod answered; CHAP_A comes next
  }
  bool md5 = false;
  for (std::string_view v : split_list(a->value)) {
    uint64_t n = 0;
    if (parse_number(v, &n) && n == chap::kAlgorithmMd5) md5 = true;
  }
  if (!md5) {
    append_key(response, "CHAP_A", "Reject");
    return fail("no supported CHAP_A in '" + a->value.substr(0, 64) + "'");
  }
  if (find(keys, "CHAP_N") || find(keys, "CHAP_R"))
    return fail("CHAP_N/CHAP_R sent before the challenge");
  if (fixed_) {
    identifier_ = fixed_->first;
    challenge_ = fixed_->second;
  } else {
    challenge_.assign(chap::kChallengeLength, 0);
    if (!chap::random_bytes(&identifier_, 1) ||
        !chap::random_bytes(challenge_.data(), challenge_.size()))
      return fail("no random bytes for the challenge");
  }
  append_key(response, "CHAP_A", std::to_string(chap::kAlgorithmMd5));
  append_key(response, "CHAP_I", std::to_string(identifier_));
  append_key(response, "CHAP_C", chap::encode_hex(challenge_.data(), challenge_.size()));
  state_ = State::kWantResponse;
  return Result::kContinue;
}

ChapExchange::Result ChapExchange::check_response(const std::vector<KeyValue>& keys,
                                                  std::string& response) {
  const KeyValue* n = find(keys, "CHAP_N");
  const KeyValue* r = find(keys, "CHAP_R");
  if (n == nullptr || r == nullptr) return fail("CHAP_N or CHAP_R missing");
  if (find(keys, "CHAP_A")) return fail("CHAP_A repeated");
  user_ = n->value.substr(0, 256);
  std::vector<uint8_t> got;
  if (!chap::decode_binary(r->value, &got) || got.size() != 16)
    return fail("malformed CHAP_R from user '" + user_ + "'");

  // Every configured user is tried with the same amount of work, so timing
  // tells nothing about which user names exist.
  bool matched = false;
  const ChapCredential* who = nullptr;
  for (const ChapCredential& c : policy_.incoming) {
    auto expected = chap::response(identifier_, c.secret, challenge_.data(), challenge_.size());
    bool secret_ok = chap::equal(expected.data(), got.data(), 16);
    bool name_ok = c.user == n->value;
    if (secret_ok && name_ok && !matched) {
      matched = true;
      who = &c;
    }
  }
  if (!matched) return fail("wrong CHAP_N/CHAP_R for user '" + user_ + "'");

  const KeyValue* ci = find(keys, "CHAP_I");
  const KeyValue* cc = find(keys, "CHAP_C");
  if (ci == nullptr && cc == nullptr) {
    if (policy_.mode == AuthMode::kMutual)
      return fail("mutual CHAP required but the initiator sent no challenge");
    state_ = State::kDone;
    return Result::kDone;
  }
  if (ci == nullptr || cc == nullptr) return fail("CHAP_I without CHAP_C or the reverse");
  if (!policy_.outgoing) return fail("initiator asked for mutual CHAP; no target secret set");
  uint64_t id = 0;
  std::vector<uint8_t> challenge;
  if (!parse_number(ci->value, &id) || id > 255) return fail("malformed CHAP_I");
  if (!chap::decode_binary(cc->value, &challenge)) return fail("malformed CHAP_C");
  // Reflection (RFC 7143 §9.2.1): our own challenge sent back to make us
  // compute the answer the initiator owes us.
  if (challenge.size() == challenge_.size() &&
      chap::equal(challenge.data(), challenge_.data(), challenge.size()))
    return fail("initiator reflected the target's CHAP challenge");
  if (policy_.outgoing->secret == who->secret)
    return fail("mutual CHAP with the initiator's own secret refused");
  auto answer =
      chap::response(uint8_t(id), policy_.outgoing->secret, challenge.data(), challenge.size());
  append_key(response, "CHAP_N", policy_.outgoing->user);
  append_key(response, "CHAP_R", chap::encode_hex(answer.data(), answer.size()));
  state_ = State::kDone;
  return Result::kDone;
}

}  // namespace sharedisk::iscsi
