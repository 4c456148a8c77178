// CHAP authentication of the iSCSI login security stage (RFC 7143 §12.1.3,
// RFC 1994), the target side: one-way (the initiator proves it knows a secret)
// and mutual (the target proves it too), MD5 only (CHAP_A=5).
//
// Contract:
// - ChapExchange is one login's state machine. It is fed the keys of each
//   Login Request of the security stage after AuthMethod=CHAP was chosen and
//   appends its answers (CHAP_A, CHAP_I, CHAP_C, then CHAP_N, CHAP_R for
//   mutual) to the response. It never logs a secret; failure reasons name the
//   user at most.
// - Challenges are 16 random bytes from getrandom(2), the identifier one
//   random byte; responses compare in constant time (CRYPTO_memcmp).
// - Reflection is refused: an initiator challenge equal to ours, or a mutual
//   exchange where the target's secret equals the initiator's.
// - Binary values are read as 0x<hex> or 0b<base64> and written as 0x<hex>.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "iscsi/text_keys.h"

namespace sharedisk::iscsi {

using config::AuthMode;

struct ChapCredential {
  std::string user;
  std::string secret;
};

// What one target (or discovery) requires and knows.
struct AuthPolicy {
  AuthMode mode = AuthMode::kNone;
  std::vector<ChapCredential> incoming;    // accepted from initiators
  std::optional<ChapCredential> outgoing;  // the target's own, for mutual CHAP
};

namespace chap {

constexpr uint8_t kAlgorithmMd5 = 5;
constexpr size_t kChallengeLength = 16;
constexpr size_t kMaxBinaryLength = 1024;  // RFC 7143 §12.1.3: CHAP_C, CHAP_R at most 1024 bytes

// MD5(identifier || secret || challenge) (RFC 1994 §4.1).
std::array<uint8_t, 16> response(uint8_t identifier, std::string_view secret,
                                 const uint8_t* challenge, size_t length);
// Decodes an RFC 7143 §6.1 binary value ("0x" hex, "0b" base64); false when
// malformed, empty or longer than kMaxBinaryLength.
bool decode_binary(std::string_view text, std::vector<uint8_t>* out);
std::string encode_hex(const uint8_t* data, size_t length);  // "0x..." lowercase
// Fills `out` from getrandom(2); false if the kernel could not.
bool random_bytes(uint8_t* out, size_t length);
// Constant-time equality of two byte strings of the same length.
bool equal(const uint8_t* a, const uint8_t* b, size_t length);

}  // namespace chap

class ChapExchange {
 public:
  enum class Result : uint8_t {
    kContinue,  // answer sent, more Login Requests expected
    kDone,      // authenticated: the security stage may end
    kFail,      // authentication failure (status 0x0201)
  };

  explicit ChapExchange(const AuthPolicy& policy) : policy_(policy) {}

  // Handles the CHAP_* keys of one Login Request. `keys` may contain other
  // keys; only CHAP_* are looked at.
  Result step(const std::vector<KeyValue>& keys, std::string& response);
  const std::string& failure() const { return failure_; }  // why kFail (no secrets)
  const std::string& user() const { return user_; }        // CHAP_N once received

  // For tests and fuzzing: replaces the random identifier and challenge of
  // the next CHAP_A answer.
  void set_fixed_challenge(uint8_t identifier, std::vector<uint8_t> challenge);

 private:
  Result fail(std::string why);
  Result offer_challenge(const std::vector<KeyValue>& keys, std::string& response);
  Result check_response(const std::vector<KeyValue>& keys, std::string& response);

  enum class State : uint8_t { kWantAlgorithm, kWantResponse, kDone, kFailed };
  const AuthPolicy& policy_;
  State state_ = State::kWantAlgorithm;
  uint8_t identifier_ = 0;
  std::vector<uint8_t> challenge_;
  std::optional<std::pair<uint8_t, std::vector<uint8_t>>> fixed_;
  std::string failure_;
  std::string user_;
};

}  // namespace sharedisk::iscsi
