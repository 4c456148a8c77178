// Commands that touch the system: register and unregister (configfs), probe and check
// (a volume's superblock).
#include <memory>

#include "args.h"
#include "commands.h"
#include "sharedisk/ocfs2/check.h"
#include "sharedisk/ocfs2/cluster_conf.h"
#include "sharedisk/ocfs2/configfs.h"
#include "sharedisk/ocfs2/o2cb_defaults.h"
#include "sharedisk/ocfs2/superblock.h"

namespace sharedisk::ocfs2::cli {
namespace {

void write_actions(JsonWriter& w, const std::vector<std::string>& actions) {
  w.key("actions").begin_array();
  for (const auto& a : actions) w.value(a);
  w.end_array();
}

void write_probe(JsonWriter& w, const ProbeResult& p) {
  w.key("probe").begin_object();
  w.key("status").value(probe_status_name(p.status));
  if (!p.ok()) {
    w.key("message").value(p.message);
  } else {
    const SuperblockInfo& i = p.info;
    w.key("label").value(i.label);
    w.key("uuid").value(i.uuid);
    w.key("uuid_hex").value(i.uuid_hex);
    w.key("block_size").value(i.block_size);
    w.key("cluster_size").value(i.cluster_size);
    w.key("node_slots").value(i.node_slots);
    w.key("clusters").value(i.clusters);
    w.key("size_bytes").value(i.size_bytes());
    w.key("revision")
        .value(std::to_string(i.major_revision) + "." + std::to_string(i.minor_revision));
    w.key("feature_compat").value(i.feature_compat);
    w.key("feature_incompat").value(i.feature_incompat);
    w.key("feature_ro_compat").value(i.feature_ro_compat);
    w.key("features").begin_array();
    for (const auto& f : i.features) w.value(f);
    w.end_array();
    w.key("cluster_stack").value(i.cluster_stack);
    w.key("cluster_name").value(i.cluster_name);
    w.key("global_heartbeat").value(i.global_heartbeat());
  }
  w.end_object();
}

std::vector<std::string> probe_text(const ProbeResult& p) {
  const SuperblockInfo& i = p.info;
  std::string features;
  for (const auto& f : i.features) features += (features.empty() ? "" : " ") + f;
  return {
      "Label:          " + i.label,
      "UUID:           " + i.uuid + "  (" + i.uuid_hex + ")",
      "Block size:     " + std::to_string(i.block_size),
      "Cluster size:   " + std::to_string(i.cluster_size),
      "Node slots:     " + std::to_string(i.node_slots),
      "Size:           " + std::to_string(i.size_bytes()) + " bytes (" +
          std::to_string(i.clusters) + " clusters)",
      "Features:       " + features,
      "Cluster stack:  " + i.cluster_stack + (i.global_heartbeat() ? " (global heartbeat)" : ""),
      "Cluster name:   " + (i.has_cluster_info ? i.cluster_name : std::string("(not recorded)")),
  };
}

ProbeResult probe_path(const std::string& path) {
  std::string error;
  auto reader = FileBlockReader::open(path, &error);
  if (!reader) {
    ProbeResult p;
    p.status = ProbeStatus::io_error;
    p.message = error;
    return p;
  }
  return probe_superblock(*reader);
}

}  // namespace

Report cmd_register(const Global& g, const std::vector<std::string>& argv) {
  Args a(argv, {"configfs-root", "defaults", "local-node"}, {});
  a.expect_positional(1, 1,
                      "register CLUSTER [--configfs-root DIR] [--defaults FILE] "
                      "[--local-node NAME]");
  Report r = new_report("register");
  r.file = g.config;
  ParseResult p = load_cluster_conf(g.config);
  r.diagnostics = p.diagnostics;
  if (!p.ok()) return r;
  ConfigfsOptions o;
  o.root = a.get("configfs-root").value_or(kDefaultConfigfsRoot);
  o.local_node = a.get("local-node");
  const std::string defaults_path = a.get("defaults").value_or(kDefaultO2cbDefaultsPath);
  O2cbDefaultsResult d = load_o2cb_defaults(defaults_path);
  for (auto x : d.diagnostics) {
    x.message = defaults_path + ": " + x.message;
    x.line = 0;
    r.diagnostics.push_back(x);
  }
  if (has_errors(d.diagnostics)) return r;
  o.timeouts = d.values.timeouts;
  ConfigfsResult c = register_cluster(p.conf, a.positional()[0], o);
  r.diagnostics.insert(r.diagnostics.end(), c.diagnostics.begin(), c.diagnostics.end());
  r.text = c.actions;
  if (c.ok()) r.text.push_back("cluster '" + a.positional()[0] + "' registered");
  r.extra = [actions = c.actions](JsonWriter& w) { write_actions(w, actions); };
  return r;
}

Report cmd_unregister(const Global&, const std::vector<std::string>& argv) {
  Args a(argv, {"configfs-root"}, {});
  a.expect_positional(1, 1, "unregister CLUSTER [--configfs-root DIR]");
  Report r = new_report("unregister");
  ConfigfsOptions o;
  o.root = a.get("configfs-root").value_or(kDefaultConfigfsRoot);
  ConfigfsResult c = unregister_cluster(a.positional()[0], o);
  r.diagnostics = c.diagnostics;
  r.text = c.actions;
  if (c.ok()) r.text.push_back("cluster '" + a.positional()[0] + "' unregistered");
  r.extra = [actions = c.actions](JsonWriter& w) { write_actions(w, actions); };
  return r;
}

Report cmd_probe(const Global&, const std::vector<std::string>& argv) {
  Args a(argv, {}, {});
  a.expect_positional(1, 1, "probe DEVICE-OR-IMAGE");
  Report r = new_report("probe");
  auto p = std::make_shared<ProbeResult>(probe_path(a.positional()[0]));
  if (!p->ok()) {
    r.diagnostics.push_back({0, Severity::error,
                             p->status == ProbeStatus::io_error  ? "volume-unreadable"
                             : p->status == ProbeStatus::damaged ? "volume-damaged"
                                                                 : "volume-not-ocfs2",
                             a.positional()[0] + ": " + p->message});
  } else {
    r.text = probe_text(*p);
    for (const auto& w : p->warnings)
      r.diagnostics.push_back({0, Severity::warning, "volume-warning", w});
  }
  r.extra = [p](JsonWriter& w) { write_probe(w, *p); };
  return r;
}

Report cmd_check(const Global& g, const std::vector<std::string>& argv) {
  Args a(argv, {"cluster", "mount-point"}, {"strict"});
  a.expect_positional(1, 1, "check DEVICE-OR-IMAGE [--cluster NAME] [--mount-point DIR]");
  Report r = new_report("check");
  r.file = g.config;
  r.strict = a.flag("strict");
  ParseResult conf = load_cluster_conf(g.config);
  r.diagnostics = conf.diagnostics;
  auto p = std::make_shared<ProbeResult>(probe_path(a.positional()[0]));
  CheckOptions o;
  o.cluster = a.get("cluster");
  if (auto mp = a.get("mount-point")) o.mount_point = *mp;
  CheckResult c = check_volume(conf.conf, *p, o);
  for (auto d : c.diagnostics) {
    if (d.code.rfind("volume-", 0) == 0) d.message = a.positional()[0] + ": " + d.message;
    r.diagnostics.push_back(d);
  }
  if (p->ok()) r.text = probe_text(*p);
  if (!c.fstab_line.empty()) {
    r.text.push_back("");
    r.text.push_back(r.exit_code() == 0 ? "fstab line:" : "fstab line (fix the problems first):");
    r.text.push_back(c.fstab_line);
  }
  r.extra = [p, c](JsonWriter& w) {
    write_probe(w, *p);
    w.key("cluster").value(c.cluster);
    w.key("fstab").value(c.fstab_line);
  };
  return r;
}

}  // namespace sharedisk::ocfs2::cli
