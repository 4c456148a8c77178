// The security parts of lun.yaml: the top-level `auth:` and `limits:`
// sections and the per-target `auth:` mode. Only the secrets file's name is
// read here; the daemon opens and checks the file itself.
#include "config/sections.h"

namespace sharedisk::config {

const char* to_string(AuthMode mode) {
  switch (mode) {
    case AuthMode::kNone:
      return "none";
    case AuthMode::kChap:
      return "chap";
    case AuthMode::kMutual:
      return "mutual";
  }
  return "?";
}

namespace detail {

AuthMode read_auth_mode(const Reader& r, const Field& f) {
  std::string v = r.text(f);
  if (v == "none") return AuthMode::kNone;
  if (v == "chap") return AuthMode::kChap;
  if (v == "mutual") return AuthMode::kMutual;
  r.fail(f, "must be one of none, chap, mutual (got '" + v + "')");
}

AuthSettings read_auth(const Reader& r, const Field& f) {
  MapView m(r, f, {"secrets_file", "discovery"});
  AuthSettings a;
  a.line = f.line;
  if (auto s = m.get("secrets_file")) {
    a.secrets_file = r.text(*s);
    if (a.secrets_file.empty()) r.fail(*s, "must not be empty");
  }
  if (auto d = m.get("discovery")) {
    a.discovery = read_auth_mode(r, *d);
    if (a.discovery != AuthMode::kNone && a.secrets_file.empty())
      r.fail(*d, std::string("discovery: ") + to_string(a.discovery) +
                     " needs auth.secrets_file (the CHAP credentials)");
  }
  return a;
}

Limits read_limits(const Reader& r, const Field& f) {
  MapView m(r, f,
            {"max_connections", "max_connections_per_address", "max_sessions_per_initiator",
             "max_login_text", "max_immediate_commands"});
  Limits l;
  auto u32 = [&](std::string_view key, uint32_t& out, uint64_t min, uint64_t max) {
    if (auto v = m.get(key)) out = static_cast<uint32_t>(r.number(*v, min, max));
  };
  u32("max_connections", l.max_connections, 1, 65536);
  u32("max_connections_per_address", l.max_connections_per_address, 1, 65536);
  u32("max_sessions_per_initiator", l.max_sessions_per_initiator, 1, 65535);
  // RFC 7143 section 6.3: every login PDU may carry 8192 bytes; a login must
  // at least fit in one PDU.
  u32("max_login_text", l.max_login_text, 8192, 1048576);
  u32("max_immediate_commands", l.max_immediate_commands, 1, 4096);
  return l;
}

}  // namespace detail
}  // namespace sharedisk::config
