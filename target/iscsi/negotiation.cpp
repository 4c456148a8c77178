#include "iscsi/negotiation.h"

#include <algorithm>

namespace sharedisk::iscsi {

namespace {

constexpr const char* kOperationalKeys[] = {
    "HeaderDigest",
    "DataDigest",
    "MaxConnections",
    "InitialR2T",
    "ImmediateData",
    "MaxRecvDataSegmentLength",
    "MaxBurstLength",
    "FirstBurstLength",
    "DefaultTime2Wait",
    "DefaultTime2Retain",
    "MaxOutstandingR2T",
    "DataPDUInOrder",
    "DataSequenceInOrder",
    "ErrorRecoveryLevel",
    "OFMarker",
    "IFMarker",
    "OFMarkInt",
    "IFMarkInt",
    "TaskReporting",
    "iSCSIProtocolLevel",
};

// Keys declared by the initiator that the target only takes note of.
constexpr const char* kNoteKeys[] = {"InitiatorAlias", "TargetAlias", "TargetAddress",
                                     "TargetPortalGroupTag"};

const char* yes_no(bool v) {
  return v ? "Yes" : "No";
}

bool numeric_in(const std::string& value, uint64_t lo, uint64_t hi, uint64_t* out) {
  return parse_number(value, out) && *out >= lo && *out <= hi;
}

}  // namespace

bool is_operational_key(const std::string& key) {
  return std::find(std::begin(kOperationalKeys), std::end(kOperationalKeys), key) !=
         std::end(kOperationalKeys);
}

Negotiator::Negotiator(const TargetLimits& limits, bool discovery)
    : limits_(limits), discovery_(discovery) {
  params_.target_mrdsl = limits.max_recv_data_segment_length;
}

bool Negotiator::negotiate(const std::vector<KeyValue>& keys, std::string& response,
                           std::string* error) {
  for (const KeyValue& kv : keys) {
    bool operational = is_operational_key(kv.key);
    bool note =
        std::find(std::begin(kNoteKeys), std::end(kNoteKeys), kv.key) != std::end(kNoteKeys);
    if (!operational && !note) continue;  // the login layer's keys, or unknown (answered there)
    if (note) continue;
    if (std::find(answered_.begin(), answered_.end(), kv.key) != answered_.end()) {
      *error = "key negotiated twice: " + kv.key;
      return false;
    }
    answered_.push_back(kv.key);
    if (!answer(kv, response, error)) return false;
  }
  return true;
}

bool Negotiator::answer(const KeyValue& kv, std::string& response, std::string* error) {
  const std::string& key = kv.key;
  const std::string& value = kv.value;
  uint64_t n = 0;
  bool b = false;
  if (key == "HeaderDigest" || key == "DataDigest") {
    // A list in order of preference; answer the first value we support.
    std::string choice;
    for (std::string_view v : split_list(value)) {
      if (v == "None" || (v == "CRC32C" && limits_.digests)) {
        choice = std::string(v);
        break;
      }
    }
    if (choice.empty()) {
      append_key(response, key, "Reject");
      *error = key + ": no acceptable value in " + value;
      return false;
    }
    (key == "HeaderDigest" ? params_.header_digest : params_.data_digest) = choice == "CRC32C";
    append_key(response, key, choice);
  } else if (discovery_ &&
             (key == "MaxConnections" || key == "InitialR2T" || key == "ImmediateData")) {
    append_key(response, key, "Irrelevant");  // RFC 7143 §13: not used by discovery sessions
  } else if (key == "MaxConnections") {
    if (!numeric_in(value, 1, 65535, &n)) return append_key(response, key, "Reject"), true;
    params_.max_connections = 1;
    append_key(response, key, "1");
  } else if (key == "InitialR2T") {
    if (!parse_bool(value, &b)) return append_key(response, key, "Reject"), true;
    params_.initial_r2t = b || limits_.initial_r2t;  // OR
    append_key(response, key, yes_no(params_.initial_r2t));
  } else if (key == "ImmediateData") {
    if (!parse_bool(value, &b)) return append_key(response, key, "Reject"), true;
    params_.immediate_data = b && limits_.immediate_data;  // AND
    append_key(response, key, yes_no(params_.immediate_data));
  } else if (key == "MaxRecvDataSegmentLength") {
    // Declarative: the initiator states what it can receive; we state ours.
    if (!numeric_in(value, 512, 16777215, &n)) {
      // The key is answered now; finish() must not add it a second time.
      declared_mrdsl_ = true;
      return append_key(response, key, "Reject"), true;
    }
    params_.initiator_mrdsl = uint32_t(n);
    append_key(response, key, std::to_string(limits_.max_recv_data_segment_length));
    declared_mrdsl_ = true;
  } else if (key == "MaxBurstLength" || key == "FirstBurstLength") {
    if (discovery_) return append_key(response, key, "Irrelevant"), true;
    if (!numeric_in(value, 512, 16777215, &n)) return append_key(response, key, "Reject"), true;
    bool max = key == "MaxBurstLength";
    uint32_t v = uint32_t(
        std::min<uint64_t>(n, max ? limits_.max_burst_length : limits_.first_burst_length));
    (max ? params_.max_burst_length : params_.first_burst_length) = v;
    append_key(response, key, std::to_string(v));
  } else if (key == "DefaultTime2Wait") {
    if (!numeric_in(value, 0, 3600, &n)) return append_key(response, key, "Reject"), true;
    params_.default_time2wait = uint32_t(std::max<uint64_t>(n, limits_.default_time2wait));  // max
    append_key(response, key, std::to_string(params_.default_time2wait));
  } else if (key == "DefaultTime2Retain") {
    if (!numeric_in(value, 0, 3600, &n)) return append_key(response, key, "Reject"), true;
    params_.default_time2retain =
        uint32_t(std::min<uint64_t>(n, limits_.default_time2retain));  // min
    append_key(response, key, std::to_string(params_.default_time2retain));
  } else if (key == "MaxOutstandingR2T") {
    if (discovery_) return append_key(response, key, "Irrelevant"), true;
    if (!numeric_in(value, 1, 65535, &n)) return append_key(response, key, "Reject"), true;
    params_.max_outstanding_r2t = uint32_t(std::min<uint64_t>(n, limits_.max_outstanding_r2t));
    append_key(response, key, std::to_string(params_.max_outstanding_r2t));
  } else if (key == "DataPDUInOrder" || key == "DataSequenceInOrder") {
    if (discovery_) return append_key(response, key, "Irrelevant"), true;
    if (!parse_bool(value, &b)) return append_key(response, key, "Reject"), true;
    // OR: we require in-order data, so the result is always Yes.
    (key == "DataPDUInOrder" ? params_.data_pdu_in_order : params_.data_sequence_in_order) = true;
    append_key(response, key, "Yes");
  } else if (key == "ErrorRecoveryLevel") {
    if (!numeric_in(value, 0, 2, &n)) return append_key(response, key, "Reject"), true;
    params_.error_recovery_level = 0;  // min(offer, 0)
    append_key(response, key, "0");
  } else if (key == "OFMarker" || key == "IFMarker") {
    if (!parse_bool(value, &b)) return append_key(response, key, "Reject"), true;
    append_key(response, key, "No");  // AND with our No
  } else if (key == "OFMarkInt" || key == "IFMarkInt") {
    append_key(response, key, "Irrelevant");  // markers are never enabled
  } else if (key == "TaskReporting") {
    append_key(response, key, "RFC3720");
  } else if (key == "iSCSIProtocolLevel") {
    if (!numeric_in(value, 0, 31, &n)) return append_key(response, key, "Reject"), true;
    append_key(response, key, n == 0 ? "0" : "1");  // min(offer, 1): RFC 7143 is level 1
  }
  return true;
}

void Negotiator::finish(std::string& response) {
  if (!declared_mrdsl_) {
    append_key(response, "MaxRecvDataSegmentLength",
               std::to_string(limits_.max_recv_data_segment_length));
    declared_mrdsl_ = true;
  }
  params_.target_mrdsl = limits_.max_recv_data_segment_length;
  if (params_.first_burst_length > params_.max_burst_length)
    params_.first_burst_length = params_.max_burst_length;
}

}  // namespace sharedisk::iscsi
