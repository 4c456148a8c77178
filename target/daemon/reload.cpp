#include "daemon/reload.h"

#include <spdlog/spdlog.h>

#include <map>

#include "daemon/target_builder.h"

namespace sharedisk::daemon {

namespace {

bool same_lun(const config::Lun& a, const config::Lun& b) {
  return a.number == b.number && a.type == b.type && a.path == b.path && a.size == b.size &&
         a.block_size == b.block_size && a.read_only == b.read_only &&
         a.write_cache == b.write_cache && a.direct == b.direct && a.thin == b.thin &&
         a.serial == b.serial && a.naa == b.naa && a.serial_pinned == b.serial_pinned &&
         a.naa_pinned == b.naa_pinned && a.product == b.product && a.rbd == b.rbd &&
         a.fault_control == b.fault_control;
}

// Alias and queue depth are fixed for a node's life (logins read them without
// a lock); a change rebuilds the target. LUNs change in place.
bool same_node(const config::Target& a, const config::Target& b, const config::Config& ca,
               const config::Config& cb) {
  uint32_t qa = a.queue_depth ? a.queue_depth : ca.iscsi.queue_depth;
  uint32_t qb = b.queue_depth ? b.queue_depth : cb.iscsi.queue_depth;
  return a.alias == b.alias && qa == qb;
}

const config::Lun* find_lun(const config::Target& t, uint64_t number) {
  for (const auto& l : t.luns)
    if (l.number == number) return &l;
  return nullptr;
}

std::vector<std::string> network_texts(const std::vector<config::Network>& n) {
  std::vector<std::string> out;
  for (const auto& x : n) out.push_back(x.text);
  return out;
}

bool same_access(const config::Target& a, const config::Target& b) {
  return a.allowed_initiators == b.allowed_initiators &&
         network_texts(a.allowed_networks) == network_texts(b.allowed_networks);
}

const config::Target* find_target(const config::Config& c, const std::string& iqn) {
  for (const auto& t : c.targets)
    if (t.iqn == iqn) return &t;
  return nullptr;
}

std::vector<std::string> restart_only_changes(const config::Config& a, const config::Config& b) {
  std::vector<std::string> out;
  auto eps = [](const std::vector<config::Endpoint>& v) {
    std::vector<std::string> s;
    for (const auto& e : v) s.push_back(e.to_string());
    return s;
  };
  if (eps(a.portals) != eps(b.portals)) out.push_back("portals");
  if (a.threads != b.threads) out.push_back("threads");
  if (a.iscsi != b.iscsi) out.push_back("iscsi");
  if (a.admin_socket != b.admin_socket) out.push_back("admin_socket");
  bool ma = a.metrics.listen.has_value(), mb = b.metrics.listen.has_value();
  if (ma != mb || (ma && a.metrics.listen->to_string() != b.metrics.listen->to_string()))
    out.push_back("metrics.listen");
  if (a.state_dir != b.state_dir) out.push_back("state_dir");
  // Target port groups are part of every nexus and LUN (ALUA state).
  if (a.gateway != b.gateway) out.push_back("gateway");
  return out;
}

void close_sessions(DaemonState& state, const std::string& iqn, const char* why,
                    const iscsi::TargetNode* keep_if_allowed) {
  for (auto& [info, conn] : state.context.sessions.sessions()) {
    if (info.key.target != iqn) continue;
    if (keep_if_allowed && keep_if_allowed->allows(info.key.initiator, info.peer)) continue;
    spdlog::info("reload: closing session tsih {} of {} to {}", info.tsih, info.key.initiator, iqn);
    conn->post_close(why);
  }
}

}  // namespace

ReloadPlan plan_reload(const config::Config& cur, const config::Config& next) {
  ReloadPlan plan;
  for (const config::Target& t : cur.targets)
    if (find_target(next, t.iqn) == nullptr) plan.removed.push_back(&t);
  for (const config::Target& t : next.targets) {
    const config::Target* old = find_target(cur, t.iqn);
    if (old == nullptr) {
      plan.added.push_back(&t);
      continue;
    }
    if (!same_node(*old, t, cur, next)) {
      plan.rebuilt.push_back(&t);
      continue;
    }
    if (!same_access(*old, t)) plan.access_changed.push_back(&t);
    ReloadPlan::Luns c{&t, {}, {}, {}};
    for (const config::Lun& l : old->luns)
      if (find_lun(t, l.number) == nullptr) c.removed.push_back(l.number);
    for (const config::Lun& l : t.luns) {
      const config::Lun* before = find_lun(*old, l.number);
      if (before != nullptr && same_lun(*before, l)) continue;
      (before ? c.replaced : c.added).push_back(&l);
    }
    if (!c.removed.empty() || !c.added.empty() || !c.replaced.empty())
      plan.luns.push_back(std::move(c));
  }
  plan.restart = restart_only_changes(cur, next);
  plan.log_level_changed = next.log_level != cur.log_level;
  return plan;
}

std::vector<std::string> describe(const ReloadPlan& plan, const config::Config& next) {
  std::vector<std::string> lines;
  for (const config::Target* t : plan.removed)
    lines.push_back("remove target " + t->iqn + " (its sessions are closed)");
  for (const config::Target* t : plan.added)
    lines.push_back("add target " + t->iqn + " (" + std::to_string(t->luns.size()) + " LUN(s))");
  for (const config::Target* t : plan.rebuilt)
    lines.push_back("rebuild target " + t->iqn + " (alias or queue depth changed; " +
                    std::to_string(t->luns.size()) + " LUN(s); its sessions are closed)");
  for (const ReloadPlan::Luns& c : plan.luns) {
    std::string what;
    for (uint64_t n : c.removed) what += " remove LUN " + std::to_string(n) + ";";
    for (const config::Lun* l : c.replaced)
      what += " replace LUN " + std::to_string(l->number) + " (" +
              (l->path.empty() ? std::string("memory") : l->path) + ");";
    for (const config::Lun* l : c.added)
      what += " add LUN " + std::to_string(l->number) + " (" +
              (l->path.empty() ? std::string("memory") : l->path) + ");";
    what.pop_back();
    lines.push_back("target " + c.target->iqn + ":" + what + " (sessions kept)");
  }
  for (const config::Target* t : plan.access_changed)
    lines.push_back("change access list of " + t->iqn +
                    " (only sessions it no longer allows are closed)");
  for (const std::string& key : plan.restart)
    lines.push_back(key + " changed: needs a restart, running value kept");
  if (plan.log_level_changed) lines.push_back("set log_level to " + next.log_level);
  if (lines.empty()) lines.push_back("no change");
  return lines;
}

namespace {

// Re-reads the running daemon's file with the command-line overrides; false with the
// reason when there is no file or it is refused.
bool load_next(const DaemonState& state, config::Config* next, std::string* why) {
  const std::string& source = state.config.source;
  if (source.empty() || source.front() == '<') {
    *why = "reload refused: the daemon runs the embedded demo, no file to re-read";
    return false;
  }
  try {
    *next = config::load_file(source);
    state.overrides.apply(*next);
  } catch (const config::ConfigError& e) {
    *why = std::string("reload refused, running configuration kept: ") + e.what();
    return false;
  }
  return true;
}

}  // namespace

ReloadResult dry_run(const DaemonState& state) {
  config::Config next;
  std::string why;
  if (!load_next(state, &next, &why)) return {false, "dry run: " + why + "\n"};
  ReloadPlan plan = plan_reload(state.config, next);
  // The backings a reload would open are checked (not opened, nothing created).
  std::vector<std::string> problems;
  auto check = [&](const config::Target& t, const config::Lun& l) {
    std::string p = precheck_backing(l, t.iqn);
    if (!p.empty()) problems.push_back(p);
  };
  for (const config::Target* t : plan.added)
    for (const config::Lun& l : t->luns) check(*t, l);
  for (const config::Target* t : plan.rebuilt)
    for (const config::Lun& l : t->luns) check(*t, l);
  for (const ReloadPlan::Luns& c : plan.luns) {
    for (const config::Lun* l : c.added) check(*c.target, *l);
    for (const config::Lun* l : c.replaced) check(*c.target, *l);
  }
  ReloadResult r;
  if (!problems.empty()) {
    r.message = "dry run: nothing changed; a reload would be refused:\n";
    for (const std::string& p : problems) r.message += "  " + p + "\n";
    return r;
  }
  r.ok = true;
  r.message = "dry run: nothing changed; a reload of " + state.config.source + " would:\n";
  for (const std::string& l : describe(plan, next)) r.message += "  " + l + "\n";
  return r;
}

ReloadResult reload(DaemonState& state) {
  config::Config next;
  std::string why;
  if (!load_next(state, &next, &why)) {
    spdlog::error("{}", why);
    state.reloads_refused++;
    return {false, why};
  }
  return apply(state, std::move(next));
}

ReloadResult apply(DaemonState& state, config::Config next) {
  const config::Config& cur = state.config;
  ReloadResult result;
  std::vector<std::string> lines;

  // 1. Open every new backing store and build every new target first; any
  //    failure changes nothing.
  struct Rebuilt {
    std::shared_ptr<iscsi::TargetNode> node;
    bool added;
  };
  struct LunChanges {  // applied to the running node, its sessions stay
    iscsi::TargetNode* node;
    std::vector<uint64_t> removed;
    std::vector<PreparedLun> added, replaced;
  };
  std::vector<Rebuilt> rebuilt;
  std::vector<LunChanges> in_place;
  std::shared_ptr<const iscsi::SecurityPolicy> security;
  config::Config with_running_globals = next;
  with_running_globals.iscsi = cur.iscsi;
  with_running_globals.state_dir = cur.state_dir;
  with_running_globals.gateway = cur.gateway;
  const ReloadPlan plan = plan_reload(cur, next);
  auto kept_stats = [&](const std::string& iqn) {
    std::map<uint64_t, std::shared_ptr<iscsi::LunIoStats>> keep;
    if (const iscsi::TargetNode* running = state.context.registry.find(iqn))
      for (const iscsi::LunInfo& l : running->luns()) keep[l.number] = l.stats;
    return keep;
  };
  try {
    // CHAP secrets re-read and checked like at start; logged-in sessions keep going.
    security = iscsi::build_security_policy(next);
    for (const config::Target* t : plan.added)
      rebuilt.push_back({build_target(with_running_globals, *t, state.loops), true});
    for (const config::Target* t : plan.rebuilt)
      rebuilt.push_back(
          {build_target(with_running_globals, *t, state.loops, kept_stats(t->iqn)), false});
    for (const ReloadPlan::Luns& p : plan.luns) {
      iscsi::TargetNode* running = state.context.registry.find(p.target->iqn);
      if (running == nullptr) continue;  // cannot happen: the registry follows the config
      auto keep = kept_stats(p.target->iqn);
      LunChanges c{running, p.removed, {}, {}};
      for (const config::Lun* l : p.replaced)
        c.replaced.push_back(
            prepare_lun(with_running_globals, *p.target, *l, unsigned(state.loops.size()), keep));
      for (const config::Lun* l : p.added)
        c.added.push_back(
            prepare_lun(with_running_globals, *p.target, *l, unsigned(state.loops.size()), keep));
      in_place.push_back(std::move(c));
    }
  } catch (const std::exception& e) {
    result.message = std::string("reload refused, running configuration kept: ") + e.what();
    spdlog::error("{}", result.message);
    state.reloads_refused++;
    return result;
  }

  // 2. Apply: removals, rebuilds and additions, LUN changes, then access lists.
  state.context.security.set(std::move(security));
  for (const config::Target& t : cur.targets) {
    if (find_target(next, t.iqn) != nullptr) continue;
    state.context.registry.remove(t.iqn);
    close_sessions(state, t.iqn, "target removed by reload", nullptr);
    lines.push_back("removed target " + t.iqn);
  }
  for (Rebuilt& r : rebuilt) {
    std::string iqn = r.node->iqn;
    size_t luns = r.node->luns().size();
    if (r.added) {
      state.context.registry.add(std::move(r.node));
      lines.push_back("added target " + iqn + " (" + std::to_string(luns) + " LUN(s))");
    } else {
      state.context.registry.replace(std::move(r.node));
      close_sessions(state, iqn, "target changed by reload", nullptr);
      lines.push_back("rebuilt target " + iqn + " (alias or queue depth changed; " +
                      std::to_string(luns) + " LUN(s))");
    }
  }
  for (LunChanges& c : in_place) {
    scsi::Device& device = *c.node->device;
    std::map<uint64_t, iscsi::LunInfo> infos;
    for (const iscsi::LunInfo& l : c.node->luns()) infos[l.number] = l;
    std::string what;
    for (uint64_t n : c.removed) {
      device.remove_lun(n);
      infos.erase(n);
      what += " removed LUN " + std::to_string(n) + ";";
    }
    for (PreparedLun& p : c.replaced) {
      device.replace_lun(p.options, std::move(p.backing), state.loops);
      what += " replaced LUN " + std::to_string(p.info.number) + ";";
      infos[p.info.number] = std::move(p.info);
    }
    for (PreparedLun& p : c.added) {
      device.add_lun(p.options, std::move(p.backing), state.loops);
      what += " added LUN " + std::to_string(p.info.number) + ";";
      infos[p.info.number] = std::move(p.info);
    }
    std::vector<iscsi::LunInfo> list;
    for (auto& [n, info] : infos) list.push_back(std::move(info));
    c.node->set_luns(std::move(list));
    what.pop_back();
    lines.push_back("target " + c.node->iqn + ":" + what + " (sessions kept)");
  }
  for (const config::Target* t : plan.access_changed) {
    iscsi::TargetNode* node = state.context.registry.find(t->iqn);
    if (node == nullptr) continue;
    node->set_access(t->allowed_initiators, t->allowed_networks);
    close_sessions(state, t->iqn, "access revoked by reload", node);
    lines.push_back("changed access list of " + t->iqn);
  }

  // A backing that grew (or shrank) under a running LUN: READ CAPACITY tells
  // the new size and every nexus sees CAPACITY DATA HAS CHANGED (2A/09).
  for (const config::Target& t : next.targets) {
    iscsi::TargetNode* node = state.context.registry.find(t.iqn);
    if (node == nullptr) continue;
    for (uint64_t n : node->device->luns())
      if (node->device->capacity_changed(n))
        lines.push_back("target " + t.iqn + ": LUN " + std::to_string(n) +
                        " capacity changed (sessions told: 2A/09)");
  }

  for (const std::string& key : plan.restart)
    lines.push_back(key + " changed: needs a restart, running value kept");
  if (plan.log_level_changed) {
    auto level = spdlog::level::from_str(next.log_level);
    spdlog::set_level(level);
    lines.push_back("log_level set to " + next.log_level);
  }
  // What keeps running as before stays in the running configuration.
  next.portals = cur.portals;
  next.threads = cur.threads;
  next.iscsi = cur.iscsi;
  next.admin_socket = cur.admin_socket;
  next.metrics = cur.metrics;
  next.state_dir = cur.state_dir;
  next.gateway = cur.gateway;
  state.config = std::move(next);
  state.reloads_ok++;

  result.ok = true;
  if (lines.empty()) lines.push_back("no change");
  for (const std::string& l : lines) {
    spdlog::info("reload: {}", l);
    result.message += l + "\n";
  }
  return result;
}

}  // namespace sharedisk::daemon
