// The sharedisk-ocfs2 subcommands. Each takes the command's own arguments (parsed and
// checked by CLI11 in main.cpp) and fills a Report; usage mistakes throw UsageError
// (exit code 2).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "report.h"

namespace sharedisk::ocfs2::cli {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One command's arguments: its positionals (CLUSTER, NODE, DEVICE...) and the options
// given, by name without "--".
struct Options {
  std::string arg1, arg2;
  std::map<std::string, std::string> values;
  std::set<std::string> flags;
  std::vector<std::string> regions;     // init --region, repeatable
  std::optional<std::uint32_t> port;    // add-node --port
  std::optional<std::uint32_t> number;  // add-node --number

  std::optional<std::string> get(const std::string& name) const {
    auto it = values.find(name);
    return it == values.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  bool flag(const std::string& name) const { return flags.count(name) > 0; }
};

struct Global {
  std::string config = "/etc/ocfs2/cluster.conf";
  bool json = false;
};

using Command = Report (*)(const Global&, const Options&);

Report cmd_init(const Global& g, const Options& opt);
Report cmd_add_node(const Global& g, const Options& opt);
Report cmd_remove_node(const Global& g, const Options& opt);
Report cmd_add_heartbeat(const Global& g, const Options& opt);
Report cmd_remove_heartbeat(const Global& g, const Options& opt);
Report cmd_list(const Global& g, const Options& opt);
Report cmd_validate(const Global& g, const Options& opt);
Report cmd_format(const Global& g, const Options& opt);
Report cmd_register(const Global& g, const Options& opt);
Report cmd_unregister(const Global& g, const Options& opt);
Report cmd_probe(const Global& g, const Options& opt);
Report cmd_check(const Global& g, const Options& opt);
Report cmd_check_failover(const Global& g, const Options& opt);
Report cmd_multipath_stanza(const Global& g, const Options& opt);

}  // namespace sharedisk::ocfs2::cli
