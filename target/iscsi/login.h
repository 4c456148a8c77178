// The login phase of one connection (RFC 7143 §6.3, §11.12-13): stages
// security -> operational -> full feature, AuthMethod, session type, target
// lookup and access control, operational negotiation, and the Login Response
// for every Login Request. Holds no socket: PDUs in, PDUs out.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "iscsi/chap.h"
#include "iscsi/negotiation.h"
#include "iscsi/pdu.h"
#include "iscsi/pdu_builder.h"
#include "iscsi/security_policy.h"
#include "iscsi/target_node.h"

namespace sharedisk::iscsi {

enum class SessionType { kNormal, kDiscovery };

// The CmdSN window of a discovery session (its Text requests), granted in the
// final Login Response and kept by the connection afterwards.
constexpr uint32_t kDiscoveryQueueDepth = 16;

// Decides whether a completed login becomes a session (TSIH assignment,
// session reinstatement). Returns the TSIH, or 0 with `status` set to refuse.
class SessionAdmission {
 public:
  virtual uint16_t admit(const class Login& login, uint16_t* status) = 0;

 protected:
  ~SessionAdmission() = default;
};

class Login {
 public:
  struct Reply {
    Bhs bhs;
    std::string data;
    bool complete = false;  // full feature phase starts after this reply
    bool close = false;     // the login failed: close after this reply
    std::string reason;     // why it failed, for the log (never a secret)
  };

  Login(const TargetRegistry& registry, const TargetLimits& limits, std::string peer_address,
        SessionAdmission& admission);

  Reply handle(const Bhs& request, const uint8_t* data, size_t length);

  // Authentication and read-only access from `policy` (without one, no
  // authentication is required or offered), and the bound on login text.
  void set_security(std::shared_ptr<const SecurityPolicy> policy, uint32_t max_login_text);
  // The logged-in initiator may only read the target's LUNs.
  bool read_only() const;
  // For tests and fuzzing: the CHAP identifier and challenge to use.
  void set_fixed_chap_challenge(uint8_t identifier, std::vector<uint8_t> challenge);

  SessionType session_type() const { return type_; }
  const std::string& initiator_name() const { return initiator_name_; }
  const std::string& initiator_alias() const { return initiator_alias_; }
  TargetNode* target() const { return target_; }
  uint64_t isid() const { return isid_; }
  uint16_t requested_tsih() const { return requested_tsih_; }
  uint16_t cid() const { return cid_; }
  uint32_t exp_cmdsn() const { return exp_cmdsn_; }
  uint32_t next_statsn() const { return statsn_; }
  const SessionParams& params() const { return negotiator_.params(); }

  static constexpr size_t kMaxLoginText = 65536;  // across continued PDUs

 private:
  Reply fail(const Bhs& request, uint16_t status, std::string reason = {});
  const AuthPolicy* auth_policy() const;
  bool authenticate(const std::vector<KeyValue>& keys, std::string& response, std::string* why);
  Reply respond(const Bhs& request, bool transit, uint8_t nsg, std::string data);
  Reply reply_with(const Bhs& request, out::LoginResponse fields, std::string data);
  out::SeqNumbers next_sn();  // StatSN (advanced), ExpCmdSN, MaxCmdSN
  uint16_t first_pdu(const std::vector<KeyValue>& keys, std::string& response);

  const TargetRegistry& registry_;
  TargetLimits limits_;
  std::string peer_address_;
  SessionAdmission& admission_;
  Negotiator negotiator_;
  bool started_ = false;
  uint8_t stage_ = 0;
  std::string pending_text_;  // data of Login Requests with the C bit
  SessionType type_ = SessionType::kNormal;
  std::string initiator_name_;
  std::string initiator_alias_;
  TargetNode* target_ = nullptr;
  uint64_t isid_ = 0;
  uint16_t requested_tsih_ = 0;
  uint16_t tsih_ = 0;
  uint16_t cid_ = 0;
  uint32_t itt_ = 0;
  uint32_t exp_cmdsn_ = 0;
  uint32_t statsn_ = 0;
  bool auth_done_ = false;
  std::shared_ptr<const SecurityPolicy> security_;
  size_t max_text_ = kMaxLoginText;
  std::optional<ChapExchange> chap_;
  std::optional<std::pair<uint8_t, std::vector<uint8_t>>> fixed_challenge_;
};

}  // namespace sharedisk::iscsi
