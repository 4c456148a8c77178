// Commands that read or edit cluster.conf: init, add-node, remove-node, add-heartbeat,
// remove-heartbeat, list, validate, format.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>

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

void write_conf_json(Json& w, const ClusterConf& conf) {
  Json clusters = Json::array();
  for (const auto& c : conf.clusters) {
    Json nodes = Json::array();
    for (const Node* n : conf.nodes_of(c.name))
      nodes.push_back({{"name", n->name},
                       {"number", n->number ? Json(*n->number) : Json(nullptr)},
                       {"ip_address", n->ip_address},
                       {"ip_port", n->ip_port ? Json(*n->ip_port) : Json(nullptr)},
                       {"line", n->lines.stanza}});
    Json regions = Json::array();
    for (const auto* h : conf.regions_of(c.name)) regions.push_back(h->region);
    clusters.push_back({{"name", c.name},
                        {"heartbeat_mode", c.heartbeat_mode},
                        {"node_count", c.node_count ? Json(*c.node_count) : Json(nullptr)},
                        {"line", c.lines.stanza},
                        {"nodes", std::move(nodes)},
                        {"heartbeat_regions", std::move(regions)}});
  }
  w["clusters"] = std::move(clusters);
}

}  // namespace

Report cmd_init(const Global& g, const Options& opt) {
  Report r = new_report("init");
  ClusterConf conf;
  if (!load_for_edit(g, r, conf)) return r;
  const std::string& name = opt.arg1;
  Diagnostics d = add_cluster(conf, name, opt.get("heartbeat-mode").value_or("local"));
  for (const auto& region : opt.regions)
    if (!has_errors(d)) append(d, add_heartbeat_region(conf, name, region));
  append(r.diagnostics, d);
  if (!has_errors(d)) save(g, r, conf, "added cluster '" + name + "' to " + g.config);
  return r;
}

Report cmd_add_node(const Global& g, const Options& opt) {
  Report r = new_report("add-node");
  ClusterConf conf;
  if (!load_for_edit(g, r, conf)) return r;
  NewNode n;
  n.cluster = opt.arg1;
  n.name = opt.arg2;
  n.ip_address = *opt.get("ip");
  n.ip_port = opt.port.value_or(kDefaultIpPort);
  n.number = opt.number;
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

Report cmd_remove_node(const Global& g, const Options& opt) {
  Report r = new_report("remove-node");
  ClusterConf conf;
  if (!load_for_edit(g, r, conf)) return r;
  Diagnostics d = remove_node(conf, opt.arg1, opt.arg2);
  append(r.diagnostics, d);
  if (!has_errors(d))
    save(g, r, conf, "removed node '" + opt.arg2 + "' from cluster '" + opt.arg1 + "'");
  return r;
}

Report cmd_add_heartbeat(const Global& g, const Options& opt) {
  Report r = new_report("add-heartbeat");
  ClusterConf conf;
  if (!load_for_edit(g, r, conf)) return r;
  Diagnostics d = add_heartbeat_region(conf, opt.arg1, opt.arg2);
  append(r.diagnostics, d);
  if (!has_errors(d))
    save(g, r, conf, "added heartbeat region " + opt.arg2 + " to cluster '" + opt.arg1 + "'");
  return r;
}

Report cmd_remove_heartbeat(const Global& g, const Options& opt) {
  Report r = new_report("remove-heartbeat");
  ClusterConf conf;
  if (!load_for_edit(g, r, conf)) return r;
  Diagnostics d = remove_heartbeat_region(conf, opt.arg1, opt.arg2);
  append(r.diagnostics, d);
  if (!has_errors(d))
    save(g, r, conf, "removed heartbeat region " + opt.arg2 + " from cluster '" + opt.arg1 + "'");
  return r;
}

Report cmd_list(const Global& g, const Options&) {
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
  r.extra = [conf](Json& w) { write_conf_json(w, *conf); };
  return r;
}

Report cmd_validate(const Global& g, const Options& opt) {
  Report r = new_report("validate");
  r.file = g.config;
  r.strict = opt.flag("strict");
  if (!std::filesystem::exists(g.config)) {
    r.diagnostics.push_back({0, Severity::error, "file-missing", g.config + " does not exist"});
    return r;
  }
  ParseResult p = load_cluster_conf(g.config);
  r.diagnostics = p.diagnostics;
  ValidateOptions vo;
  vo.cluster = opt.get("cluster");
  vo.local_node = opt.get("local-node");
  vo.check_local_node = !opt.flag("no-local-check");
  append(r.diagnostics, validate_cluster_conf(p.conf, vo));
  sort_by_line(r.diagnostics);
  if (auto defaults = opt.get("defaults")) {
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
  r.extra = [conf](Json& w) { write_conf_json(w, *conf); };
  return r;
}

Report cmd_format(const Global& g, const Options& opt) {
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
  const auto output = opt.get("output");
  if (opt.flag("check")) {
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
  r.extra = [text, canonical](Json& w) {
    w["canonical"] = canonical;
    w["formatted"] = text;
  };
  return r;
}

}  // namespace sharedisk::ocfs2::cli
