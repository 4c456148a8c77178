// Commands that read or edit cluster.conf: init, add-node, remove-node, add-heartbeat,
// remove-heartbeat, list, validate, format.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>

#include "args.h"
#include "commands.h"
#include "sharedisk/ocfs2/cluster_conf.h"
#include "sharedisk/ocfs2/conf_edit.h"
#include "sharedisk/ocfs2/o2cb_defaults.h"
#include "sharedisk/ocfs2/validate.h"

namespace sharedisk::ocfs2::cli {
namespace {

void append(Diagnostics& to, const Diagnostics& from) {
  to.insert(to.end(), from.begin(), from.end());
}

// Loads the file for an edit; a file with syntax errors is not edited, since writing it back
// would silently drop what could not be read.
bool load_for_edit(const Global& g, Report& r, ClusterConf& conf) {
  r.file = g.config;
  ParseResult p = load_cluster_conf(g.config);
  if (!p.ok()) {
    append(r.diagnostics, p.diagnostics);
    r.diagnostics.push_back(
        {0, Severity::error, "file-not-edited", "fix the errors above before editing " + g.config});
    return false;
  }
  conf = std::move(p.conf);
  return true;
}

// Writes the edited file, then reports what validation still finds (without requiring this
// host to be in the cluster, since a cluster is built up one node at a time).
void save(const Global& g, Report& r, const ClusterConf& conf, const std::string& done) {
  if (auto err = write_cluster_conf(g.config, conf); !err.empty()) {
    r.diagnostics.push_back({0, Severity::error, "file-write-failed", err});
    return;
  }
  r.text.push_back(done);
  ValidateOptions vo;
  vo.check_local_node = false;
  // Re-read so that remaining problems carry line numbers of the written file.
  ParseResult again = load_cluster_conf(g.config);
  for (auto& d : validate_cluster_conf(again.conf, vo))
    if (d.code != "node-count-mismatch" && d.code != "cluster-without-nodes")
      r.diagnostics.push_back(d);
}

void write_conf_json(JsonWriter& w, const ClusterConf& conf) {
  w.key("clusters").begin_array();
  for (const auto& c : conf.clusters) {
    w.begin_object();
    w.key("name").value(c.name);
    w.key("heartbeat_mode").value(c.heartbeat_mode);
    w.key("node_count");
    if (c.node_count)
      w.value(*c.node_count);
    else
      w.null();
    w.key("line").value(c.lines.stanza);
    w.key("nodes").begin_array();
    for (const Node* n : conf.nodes_of(c.name)) {
      w.begin_object();
      w.key("name").value(n->name);
      w.key("number");
      if (n->number)
        w.value(*n->number);
      else
        w.null();
      w.key("ip_address").value(n->ip_address);
      w.key("ip_port");
      if (n->ip_port)
        w.value(*n->ip_port);
      else
        w.null();
      w.key("line").value(n->lines.stanza);
      w.end_object();
    }
    w.end_array();
    w.key("heartbeat_regions").begin_array();
    for (const auto* h : conf.regions_of(c.name)) w.value(h->region);
    w.end_array();
    w.end_object();
  }
  w.end_array();
}

}  // namespace

Report cmd_init(const Global& g, const std::vector<std::string>& argv) {
  Args a(argv, {"heartbeat-mode", "region"}, {});
  a.expect_positional(1, 1, "init CLUSTER [--heartbeat-mode local|global] [--region UUID]...");
  Report r = new_report("init");
  ClusterConf conf;
  if (!load_for_edit(g, r, conf)) return r;
  const std::string& name = a.positional()[0];
  Diagnostics d = add_cluster(conf, name, a.get("heartbeat-mode").value_or("local"));
  for (const auto& region : a.all("region"))
    if (!has_errors(d)) append(d, add_heartbeat_region(conf, name, region));
  append(r.diagnostics, d);
  if (!has_errors(d)) save(g, r, conf, "added cluster '" + name + "' to " + g.config);
  return r;
}

Report cmd_add_node(const Global& g, const std::vector<std::string>& argv) {
  Args a(argv, {"ip", "port", "number"}, {});
  a.expect_positional(2, 2, "add-node CLUSTER NODE --ip ADDRESS [--port PORT] [--number N]");
  if (!a.get("ip")) throw UsageError("add-node needs --ip ADDRESS");
  Report r = new_report("add-node");
  ClusterConf conf;
  if (!load_for_edit(g, r, conf)) return r;
  NewNode n;
  n.cluster = a.positional()[0];
  n.name = a.positional()[1];
  n.ip_address = *a.get("ip");
  n.ip_port = a.number("port").value_or(kDefaultIpPort);
  n.number = a.number("number");
  Diagnostics d = add_node(conf, n);
  append(r.diagnostics, d);
  if (!has_errors(d)) {
    const Node* added = conf.find_node(n.cluster, n.name);
    save(g, r, conf,
         "added node '" + n.name + "' (number " + std::to_string(added->number.value_or(0)) + ", " +
             n.ip_address + ":" + std::to_string(n.ip_port) + ") to cluster '" + n.cluster + "'");
  }
  return r;
}

Report cmd_remove_node(const Global& g, const std::vector<std::string>& argv) {
  Args a(argv, {}, {});
  a.expect_positional(2, 2, "remove-node CLUSTER NODE");
  Report r = new_report("remove-node");
  ClusterConf conf;
  if (!load_for_edit(g, r, conf)) return r;
  Diagnostics d = remove_node(conf, a.positional()[0], a.positional()[1]);
  append(r.diagnostics, d);
  if (!has_errors(d))
    save(g, r, conf,
         "removed node '" + a.positional()[1] + "' from cluster '" + a.positional()[0] + "'");
  return r;
}

Report cmd_add_heartbeat(const Global& g, const std::vector<std::string>& argv) {
  Args a(argv, {}, {});
  a.expect_positional(2, 2, "add-heartbeat CLUSTER REGION-UUID");
  Report r = new_report("add-heartbeat");
  ClusterConf conf;
  if (!load_for_edit(g, r, conf)) return r;
  Diagnostics d = add_heartbeat_region(conf, a.positional()[0], a.positional()[1]);
  append(r.diagnostics, d);
  if (!has_errors(d))
    save(g, r, conf,
         "added heartbeat region " + a.positional()[1] + " to cluster '" + a.positional()[0] + "'");
  return r;
}

Report cmd_remove_heartbeat(const Global& g, const std::vector<std::string>& argv) {
  Args a(argv, {}, {});
  a.expect_positional(2, 2, "remove-heartbeat CLUSTER REGION-UUID");
  Report r = new_report("remove-heartbeat");
  ClusterConf conf;
  if (!load_for_edit(g, r, conf)) return r;
  Diagnostics d = remove_heartbeat_region(conf, a.positional()[0], a.positional()[1]);
  append(r.diagnostics, d);
  if (!has_errors(d))
    save(g, r, conf,
         "removed heartbeat region " + a.positional()[1] + " from cluster '" + a.positional()[0] +
             "'");
  return r;
}

Report cmd_list(const Global& g, const std::vector<std::string>& argv) {
  Args a(argv, {}, {});
  a.expect_positional(0, 0, "list");
  Report r = new_report("list");
  r.file = g.config;
  ParseResult p = load_cluster_conf(g.config);
  r.diagnostics = p.diagnostics;
  for (const auto& c : p.conf.clusters) {
    r.text.push_back("cluster " + c.name + " (heartbeat " + c.heartbeat_mode + ", node_count " +
                     (c.node_count ? std::to_string(*c.node_count) : "?") + ")");
    for (const Node* n : p.conf.nodes_of(c.name))
      r.text.push_back("  node " + std::to_string(n->number.value_or(0)) + " " + n->name + " " +
                       n->ip_address + ":" + std::to_string(n->ip_port.value_or(0)));
    for (const auto* h : p.conf.regions_of(c.name)) r.text.push_back("  heartbeat " + h->region);
  }
  auto conf = std::make_shared<ClusterConf>(std::move(p.conf));
  r.extra = [conf](JsonWriter& w) { write_conf_json(w, *conf); };
  return r;
}

Report cmd_validate(const Global& g, const std::vector<std::string>& argv) {
  Args a(argv, {"cluster", "local-node", "defaults"}, {"no-local-check", "strict"});
  a.expect_positional(0, 0,
                      "validate [--cluster NAME] [--local-node NAME | --no-local-check] "
                      "[--defaults /etc/default/o2cb] [--strict]");
  Report r = new_report("validate");
  r.file = g.config;
  r.strict = a.flag("strict");
  if (!std::filesystem::exists(g.config)) {
    r.diagnostics.push_back({0, Severity::error, "file-missing", g.config + " does not exist"});
    return r;
  }
  ParseResult p = load_cluster_conf(g.config);
  r.diagnostics = p.diagnostics;
  ValidateOptions vo;
  vo.cluster = a.get("cluster");
  vo.local_node = a.get("local-node");
  vo.check_local_node = !a.flag("no-local-check");
  append(r.diagnostics, validate_cluster_conf(p.conf, vo));
  sort_by_line(r.diagnostics);
  if (auto defaults = a.get("defaults")) {
    O2cbDefaultsResult dr = load_o2cb_defaults(*defaults);
    for (auto d : dr.diagnostics) {
      d.message = *defaults + ": " + d.message;
      d.line = 0;
      r.diagnostics.push_back(d);
    }
    for (auto d : validate_timeouts(dr.values.timeouts)) {
      d.message = *defaults + ": " + d.message;
      r.diagnostics.push_back(d);
    }
  }
  if (r.exit_code() == 0)
    r.text.push_back(g.config + ": " + std::to_string(p.conf.clusters.size()) + " cluster(s), " +
                     std::to_string(p.conf.nodes.size()) + " node(s): valid");
  auto conf = std::make_shared<ClusterConf>(std::move(p.conf));
  r.extra = [conf](JsonWriter& w) { write_conf_json(w, *conf); };
  return r;
}

Report cmd_format(const Global& g, const std::vector<std::string>& argv) {
  Args a(argv, {"output"}, {"check"});
  a.expect_positional(0, 0, "format [--check] [--output FILE|-]");
  Report r = new_report("format");
  r.file = g.config;
  ParseResult p = load_cluster_conf(g.config);
  r.diagnostics = p.diagnostics;
  if (!p.ok()) {
    r.diagnostics.push_back({0, Severity::error, "file-not-formatted",
                             "fix the errors above first; formatting would drop what could "
                             "not be read"});
    return r;
  }
  const std::string text = format_cluster_conf(p.conf);
  std::string current;
  {
    std::ifstream in(g.config, std::ios::binary);
    current.assign(std::istreambuf_iterator<char>(in), {});
  }
  const bool canonical = current == text;
  const auto output = a.get("output");
  if (a.flag("check")) {
    if (!canonical)
      r.diagnostics.push_back({0, Severity::error, "format-differs",
                               g.config + " is not in the form ocfs2-tools writes; run "
                                          "'sharedisk-ocfs2 format' to rewrite it"});
    else
      r.text.push_back(g.config + " is already in ocfs2-tools form");
  } else if (output && *output == "-") {
    if (!g.json) std::fwrite(text.data(), 1, text.size(), stdout);
  } else {
    const std::string target = output.value_or(g.config);
    if (target == g.config && canonical) {
      r.text.push_back(g.config + " is already in ocfs2-tools form");
    } else if (auto err = write_file_atomically(target, text); !err.empty()) {
      r.diagnostics.push_back({0, Severity::error, "file-write-failed", err});
    } else {
      r.text.push_back("wrote " + target);
    }
  }
  r.extra = [text, canonical](JsonWriter& w) {
    w.key("canonical").value(canonical);
    w.key("formatted").value(text);
  };
  return r;
}

}  // namespace sharedisk::ocfs2::cli
