// Who must authenticate how, and who may only read: the CHAP credentials from
// the secrets file named by lun.yaml's auth.secrets_file, combined with each
// target's auth mode and read-only initiators, and discovery's auth mode.
//
// Secrets file format (one credential per line, '#' starts a comment):
//     <scope> <direction> <user> <secret>
//   scope:     a target IQN, "discovery", or "*" (targets without own lines)
//   direction: "in"  - a user/secret an initiator may log in with
//              "out" - the target's own user/secret for mutual CHAP (one per scope)
// The file must be a regular file owned by the daemon's user (or root) with
// no group/other permission bits (0600 or 0400). Secrets are 12 to 255 bytes
// without blanks; an "out" secret may not equal any "in" secret (RFC 7143
// §9.2.1). Errors name the file and line, never a secret.
//
// SecurityPolicyHolder lets connections take the policy in force (a
// shared_ptr) while a reload swaps in a new one.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.h"
#include "iscsi/chap.h"

namespace sharedisk::iscsi {

struct ChapSecretLine {
  std::string scope;  // lower-case IQN, "discovery" or "*"
  bool outgoing = false;
  ChapCredential credential;
};

// Reads and checks the secrets file; throws std::runtime_error("file:line: ...").
std::vector<ChapSecretLine> load_chap_secrets(const std::string& path);
// The same checks on text already read (tests, fuzzing); `name` is for messages.
std::vector<ChapSecretLine> parse_chap_secrets(const std::string& text, const std::string& name);

struct TargetSecurity {
  AuthPolicy auth;
  std::vector<std::string> read_only_initiators;  // compared ignoring case
  bool read_only_for(const std::string& initiator) const;
};

struct SecurityPolicy {
  AuthPolicy discovery;
  std::map<std::string, TargetSecurity> targets;  // key: lower-case IQN
  // Null when the target has no entry (no auth, nobody read-only).
  const TargetSecurity* find(const std::string& iqn) const;
};

// Builds the policy of `config`, reading its secrets file when one is named.
// Throws std::runtime_error when a target or discovery requires CHAP but the
// file has no credential for it (or no "out" line for mutual).
std::shared_ptr<const SecurityPolicy> build_security_policy(const config::Config& config);
// The same from already loaded secret lines.
std::shared_ptr<const SecurityPolicy> build_security_policy(
    const config::Config& config, const std::vector<ChapSecretLine>& secrets);

class SecurityPolicyHolder {
 public:
  SecurityPolicyHolder() : policy_(std::make_shared<SecurityPolicy>()) {}
  std::shared_ptr<const SecurityPolicy> get() const {
    std::lock_guard lock(mutex_);
    return policy_;
  }
  void set(std::shared_ptr<const SecurityPolicy> policy) {
    std::lock_guard lock(mutex_);
    policy_ = std::move(policy);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const SecurityPolicy> policy_;
};

}  // namespace sharedisk::iscsi
