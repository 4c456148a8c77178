// The parts of the lun.yaml schema, one reader per section; each throws
// ConfigError at the first broken rule. loader.cpp ties them together.
#pragma once

#include <map>
#include <string>

#include "config/config.h"
#include "config/yaml_view.h"

namespace sharedisk::config::detail {

inline constexpr uint64_t kMaxQueueDepth = 4096;

// Remembers where each unique value was first seen.
class Uniques {
 public:
  // `value` is the comparison key; `shown` (default: value) goes into the message.
  void add(const Reader& r, const Field& f, const std::string& value, const char* what,
           const std::string& shown = {}) {
    auto [it, inserted] = seen_.emplace(value, f.path);
    if (!inserted)
      r.fail(f, std::string(what) + " '" + (shown.empty() ? value : shown) +
                    "' is already used by " + it->second);
  }

 private:
  std::map<std::string, std::string> seen_;
};

// Values that must be unique across the whole file, not just one target.
struct FileWideUniques {
  Uniques target_names;
  Uniques backing_paths;
  Uniques serials;
  Uniques naas;
};

Iscsi read_iscsi(const Reader& r, const Field& f);
AuthSettings read_auth(const Reader& r, const Field& f);
Limits read_limits(const Reader& r, const Field& f);
AuthMode read_auth_mode(const Reader& r, const Field& f);
// `has_secrets_file`: auth.secrets_file is set, so a target may require CHAP.
Target read_target(const Reader& r, const Field& f, FileWideUniques& unique,
                   bool has_secrets_file = false);
Gateway read_gateway(const Reader& r, const Field& f);
Lun read_lun(const Reader& r, const Field& f, const std::string& target_iqn, Uniques& numbers,
             FileWideUniques& unique);

}  // namespace sharedisk::config::detail
