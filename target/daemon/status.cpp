#include "daemon/status.h"

#include <spdlog/fmt/fmt.h>

#include <ctime>

#include "daemon/json_writer.h"

namespace sharedisk::daemon {

namespace {

using Sessions = std::vector<std::pair<iscsi::SessionInfo, std::shared_ptr<iscsi::Connection>>>;

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

void params_json(JsonWriter& j, const iscsi::SessionParams& p) {
  j.begin_object("params")
      .value("header_digest", std::string(p.header_digest ? "CRC32C" : "None"))
      .value("data_digest", std::string(p.data_digest ? "CRC32C" : "None"))
      .value("max_recv_data_segment_length_target", uint64_t(p.target_mrdsl))
      .value("max_recv_data_segment_length_initiator", uint64_t(p.initiator_mrdsl))
      .value("max_burst_length", uint64_t(p.max_burst_length))
      .value("first_burst_length", uint64_t(p.first_burst_length))
      .value("initial_r2t", p.initial_r2t)
      .value("immediate_data", p.immediate_data)
      .value("max_outstanding_r2t", uint64_t(p.max_outstanding_r2t))
      .value("max_connections", uint64_t(p.max_connections))
      .value("error_recovery_level", uint64_t(p.error_recovery_level))
      .value("default_time2wait", uint64_t(p.default_time2wait))
      .value("default_time2retain", uint64_t(p.default_time2retain))
      .end_object();
}

void session_json(JsonWriter& j, const iscsi::SessionInfo& s) {
  j.begin_object()
      .value("tsih", uint64_t(s.tsih))
      .value("initiator", s.key.initiator)
      .value("initiator_alias", s.initiator_alias)
      .value("isid", isid_text(s.key.isid))
      .value("address", s.peer)
      .value("portal_address", s.local)
      .value("event_loop", uint64_t(s.loop))
      .value("since", iso_time(s.since));
  params_json(j, s.params);
  j.end_object();
}

}  // namespace

std::string status_json(const DaemonState& state) {
  Sessions sessions = state.context.sessions.sessions();
  JsonWriter j;
  j.begin_object()
      .value("config", state.config.source)
      .value("uptime_s", uptime_s(state))
      .value("login_failures", state.context.login_failures.load(std::memory_order_relaxed))
      .value("reloads_ok", state.reloads_ok.load())
      .value("reloads_refused", state.reloads_refused.load());
  j.begin_array("portals");
  for (const auto& p : state.context.registry.portals()) j.value(p.to_string());
  j.end_array();
  j.begin_array("targets");
  for (const auto& t : state.context.registry.targets()) {
    auto [initiators, networks] = t->access();
    j.begin_object()
        .value("iqn", t->iqn)
        .value("alias", t->alias)
        .value("queue_depth", uint64_t(t->queue_depth));
    j.begin_object("access").begin_array("initiators");
    for (const auto& i : initiators) j.value(i);
    j.end_array().begin_array("networks");
    for (const auto& n : networks) j.value(n.text);
    j.end_array().end_object();
    j.begin_array("luns");
    for (const iscsi::LunInfo& l : t->luns()) {
      iscsi::IoTotals io = l.stats->totals();
      j.begin_object()
          .value("number", l.number)
          .value("type", l.type)
          .value("backing", l.backing)
          .value("size_bytes", l.size_bytes)
          .value("block_size", uint64_t(l.block_size))
          .value("read_only", l.read_only)
          .value("write_cache", l.write_cache)
          .value("io_mode", l.io_mode);
      if (!l.fault_control.empty()) j.value("fault_control", l.fault_control);
      j.begin_object("io")
          .value("read_ops", io.ops[0])
          .value("read_bytes", io.bytes[0])
          .value("write_ops", io.ops[1])
          .value("write_bytes", io.bytes[1])
          .value("other_ops", io.ops[2])
          .value("errors", io.errors)
          .end_object();
      j.end_object();
    }
    j.end_array();
    j.begin_array("sessions");
    for (const auto& [info, conn] : sessions)
      if (info.key.target == t->iqn) session_json(j, info);
    j.end_array();
    j.end_object();
  }
  j.end_array();
  j.begin_array("discovery_sessions");
  for (const auto& [info, conn] : sessions)
    if (info.key.target.empty()) session_json(j, info);
  j.end_array();
  j.end_object();
  return j.str() + "\n";
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
      out += fmt::format("          reads {} ({})  writes {} ({})  other {}  errors {}\n",
                         io.ops[0], human_bytes(io.bytes[0]), io.ops[1], human_bytes(io.bytes[1]),
                         io.ops[2], io.errors);
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
