// Commands that touch the system: register and unregister (configfs), probe and check
// (a volume's superblock).
#include <memory>

#include "commands.h"
#include "sharedisk/ocfs2/check.h"
#include "sharedisk/ocfs2/cluster_conf.h"
#include "sharedisk/ocfs2/configfs.h"
#include "sharedisk/ocfs2/o2cb_defaults.h"
#include "sharedisk/ocfs2/superblock.h"

namespace sharedisk::ocfs2::cli {
namespace {

void write_actions(Json& w, const std::vector<std::string>& actions) {
  w["actions"] = actions;
}

void write_probe(Json& w, const ProbeResult& p) {
  Json probe = {{"status", probe_status_name(p.status)}};
  if (!p.ok()) {
    probe["message"] = p.message;
  } else {
    const SuperblockInfo& i = p.info;
    probe["label"] = i.label;
    probe["uuid"] = i.uuid;
    probe["uuid_hex"] = i.uuid_hex;
    probe["block_size"] = i.block_size;
    probe["cluster_size"] = i.cluster_size;
    probe["node_slots"] = i.node_slots;
    probe["clusters"] = i.clusters;
    probe["size_bytes"] = i.size_bytes();
    probe["revision"] = std::to_string(i.major_revision) + "." + std::to_string(i.minor_revision);
    probe["feature_compat"] = i.feature_compat;
    probe["feature_incompat"] = i.feature_incompat;
    probe["feature_ro_compat"] = i.feature_ro_compat;
    probe["features"] = i.features;
    probe["cluster_stack"] = i.cluster_stack;
    probe["cluster_name"] = i.cluster_name;
    probe["global_heartbeat"] = i.global_heartbeat();
  }
  w["probe"] = std::move(probe);
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

Report cmd_register(const Global& g, const Options& opt) {
  Report r = new_report("register");
  r.file = g.config;
  ParseResult p = load_cluster_conf(g.config);
  r.diagnostics = p.diagnostics;
  if (!p.ok()) return r;
  ConfigfsOptions o;
  o.root = opt.get("configfs-root").value_or(kDefaultConfigfsRoot);
  o.local_node = opt.get("local-node");
  const std::string defaults_path = opt.get("defaults").value_or(kDefaultO2cbDefaultsPath);
  O2cbDefaultsResult d = load_o2cb_defaults(defaults_path);
  for (auto x : d.diagnostics) {
    x.message = defaults_path + ": " + x.message;
    x.line = 0;
    r.diagnostics.push_back(x);
  }
  if (has_errors(d.diagnostics)) return r;
  o.timeouts = d.values.timeouts;
  ConfigfsResult c = register_cluster(p.conf, opt.arg1, o);
  r.diagnostics.insert(r.diagnostics.end(), c.diagnostics.begin(), c.diagnostics.end());
  r.text = c.actions;
  if (c.ok()) r.text.push_back("cluster '" + opt.arg1 + "' registered");
  r.extra = [actions = c.actions](Json& w) { write_actions(w, actions); };
  return r;
}

Report cmd_unregister(const Global&, const Options& opt) {
  Report r = new_report("unregister");
  ConfigfsOptions o;
  o.root = opt.get("configfs-root").value_or(kDefaultConfigfsRoot);
  ConfigfsResult c = unregister_cluster(opt.arg1, o);
  r.diagnostics = c.diagnostics;
  r.text = c.actions;
  if (c.ok()) r.text.push_back("cluster '" + opt.arg1 + "' unregistered");
  r.extra = [actions = c.actions](Json& w) { write_actions(w, actions); };
  return r;
}

Report cmd_probe(const Global&, const Options& opt) {
  Report r = new_report("probe");
  auto p = std::make_shared<ProbeResult>(probe_path(opt.arg1));
  if (!p->ok()) {
    r.diagnostics.push_back({0, Severity::error,
                             p->status == ProbeStatus::io_error  ? "volume-unreadable"
                             : p->status == ProbeStatus::damaged ? "volume-damaged"
                                                                 : "volume-not-ocfs2",
                             opt.arg1 + ": " + p->message});
  } else {
    r.text = probe_text(*p);
    for (const auto& w : p->warnings)
      r.diagnostics.push_back({0, Severity::warning, "volume-warning", w});
  }
  r.extra = [p](Json& w) { write_probe(w, *p); };
  return r;
}

Report cmd_check(const Global& g, const Options& opt) {
  Report r = new_report("check");
  r.file = g.config;
  r.strict = opt.flag("strict");
  ParseResult conf = load_cluster_conf(g.config);
  r.diagnostics = conf.diagnostics;
  auto p = std::make_shared<ProbeResult>(probe_path(opt.arg1));
  CheckOptions o;
  o.cluster = opt.get("cluster");
  if (auto mp = opt.get("mount-point")) o.mount_point = *mp;
  CheckResult c = check_volume(conf.conf, *p, o);
  for (auto d : c.diagnostics) {
    if (d.code.rfind("volume-", 0) == 0) d.message = opt.arg1 + ": " + d.message;
    r.diagnostics.push_back(d);
  }
  if (p->ok()) r.text = probe_text(*p);
  if (!c.fstab_line.empty()) {
    r.text.push_back("");
    r.text.push_back(r.exit_code() == 0 ? "fstab line:" : "fstab line (fix the problems first):");
    r.text.push_back(c.fstab_line);
  }
  r.extra = [p, c](Json& w) {
    write_probe(w, *p);
    w["cluster"] = c.cluster;
    w["fstab"] = c.fstab_line;
  };
  return r;
}

}  // namespace sharedisk::ocfs2::cli
