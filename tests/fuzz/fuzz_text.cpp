// libFuzzer: login/text key=value data (RFC 7143 §6) and operational
// negotiation. The first byte picks discovery/normal and target offers; the
// rest is text data. Parsed keys go through the Negotiator, and every value
// through the number, boolean, list and CHAP binary decoders.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "iscsi/chap.h"
#include "iscsi/negotiation.h"
#include "iscsi/text_keys.h"

using namespace sharedisk::iscsi;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint8_t mode = data[0];
  std::vector<KeyValue> keys;
  std::string error;
  if (!parse_text(data + 1, size - 1, &keys, &error)) return 0;
  for (const KeyValue& kv : keys) {
    if (kv.key.empty() || kv.key.size() > kMaxKeyName || kv.value.size() > kMaxValue) std::abort();
    uint64_t n = 0;
    bool b = false;
    parse_number(kv.value, &n);
    parse_bool(kv.value, &b);
    if (split_list(kv.value).empty()) std::abort();
    std::vector<uint8_t> bin;
    if (chap::decode_binary(kv.value, &bin) && (bin.empty() || bin.size() > chap::kMaxBinaryLength))
      std::abort();
  }
  TargetLimits limits;
  limits.digests = mode & 1;
  limits.initial_r2t = mode & 2;
  limits.immediate_data = mode & 4;
  Negotiator negotiator(limits, mode & 8);
  std::string response;
  bool ok = negotiator.negotiate(keys, response, &error);
  if (ok) negotiator.finish(response);
  std::vector<KeyValue> answered;
  if (!parse_text(reinterpret_cast<const uint8_t*>(response.data()), response.size(), &answered,
                  &error))
    std::abort();  // the target's own answer must always parse
  const SessionParams& p = negotiator.params();
  if (ok && p.first_burst_length > p.max_burst_length) std::abort();
  if (p.max_connections != 1 || p.error_recovery_level != 0) std::abort();
  if ((p.header_digest || p.data_digest) && !limits.digests) std::abort();
  return 0;
}
