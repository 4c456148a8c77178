#include "iscsi/login.h"

#include <algorithm>

namespace sharedisk::iscsi {

namespace {
constexpr uint8_t kStageSecurity = 0;
constexpr uint8_t kStageOperational = 1;
constexpr uint8_t kStageFullFeature = 3;

// Keys the login layer itself handles (not operational, not unknown).
bool is_login_key(const std::string& key) {
  static const char* const keys[] = {"InitiatorName", "InitiatorAlias",      "TargetName",
                                     "SessionType",   "AuthMethod",          "TargetAlias",
                                     "TargetAddress", "TargetPortalGroupTag"};
  return std::find(std::begin(keys), std::end(keys), key) != std::end(keys);
}

const KeyValue* find_key(const std::vector<KeyValue>& keys, const char* name) {
  for (const KeyValue& kv : keys)
    if (kv.key == name) return &kv;
  return nullptr;
}
}  // namespace

Login::Login(const TargetRegistry& registry, const TargetLimits& limits, std::string peer_address,
             SessionAdmission& admission)
    : registry_(registry),
      limits_(limits),
      peer_address_(std::move(peer_address)),
      admission_(admission),
      negotiator_(limits, false) {}

Login::Reply Login::fail(const Bhs& request, uint16_t status) {
  Reply reply = respond(request, false, 0, {});
  reply.bhs.b[36] = uint8_t(status >> 8);
  reply.bhs.b[37] = uint8_t(status);
  reply.bhs.b[1] = 0;
  reply.close = true;
  return reply;
}

Login::Reply Login::respond(const Bhs& request, bool transit, uint8_t nsg, std::string data) {
  Reply reply;
  Bhs& r = reply.bhs;
  r.set_opcode(op::kLoginResponse);
  r.set_flags(uint8_t((transit ? flag::kTransit : 0) | (stage_ << 2) | (transit ? nsg : 0)));
  r.b[2] = 0;                                                                 // Version-max
  r.b[3] = 0;                                                                 // Version-active
  std::copy(request.b.begin() + 8, request.b.begin() + 14, r.b.begin() + 8);  // ISID
  store16(&r.b[14], tsih_);
  r.set_itt(request.itt());
  r.set32(24, statsn_++);
  r.set32(28, exp_cmdsn_);
  r.set32(32, exp_cmdsn_ + (target_ != nullptr ? target_->queue_depth : 1) - 1);
  r.set_data_length(uint32_t(data.size()));
  reply.data = std::move(data);
  return reply;
}

uint16_t Login::first_pdu(const std::vector<KeyValue>& keys, std::string& response) {
  const KeyValue* name = find_key(keys, "InitiatorName");
  if (name == nullptr || name->value.empty()) return login_status::kMissingParameter;
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
  append_key(response, "TargetPortalGroupTag", std::to_string(kPortalGroupTag));
  return login_status::kSuccess;
}

Login::Reply Login::handle(const Bhs& request, const uint8_t* data, size_t length) {
  if (!started_) {
    // Version-max (byte 2) must reach our 0 and Version-min (byte 3) must not exceed it.
    if (request.b[3] > 0) return fail(request, login_status::kUnsupportedVersion);
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

  if (pending_text_.size() + length > kMaxLoginText)
    return fail(request, login_status::kOutOfResources);
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
  if (!parsed) return fail(request, login_status::kInitiatorError);

  std::string response;
  if (initiator_name_.empty()) {  // the first PDU's keys, even after a C-bit continuation
    started_ = true;
    uint16_t status = first_pdu(keys, response);
    if (status != login_status::kSuccess) return fail(request, status);
  }

  if (const KeyValue* auth = find_key(keys, "AuthMethod")) {
    if (stage_ != kStageSecurity) return fail(request, login_status::kInitiatorError);
    std::vector<std::string_view> offered = split_list(auth->value);
    if (std::find(offered.begin(), offered.end(), "None") == offered.end())
      return fail(request, login_status::kAuthenticationFailure);
    append_key(response, "AuthMethod", "None");
    auth_done_ = true;
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
    // Leaving security without AuthMethod: only allowed when none is required (ours: none).
    auth_done_ = true;
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
