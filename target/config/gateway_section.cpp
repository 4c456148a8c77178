// `gateway:`: this gateway's ALUA target port group and relative target ports,
// and its peers'. Two gateways claiming one group or one relative target port
// identifier would make initiators mix up paths, so that is refused here.
#include <map>

#include "config/config_internal.h"
#include "config/sections.h"

namespace sharedisk::config::detail {
namespace {

constexpr size_t kMaxName = 64;
constexpr size_t kMaxPorts = 16;
// Longer would add more than the failover goal allows to a write after a move.
constexpr uint64_t kMaxLockDwellMs = 5000;

std::string read_name(const Reader& r, const Field& f) {
  std::string v = r.text(f);
  if (v.empty() || v.size() > kMaxName || !printable_ascii(v, 0x21))
    r.fail(f, "must be 1 to 64 printable ASCII characters without spaces (got '" + v + "')");
  return v;
}

// Who claimed each group and relative target port, for the refusal message.
class Claims {
 public:
  void group(const Reader& r, const Field& f, uint16_t id, const std::string& gateway) {
    claim(r, f, groups_, id, "target port group", gateway);
  }
  void port(const Reader& r, const Field& f, uint16_t id, const std::string& gateway) {
    claim(r, f, ports_, id, "relative target port", gateway);
  }

 private:
  using Seen = std::map<uint16_t, std::pair<std::string, std::string>>;  // id -> gateway, key
  static void claim(const Reader& r, const Field& f, Seen& seen, uint16_t id, const char* what,
                    const std::string& gateway) {
    auto [it, inserted] = seen.emplace(id, std::make_pair(gateway, f.path));
    if (!inserted)
      r.fail(f, std::string(what) + " " + std::to_string(id) + " is already claimed by gateway '" +
                    it->second.first + "' (" + it->second.second + ")");
  }
  Seen groups_;
  Seen ports_;
};

// group, relative_ports (default {group}); claims both.
void read_ids(const Reader& r, const MapView& m, const std::string& name, Claims& claims,
              uint16_t& group, std::vector<uint16_t>& ports) {
  Field g = m.require("group");
  group = static_cast<uint16_t>(r.number(g, 1, 65535));
  claims.group(r, g, group, name);
  ports.clear();
  if (auto list = m.get("relative_ports")) {
    std::vector<Field> items = r.list(*list);
    if (items.empty()) r.fail(*list, "needs at least one relative target port identifier");
    if (items.size() > kMaxPorts) r.fail(*list, "at most 16 relative target ports per gateway");
    for (const Field& item : items) {
      uint16_t id = static_cast<uint16_t>(r.number(item, 1, 65535));
      claims.port(r, item, id, name);
      ports.push_back(id);
    }
  } else {
    claims.port(r, g, group, name);
    ports.push_back(group);
  }
}

}  // namespace

Gateway read_gateway(const Reader& r, const Field& f) {
  MapView m(r, f, {"name", "group", "relative_ports", "peers", "lock_dwell_ms"});
  Gateway gw;
  gw.line = f.line;
  Field name = m.require("name");
  gw.name = read_name(r, name);
  Uniques names;
  names.add(r, name, gw.name, "gateway name");
  Claims claims;
  read_ids(r, m, gw.name, claims, gw.group, gw.relative_ports);
  if (auto dwell = m.get("lock_dwell_ms"))
    gw.lock_dwell_ms = static_cast<uint32_t>(r.number(*dwell, 0, kMaxLockDwellMs));
  if (auto peers = m.get("peers")) {
    for (const Field& p : r.list(*peers)) {
      MapView pm(r, p, {"name", "group", "relative_ports", "portal"});
      GatewayPeer peer;
      peer.line = p.line;
      Field pn = pm.require("name");
      peer.name = read_name(r, pn);
      names.add(r, pn, peer.name, "gateway name");
      read_ids(r, pm, peer.name, claims, peer.group, peer.relative_ports);
      if (auto portal = pm.get("portal")) {
        Endpoint e;
        if (auto err = parse_endpoint(r.text(*portal), 3260, e); !err.empty()) r.fail(*portal, err);
        peer.portal = e;
      }
      gw.peers.push_back(std::move(peer));
    }
  }
  return gw;
}

}  // namespace sharedisk::config::detail

namespace sharedisk::config {

bool Gateway::operator==(const Gateway& o) const {
  if (name != o.name || group != o.group || relative_ports != o.relative_ports ||
      lock_dwell_ms != o.lock_dwell_ms || peers.size() != o.peers.size())
    return false;
  for (size_t i = 0; i < peers.size(); ++i) {
    const GatewayPeer& a = peers[i];
    const GatewayPeer& b = o.peers[i];
    std::string pa = a.portal ? a.portal->to_string() : "";
    std::string pb = b.portal ? b.portal->to_string() : "";
    if (a.name != b.name || a.group != b.group || a.relative_ports != b.relative_ports || pa != pb)
      return false;
  }
  return true;
}

}  // namespace sharedisk::config
