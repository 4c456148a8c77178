#include "daemon/status.h"

#include <spdlog/fmt/fmt.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "blockdev/block_device.h"
#include "blockdev/rbd_stats.h"

namespace sharedisk::daemon {

namespace {

using Sessions =
    std::vector<std::pair<iscsi::SessionInfo, std::shared_ptr<iscsi::ConnectionEngine>>>;

std::string iso_time(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm;
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string isid_text(uint64_t isid) {
  return fmt::format("0x{:012x}", isid);
}

std::string human_bytes(uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = double(b);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", b) : fmt::format("{:.1f} {}", v, units[u]);
}

uint64_t uptime_s(const DaemonState& s) {
  return uint64_t(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - s.started)
          .count());
}

using Json = nlohmann::ordered_json;  // keys in the order written

Json params_json(const iscsi::SessionParams& p) {
  return {
      {"header_digest", p.header_digest ? "CRC32C" : "None"},
      {"data_digest", p.data_digest ? "CRC32C" : "None"},
      {"max_recv_data_segment_length_target", p.target_mrdsl},
      {"max_recv_data_segment_length_initiator", p.initiator_mrdsl},
      {"max_burst_length", p.max_burst_length},
      {"first_burst_length", p.first_burst_length},
      {"initial_r2t", p.initial_r2t},
      {"immediate_data", p.immediate_data},
      {"max_outstanding_r2t", p.max_outstanding_r2t},
      {"max_connections", p.max_connections},
      {"error_recovery_level", p.error_recovery_level},
      {"default_time2wait", p.default_time2wait},
      {"default_time2retain", p.default_time2retain},
  };
}

// Initiator names and aliases are what the initiator sent: they may not be UTF-8.
Json session_json(const iscsi::SessionInfo& s) {
  return {
      {"tsih", s.tsih},
      {"initiator", s.key.initiator},
      {"initiator_alias", s.initiator_alias},
      {"isid", isid_text(s.key.isid)},
      {"address", s.peer},
      {"portal_address", s.local},
      {"event_loop", s.loop},
      {"since", iso_time(s.since)},
      {"params", params_json(s.params)},
  };
}

// The gateway that has target port group `group` in lun.yaml's `gateway:`
// ("" without one).
std::string gateway_name(const DaemonState& state, uint16_t group) {
  if (!state.config.gateway) return "";
  const config::Gateway& g = *state.config.gateway;
  if (g.group == group) return g.name;
  for (const config::GatewayPeer& p : g.peers)
    if (p.group == group) return p.name;
  return "";
}

// `device` may be null: a node whose device is not built (tests render bare nodes).
Json alua_json(const DaemonState& state, const scsi::Device* device, uint64_t lun) {
  Json out = Json::array();
  if (device == nullptr) return out;
  for (const auto& g : device->alua_states(lun))
    out.push_back({{"group", g.group},
                   {"gateway", gateway_name(state, g.group)},
                   {"local", g.local},
                   {"state", scsi::to_string(g.state)}});
  return out;
}

// "group 1 gw-a (this gateway) active/optimized; group 2 gw-b active/non-optimized"
std::string alua_text(const DaemonState& state, const scsi::Device* device, uint64_t lun) {
  std::string out;
  if (device == nullptr) return out;
  for (const auto& g : device->alua_states(lun)) {
    std::string name = gateway_name(state, g.group);
    out += fmt::format("{}group {}{}{} {}", out.empty() ? "" : "; ", g.group,
                       name.empty() ? "" : " " + name, g.local ? " (this gateway)" : "",
                       scsi::to_string(g.state));
  }
  return out;
}

// The exclusive lock holder of an RBD LUN as `status` names it: "this
// gateway (gw-a, group 1)", "gw-b (group 2)", "nobody", "a client that is no
// gateway"; empty when the lock is not watched (no `gateway:` section, or
// the image lacks exclusive-lock).
std::string lock_owner_text(const DaemonState& state, const blockdev::RbdStats& rbd) {
  if (!rbd.owner_watched.load(std::memory_order_relaxed)) return "";
  using Holder = blockdev::LockOwner::Holder;
  auto holder = Holder(rbd.owner_holder.load(std::memory_order_relaxed));
  uint16_t group = rbd.owner_group.load(std::memory_order_relaxed);
  std::string name = gateway_name(state, group);
  switch (holder) {
    case Holder::kThisGateway:
      return fmt::format("this gateway ({}group {})", name.empty() ? "" : name + ", ", group);
    case Holder::kPeer:
      return fmt::format("{}group {}", name.empty() ? "" : name + " ", group);
    case Holder::kUnknown:
      return "a client that is no gateway";
    case Holder::kNobody:
      break;
  }
  return "nobody";
}

}  // namespace

std::string status_json(const DaemonState& state) {
  Sessions sessions = state.context.sessions.sessions();
  Json j = {
      {"config", state.config.source},
      {"uptime_s", uptime_s(state)},
      {"login_failures", state.context.login_failures.load(std::memory_order_relaxed)},
      {"reloads_ok", state.reloads_ok.load()},
      {"reloads_refused", state.reloads_refused.load()},
  };
  Json& portals = j["portals"] = Json::array();
  for (const auto& p : state.context.registry.portals()) portals.push_back(p.to_string());
  if (state.config.gateway) {
    const config::Gateway& g = *state.config.gateway;
    Json peers = Json::array();
    for (const config::GatewayPeer& p : g.peers)
      peers.push_back({{"name", p.name},
                       {"group", p.group},
                       {"relative_ports", p.relative_ports},
                       {"portal", p.portal ? p.portal->to_string() : ""}});
    j["gateway"] = {{"name", g.name},
                    {"group", g.group},
                    {"relative_ports", g.relative_ports},
                    {"peers", peers}};
  }
  Json& targets = j["targets"] = Json::array();
  for (const auto& t : state.context.registry.targets()) {
    auto [initiators, networks] = t->access();
    Json target = {{"iqn", t->iqn}, {"alias", t->alias}, {"queue_depth", t->queue_depth}};
    Json nets = Json::array();
    for (const auto& n : networks) nets.push_back(n.text);
    target["access"] = {{"initiators", initiators}, {"networks", nets}};
    Json& luns = target["luns"] = Json::array();
    for (const iscsi::LunInfo& l : t->luns()) {
      iscsi::IoTotals io = l.stats->totals();
      Json lun = {
          {"number", l.number},
          {"type", l.type},
          {"backing", l.backing},
          {"size_bytes", l.size_bytes},
          {"block_size", l.block_size},
          {"read_only", l.read_only},
          {"write_cache", l.write_cache},
          {"io_mode", l.io_mode},
          {"io",
           {{"read_ops", io.ops[0]},
            {"read_bytes", io.bytes[0]},
            {"write_ops", io.ops[1]},
            {"write_bytes", io.bytes[1]},
            {"other_ops", io.ops[2]},
            {"errors", io.errors}}},
      };
      if (!l.fault_control.empty()) lun["fault_control"] = l.fault_control;
      lun["alua"] = alua_json(state, t->device.get(), l.number);
      if (l.rbd) {
        lun["rbd"] = {{"ops", l.rbd->ops.load(std::memory_order_relaxed)},
                      {"errors", l.rbd->errors.load(std::memory_order_relaxed)},
                      {"timeouts", l.rbd->timeouts.load(std::memory_order_relaxed)},
                      {"latency_ns_total", l.rbd->latency_ns.load(std::memory_order_relaxed)}};
        std::string owner = lock_owner_text(state, *l.rbd);
        if (!owner.empty()) {
          auto holder = blockdev::LockOwner::Holder(l.rbd->owner_holder.load());
          lun["lock"] = {{"owner", owner},
                         {"this_gateway", holder == blockdev::LockOwner::Holder::kThisGateway},
                         {"owner_group", l.rbd->owner_group.load(std::memory_order_relaxed)},
                         {"owner_changes", l.rbd->owner_changes.load(std::memory_order_relaxed)},
                         {"acquired", l.rbd->lock_acquired.load(std::memory_order_relaxed)},
                         {"dwell_ms", l.rbd->lock_dwell_ms.load(std::memory_order_relaxed)},
                         {"held", l.rbd->held_now.load(std::memory_order_relaxed)},
                         {"held_total", l.rbd->held_total.load(std::memory_order_relaxed)}};
        }
      }
      luns.push_back(std::move(lun));
    }
    Json& list = target["sessions"] = Json::array();
    for (const auto& [info, conn] : sessions)
      if (info.key.target == t->iqn) list.push_back(session_json(info));
    targets.push_back(std::move(target));
  }
  Json& discovery = j["discovery_sessions"] = Json::array();
  for (const auto& [info, conn] : sessions)
    if (info.key.target.empty()) discovery.push_back(session_json(info));
  // Bytes that are not UTF-8 become U+FFFD instead of an exception: the output stays JSON.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string status_text(const DaemonState& state) {
  Sessions sessions = state.context.sessions.sessions();
  std::string out;
  out += fmt::format("sharedisk-target: {} target(s), {} session(s), up {} s, config {}\n",
                     state.context.registry.targets().size(), sessions.size(), uptime_s(state),
                     state.config.source);
  std::string portals;
  for (const auto& p : state.context.registry.portals())
    portals += (portals.empty() ? "" : ", ") + p.to_string();
  out += fmt::format("portals: {}   login failures: {}   reloads: {} ok, {} refused\n", portals,
                     state.context.login_failures.load(std::memory_order_relaxed),
                     state.reloads_ok.load(), state.reloads_refused.load());
  if (state.config.gateway) {
    const config::Gateway& g = *state.config.gateway;
    std::string peers;
    for (const config::GatewayPeer& p : g.peers)
      peers += fmt::format("{}{} (group {}{})", peers.empty() ? "" : ", ", p.name, p.group,
                           p.portal ? ", " + p.portal->to_string() : "");
    out += fmt::format("gateway {}: target port group {}; peers: {}\n", g.name, g.group,
                       peers.empty() ? "none" : peers);
  }
  for (const auto& t : state.context.registry.targets()) {
    auto [initiators, networks] = t->access();
    out += fmt::format("\ntarget {}{}\n", t->iqn, t->alias.empty() ? "" : "  (" + t->alias + ")");
    std::string acl;
    for (const auto& i : initiators) acl += (acl.empty() ? "" : " ") + i;
    std::string nets;
    for (const auto& n : networks) nets += (nets.empty() ? "" : " ") + n.text;
    out += fmt::format("  access: initiators {}; networks {}\n", acl.empty() ? "any" : acl,
                       nets.empty() ? "any" : nets);
    for (const iscsi::LunInfo& l : t->luns()) {
      iscsi::IoTotals io = l.stats->totals();
      out += fmt::format("  LUN {:<3} {:<6} {}  {} ({} bytes), {} B blocks, {}, {}{}\n", l.number,
                         l.type, l.backing, human_bytes(l.size_bytes), l.size_bytes, l.block_size,
                         l.io_mode, l.write_cache ? "write-back" : "write-through",
                         l.read_only ? ", read-only" : "");
      if (!l.fault_control.empty())
        out += fmt::format("          FAULT INJECTION (test build), control {}\n", l.fault_control);
      if (state.config.gateway)
        out += fmt::format("          alua: {}\n", alua_text(state, t->device.get(), l.number));
      out += fmt::format("          reads {} ({})  writes {} ({})  other {}  errors {}\n",
                         io.ops[0], human_bytes(io.bytes[0]), io.ops[1], human_bytes(io.bytes[1]),
                         io.ops[2], io.errors);
      if (l.rbd) {
        uint64_t ops = l.rbd->ops.load(std::memory_order_relaxed);
        uint64_t ns = l.rbd->latency_ns.load(std::memory_order_relaxed);
        out +=
            fmt::format("          rbd: requests {}  errors {}  timeouts {}  mean latency {} us\n",
                        ops, l.rbd->errors.load(std::memory_order_relaxed),
                        l.rbd->timeouts.load(std::memory_order_relaxed), ops ? ns / ops / 1000 : 0);
        std::string owner = lock_owner_text(state, *l.rbd);
        if (!owner.empty())
          out += fmt::format(
              "          lock owner: {}  (owner changes {}, taken by this gateway {})\n"
              "          owner dwell: {} ms  (writes held now {}, held since start {})\n",
              owner, l.rbd->owner_changes.load(std::memory_order_relaxed),
              l.rbd->lock_acquired.load(std::memory_order_relaxed),
              l.rbd->lock_dwell_ms.load(std::memory_order_relaxed),
              l.rbd->held_now.load(std::memory_order_relaxed),
              l.rbd->held_total.load(std::memory_order_relaxed));
      }
    }
    for (const auto& [s, conn] : sessions) {
      if (s.key.target != t->iqn) continue;
      const iscsi::SessionParams& p = s.params;
      out += fmt::format("  session tsih {} {} isid {} from {} (since {})\n", s.tsih,
                         s.key.initiator, isid_text(s.key.isid), s.peer, iso_time(s.since));
      out += fmt::format(
          "          digests {}/{}  mrdsl in/out {}/{}  burst first/max {}/{}  initial_r2t {}  "
          "immediate_data {}  max_r2t {}\n",
          p.header_digest ? "CRC32C" : "None", p.data_digest ? "CRC32C" : "None", p.target_mrdsl,
          p.initiator_mrdsl, p.first_burst_length, p.max_burst_length, p.initial_r2t ? "yes" : "no",
          p.immediate_data ? "yes" : "no", p.max_outstanding_r2t);
    }
  }
  size_t discovery = 0;
  for (const auto& [s, conn] : sessions) discovery += s.key.target.empty();
  if (discovery > 0) out += fmt::format("\ndiscovery sessions: {}\n", discovery);
  return out;
}

}  // namespace sharedisk::daemon
