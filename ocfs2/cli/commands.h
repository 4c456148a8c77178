// The sharedisk-ocfs2 subcommands. Each takes the command's own arguments and fills a
// Report; usage mistakes throw UsageError (exit code 2).
#pragma once

#include <string>
#include <vector>

#include "report.h"

namespace sharedisk::ocfs2::cli {

struct Global {
  std::string config = "/etc/ocfs2/cluster.conf";
  bool json = false;
};

using Command = Report (*)(const Global&, const std::vector<std::string>&);

Report cmd_init(const Global& g, const std::vector<std::string>& argv);
Report cmd_add_node(const Global& g, const std::vector<std::string>& argv);
Report cmd_remove_node(const Global& g, const std::vector<std::string>& argv);
Report cmd_add_heartbeat(const Global& g, const std::vector<std::string>& argv);
Report cmd_remove_heartbeat(const Global& g, const std::vector<std::string>& argv);
Report cmd_list(const Global& g, const std::vector<std::string>& argv);
Report cmd_validate(const Global& g, const std::vector<std::string>& argv);
Report cmd_format(const Global& g, const std::vector<std::string>& argv);
Report cmd_register(const Global& g, const std::vector<std::string>& argv);
Report cmd_unregister(const Global& g, const std::vector<std::string>& argv);
Report cmd_probe(const Global& g, const std::vector<std::string>& argv);
Report cmd_check(const Global& g, const std::vector<std::string>& argv);

}  // namespace sharedisk::ocfs2::cli
