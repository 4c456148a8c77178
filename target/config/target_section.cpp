// One entry of `targets:`: name, alias, queue depth, access lists and LUNs.
#include "config/config_internal.h"
#include "config/sections.h"
#include "util/ascii.h"

namespace sharedisk::config::detail {
namespace {

constexpr size_t kMaxAlias = 255;

void read_access(const Reader& r, const Field& f, Target& t) {
  MapView m(r, f, {"initiators", "networks", "read_only_initiators"});
  if (auto list = m.get("initiators")) {
    Uniques seen;
    for (const Field& item : r.list(*list)) {
      std::string name = r.text(item);
      if (auto err = check_iscsi_name(name); !err.empty()) r.fail(item, err);
      seen.add(r, item, util::to_lower(name), "initiator");
      t.allowed_initiators.push_back(name);
    }
  }
  if (auto list = m.get("networks")) {
    Uniques seen;
    for (const Field& item : r.list(*list)) {
      Network n;
      if (auto err = parse_network(r.text(item), n); !err.empty()) r.fail(item, err);
      std::string key(reinterpret_cast<const char*>(n.addr), sizeof n.addr);
      key += static_cast<char>(n.prefix);
      key += n.v6 ? '6' : '4';
      seen.add(r, item, key, "network", n.text);
      t.allowed_networks.push_back(n);
    }
  }
  if (auto list = m.get("read_only_initiators")) {
    Uniques seen;
    for (const Field& item : r.list(*list)) {
      std::string name = r.text(item);
      if (auto err = check_iscsi_name(name); !err.empty()) r.fail(item, err);
      seen.add(r, item, util::to_lower(name), "initiator");
      bool allowed = t.allowed_initiators.empty();
      for (const std::string& a : t.allowed_initiators)
        if (util::to_lower(a) == util::to_lower(name)) allowed = true;
      if (!allowed)
        r.fail(item, "'" + name + "' is not in access.initiators, so it could never log in");
      t.read_only_initiators.push_back(name);
    }
  }
}

}  // namespace

Target read_target(const Reader& r, const Field& f, FileWideUniques& unique,
                   bool has_secrets_file) {
  MapView m(r, f, {"iqn", "alias", "queue_depth", "luns", "access", "auth"});
  Target t;
  t.line = f.line;
  Field iqn = m.require("iqn");
  t.iqn = r.text(iqn);
  if (auto err = check_iscsi_name(t.iqn); !err.empty()) r.fail(iqn, err);
  unique.target_names.add(r, iqn, util::to_lower(t.iqn), "target name");
  if (auto a = m.get("alias")) {
    t.alias = r.text(*a);
    if (t.alias.empty() || t.alias.size() > kMaxAlias) r.fail(*a, "must be 1 to 255 bytes long");
    for (unsigned char c : t.alias)
      if (c < 0x20 || c == 0x7f) r.fail(*a, "must not contain control characters");
    if (!valid_utf8(t.alias)) r.fail(*a, "must be valid UTF-8");
  }
  if (auto q = m.get("queue_depth"))
    t.queue_depth = static_cast<uint32_t>(r.number(*q, 1, kMaxQueueDepth));
  if (auto a = m.get("access")) read_access(r, *a, t);
  if (auto a = m.get("auth")) {
    t.auth = read_auth_mode(r, *a);
    if (t.auth != AuthMode::kNone && !has_secrets_file)
      r.fail(*a, std::string(to_string(t.auth)) +
                     " needs auth.secrets_file at the top level (the CHAP credentials)");
  }
  Uniques numbers;
  for (const Field& l : r.list(m.require("luns")))
    t.luns.push_back(read_lun(r, l, t.iqn, numbers, unique));
  return t;
}

}  // namespace sharedisk::config::detail
