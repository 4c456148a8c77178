// Operational parameter negotiation (RFC 7143 §6.2, §13): the target's answer
// to each key an initiator offers, and the values in force afterwards.
// Pure: no I/O, no session state beyond the parameters themselves.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"
#include "iscsi/text_keys.h"

namespace sharedisk::iscsi {

// What this target offers and accepts: lun.yaml's `iscsi` section as is
// (`digests`: CRC32C header/data digests offered to initiators).
using TargetLimits = config::Iscsi;

// Values in force for a session/connection; RFC 7143 defaults until negotiated.
struct SessionParams {
  bool header_digest = false;
  bool data_digest = false;
  uint32_t max_connections = 1;
  bool initial_r2t = true;
  bool immediate_data = true;
  uint32_t initiator_mrdsl = 8192;  // the most we may send in one PDU
  uint32_t target_mrdsl = 8192;     // the most we accept in one PDU (declared by us)
  uint32_t max_burst_length = 262144;
  uint32_t first_burst_length = 65536;
  uint32_t default_time2wait = 2;
  uint32_t default_time2retain = 20;
  uint32_t max_outstanding_r2t = 1;
  bool data_pdu_in_order = true;
  bool data_sequence_in_order = true;
  uint32_t error_recovery_level = 0;
};

class Negotiator {
 public:
  Negotiator(const TargetLimits& limits, bool discovery);

  // Answers every operational key of `keys` into `response`; keys that are
  // not operational (InitiatorName, TargetName, SessionType, AuthMethod, CHAP_*)
  // are skipped, the caller handles them. Returns false with `error` set when
  // the initiator broke a negotiation rule badly enough to fail the login.
  bool negotiate(const std::vector<KeyValue>& keys, std::string& response, std::string* error);

  // Declarations the target adds at the end of operational negotiation even
  // when not asked (MaxRecvDataSegmentLength, and values differing from the
  // defaults the initiator assumes).
  void finish(std::string& response);

  const SessionParams& params() const { return params_; }

 private:
  bool answer(const KeyValue& kv, std::string& response, std::string* error);
  TargetLimits limits_;
  bool discovery_;
  bool declared_mrdsl_ = false;
  std::vector<std::string> answered_;
  SessionParams params_;
};

// True for the keys Negotiator handles.
bool is_operational_key(const std::string& key);

}  // namespace sharedisk::iscsi
