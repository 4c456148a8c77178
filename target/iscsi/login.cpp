#include "iscsi/login.h"

#include <algorithm>

namespace sharedisk::iscsi {

namespace {
constexpr uint8_t kStageSecurity = 0;
constexpr uint8_t kStageFullFeature = 3;

// Keys the login layer itself handles (not operational, not unknown).
bool is_login_key(const std::string& key) {
  static const char* const keys[] = {
      "InitiatorName", "InitiatorAlias", "TargetName",    "SessionType",
      "AuthMethod",    "TargetAlias",    "TargetAddress", "TargetPortalGroupTag",
      "CHAP_A",        "CHAP_I",         "CHAP_C",        "CHAP_N",
      "CHAP_R"};
  return std::find(std::begin(keys), std::end(keys), key) != std::end(keys);
}

const KeyValue* find_key(const std::vector<KeyValue>& keys, const char* name) {
  for (const KeyValue& kv : keys)
    if (kv.key == name) return &kv;
  return nullptr;
}

bool has_chap_key(const std::vector<KeyValue>& keys) {
  return std::any_of(keys.begin(), keys.end(),
                     [](const KeyValue& kv) { return kv.key.rfind("CHAP_", 0) == 0; });
}
}  // namespace

void Login::set_security(std::shared_ptr<const SecurityPolicy> policy, uint32_t max_login_text) {
  security_ = std::move(policy);
  max_text_ = max_login_text;
}

void Login::set_fixed_chap_challenge(uint8_t identifier, std::vector<uint8_t> challenge) {
  fixed_challenge_.emplace(identifier, std::move(challenge));
}

const AuthPolicy* Login::auth_policy() const {
  if (!security_) return nullptr;
  if (type_ == SessionType::kDiscovery) return &security_->discovery;
  if (target_ == nullptr) return nullptr;
  const TargetSecurity* t = security_->find(target_->iqn);
  return t != nullptr ? &t->auth : nullptr;
}

bool Login::read_only() const {
  if (!security_ || target_ == nullptr || type_ != SessionType::kNormal) return false;
  const TargetSecurity* t = security_->find(target_->iqn);
  return t != nullptr && t->read_only_for(initiator_name_);
}

// AuthMethod and CHAP_* keys of one security-stage Login Request; false
// (with *why) is an authentication failure.
bool Login::authenticate(const std::vector<KeyValue>& keys, std::string& response,
                         std::string* why) {
  const AuthPolicy* policy = auth_policy();
  bool required = policy != nullptr && policy->mode != AuthMode::kNone;
  bool can_chap = policy != nullptr && !policy->incoming.empty();
  if (const KeyValue* auth = find_key(keys, "AuthMethod")) {
    if (chap_ || auth_done_) {
      *why = "AuthMethod offered twice";
      return false;
    }
    // The first method in the initiator's order of preference that we accept.
    std::string choice;
    for (std::string_view m : split_list(auth->value)) {
      if ((m == "None" && !required) || (m == "CHAP" && can_chap)) {
        choice = std::string(m);
        break;
      }
    }
    if (choice.empty()) {
      append_key(response, "AuthMethod", "Reject");
      *why = "AuthMethod=" + auth->value.substr(0, 64) +
             (required ? ": CHAP is required" : ": only None is possible");
      return false;
    }
    append_key(response, "AuthMethod", choice);
    if (choice == "None") {
      auth_done_ = true;
    } else {
      chap_.emplace(*policy);
      if (fixed_challenge_)
        chap_->set_fixed_challenge(fixed_challenge_->first, fixed_challenge_->second);
    }
  }
  if (!chap_) {
    if (has_chap_key(keys)) {
      *why = "CHAP keys without AuthMethod=CHAP";
      return false;
    }
    return true;
  }
  switch (chap_->step(keys, response)) {
    case ChapExchange::Result::kContinue:
      return true;
    case ChapExchange::Result::kDone:
      auth_done_ = true;
      return true;
    case ChapExchange::Result::kFail:
      *why = "CHAP: " + chap_->failure();
      return false;
  }
  return false;
}

Login::Login(const TargetRegistry& registry, const TargetLimits& limits, std::string peer_address,
             SessionAdmission& admission)
    : registry_(registry),
      limits_(limits),
      peer_address_(std::move(peer_address)),
      admission_(admission),
      negotiator_(limits, false) {}

Login::Reply Login::fail(const Bhs& request, uint16_t status, std::string reason) {
  // A refusal carries no stage (T, CSG and NSG are zero).
  Reply reply = reply_with(request, {.sn = next_sn(), .status = status}, {});
  // Reasons quote initiator input: keep them one printable line.
  for (char& c : reason)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  reply.reason = std::move(reason);
  reply.close = true;
  return reply;
}

Login::Reply Login::respond(const Bhs& request, bool transit, uint8_t nsg, std::string data) {
  return reply_with(
      request,
      {.transit = transit, .csg = stage_, .nsg = uint8_t(transit ? nsg : 0), .sn = next_sn()},
      std::move(data));
}

out::SeqNumbers Login::next_sn() {
  uint32_t depth = target_ != nullptr ? target_->queue_depth : kDiscoveryQueueDepth;
  return {.statsn = statsn_++, .exp_cmdsn = exp_cmdsn_, .max_cmdsn = exp_cmdsn_ + depth - 1};
}

// `fields` brings the flags, sequence numbers and status; the rest comes from
// the request and the login's state. Version-max and Version-active stay 0.
Login::Reply Login::reply_with(const Bhs& request, out::LoginResponse fields, std::string data) {
  fields.data_length = uint32_t(data.size());
  fields.isid = request.isid();
  fields.tsih = tsih_;
  fields.itt = request.itt();
  Reply reply;
  reply.bhs = out::build(fields);
  reply.data = std::move(data);
  return reply;
}

uint16_t Login::first_pdu(const std::vector<KeyValue>& keys, std::string& response) {
  const KeyValue* name = find_key(keys, "InitiatorName");
  if (name == nullptr || name->value.empty()) return login_status::kMissingParameter;
  // RFC 3720 §3.2.6: at most 223 bytes, no control characters (the name is
  // logged, so this also keeps an initiator from forging log lines).
  if (name->value.size() > 223 ||
      std::any_of(name->value.begin(), name->value.end(),
                  [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
    return login_status::kInitiatorError;
  initiator_name_ = name->value;
  if (const KeyValue* alias = find_key(keys, "InitiatorAlias")) initiator_alias_ = alias->value;
  const KeyValue* type = find_key(keys, "SessionType");
  if (type == nullptr || type->value == "Normal") {
    type_ = SessionType::kNormal;
  } else if (type->value == "Discovery") {
    type_ = SessionType::kDiscovery;
  } else {
    return login_status::kSessionTypeNotSupported;
  }
  if (type_ == SessionType::kDiscovery) {
    negotiator_ = Negotiator(limits_, true);
    return login_status::kSuccess;
  }
  const KeyValue* target_name = find_key(keys, "TargetName");
  if (target_name == nullptr || target_name->value.empty()) return login_status::kMissingParameter;
  target_ = registry_.find(target_name->value);
  if (target_ == nullptr) return login_status::kNotFound;
  if (!target_->allows(initiator_name_, peer_address_)) return login_status::kAuthorizationFailure;
  if (!target_->alias.empty()) append_key(response, "TargetAlias", target_->alias);
  append_key(response, "TargetPortalGroupTag", std::to_string(registry_.portal_group_tag()));
  return login_status::kSuccess;
}

Login::Reply Login::handle(const Bhs& request, const uint8_t* data, size_t length) {
  if (!started_) {
    // Version-max (byte 2) must reach our 0 and Version-min (byte 3) must not exceed it.
    if (request.version_min() > 0) return fail(request, login_status::kUnsupportedVersion);
    isid_ = request.isid();
    requested_tsih_ = request.tsih();
    tsih_ = requested_tsih_;
    cid_ = request.cid();
    itt_ = request.itt();
    exp_cmdsn_ = request.cmdsn();
    statsn_ = request.exp_statsn();
    stage_ = request.csg();
  } else if (request.isid() != isid_ || request.tsih() != requested_tsih_ ||
             request.cid() != cid_) {
    return fail(request, login_status::kInvalidDuringLogin);
  }
  if (request.csg() != stage_ || request.csg() == kStageFullFeature || request.csg() == 2 ||
      (request.transit() && request.nsg() == 2) ||
      (request.transit() && request.nsg() <= request.csg())) {
    return fail(request, login_status::kInvalidDuringLogin);
  }

  if (pending_text_.size() + length > max_text_)
    return fail(request, login_status::kOutOfResources, "login text over the limit");
  pending_text_.append(reinterpret_cast<const char*>(data), length);
  if (request.cont()) {
    if (request.transit()) return fail(request, login_status::kInitiatorError);
    started_ = true;
    return respond(request, false, 0, {});  // ask for the rest of the text
  }
  std::vector<KeyValue> keys;
  std::string error;
  bool parsed = parse_text(reinterpret_cast<const uint8_t*>(pending_text_.data()),
                           pending_text_.size(), &keys, &error);
  pending_text_.clear();
  if (!parsed) return fail(request, login_status::kInitiatorError, error);

  std::string response;
  if (initiator_name_.empty()) {  // the first PDU's keys, even after a C-bit continuation
    started_ = true;
    uint16_t status = first_pdu(keys, response);
    if (status != login_status::kSuccess) return fail(request, status);
  }

  const AuthPolicy* policy = auth_policy();
  bool auth_required = policy != nullptr && policy->mode != AuthMode::kNone;
  if (stage_ != kStageSecurity) {
    if (find_key(keys, "AuthMethod") || has_chap_key(keys))
      return fail(request, login_status::kInitiatorError,
                  "security keys outside the security stage");
    if (auth_required && !auth_done_)
      return fail(request, login_status::kAuthenticationFailure,
                  "skipped the security stage but authentication is required");
  } else {
    std::string why;
    if (!authenticate(keys, response, &why)) {
      Reply reply = fail(request, login_status::kAuthenticationFailure, why);
      reply.data = std::move(response);  // e.g. AuthMethod=Reject, CHAP_A=Reject
      reply.bhs.set_data_length(uint32_t(reply.data.size()));
      return reply;
    }
  }
  if (!negotiator_.negotiate(keys, response, &error))
    return fail(request, login_status::kInitiatorError);
  for (const KeyValue& kv : keys) {
    if (!is_login_key(kv.key) && !is_operational_key(kv.key))
      append_key(response, kv.key, "NotUnderstood");
  }

  bool transit = request.transit();
  uint8_t nsg = request.nsg();
  if (transit && stage_ == kStageSecurity && !auth_done_) {
    if (chap_) {
      // The exchange is not over: the initiator stays in the security stage.
      transit = false;
      nsg = 0;
    } else if (auth_required) {
      return fail(request, login_status::kAuthenticationFailure,
                  "left the security stage without authenticating");
    } else {
      auth_done_ = true;  // no AuthMethod offered and none required
    }
  }
  if (transit && nsg == kStageFullFeature) {
    negotiator_.finish(response);
    uint16_t status = login_status::kSuccess;
    uint16_t tsih = admission_.admit(*this, &status);
    if (tsih == 0) return fail(request, status);
    tsih_ = tsih;
    Reply reply = respond(request, true, nsg, std::move(response));
    reply.complete = true;
    stage_ = kStageFullFeature;
    return reply;
  }
  Reply reply = respond(request, transit, nsg, std::move(response));
  if (transit) stage_ = nsg;
  return reply;
}

}  // namespace sharedisk::iscsi
