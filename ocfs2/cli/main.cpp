// sharedisk-ocfs2: sets up and checks the OCFS2 cluster of the shared LUN.
// Exit codes: 0 ok, 1 problems found, 2 usage error.
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"
#include "json_writer.h"
#include "sharedisk/ocfs2/version.h"

namespace {

using namespace sharedisk::ocfs2::cli;

constexpr const char* kUsage = R"(usage: sharedisk-ocfs2 [--json] [--config FILE] COMMAND [ARGS]

Sets up and checks the OCFS2 cluster (o2cb) of a shared disk.
FILE is the cluster.conf to use (default /etc/ocfs2/cluster.conf).

cluster.conf:
  init CLUSTER [--heartbeat-mode local|global] [--region UUID]...
  add-node CLUSTER NODE --ip ADDRESS [--port 7777] [--number N]
  remove-node CLUSTER NODE
  add-heartbeat CLUSTER UUID        remove-heartbeat CLUSTER UUID
  list
  validate [--cluster NAME] [--local-node NAME | --no-local-check]
           [--defaults /etc/default/o2cb] [--strict]
  format [--check] [--output FILE|-]   rewrite as ocfs2-tools writes it

kernel (configfs):
  register CLUSTER [--configfs-root /sys/kernel/config] [--defaults /etc/default/o2cb]
                   [--local-node NAME]
  unregister CLUSTER [--configfs-root /sys/kernel/config]

volume:
  probe DEVICE                      read the OCFS2 superblock
  check DEVICE [--cluster NAME] [--mount-point /var/lib/odoo] [--strict]
                                    hold cluster.conf against the volume, print the fstab line

--json prints one JSON object for provisioning tools.
Exit codes: 0 ok (warnings allowed unless --strict), 1 problems found, 2 usage error.
)";

int usage_error(bool json, const std::string& message) {
  if (json) {
    JsonWriter w;
    w.begin_object();
    w.key("ok").value(false);
    w.key("exit_code").value(2);
    w.key("error").value("usage");
    w.key("message").value(message);
    w.end_object();
    std::printf("%s\n", w.str().c_str());
  }
  std::fprintf(stderr, "sharedisk-ocfs2: %s\n(run 'sharedisk-ocfs2 --help' for usage)\n",
               message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const std::map<std::string, Command> commands = {
      {"init", cmd_init},
      {"add-node", cmd_add_node},
      {"remove-node", cmd_remove_node},
      {"add-heartbeat", cmd_add_heartbeat},
      {"remove-heartbeat", cmd_remove_heartbeat},
      {"list", cmd_list},
      {"validate", cmd_validate},
      {"format", cmd_format},
      {"register", cmd_register},
      {"unregister", cmd_unregister},
      {"probe", cmd_probe},
      {"check", cmd_check},
  };
  Global g;
  std::vector<std::string> rest;
  std::string command;
  // Global options may come before or after the command.
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json") {
      g.json = true;
    } else if (a == "--config" || a.rfind("--config=", 0) == 0) {
      if (a == "--config") {
        if (i + 1 >= argc) return usage_error(g.json, "option --config needs a value");
        g.config = argv[++i];
      } else {
        g.config = a.substr(std::strlen("--config="));
      }
    } else if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--version") {
      std::printf("sharedisk-ocfs2 %s\n", SHAREDISK_OCFS2_VERSION);
      return 0;
    } else if (command.empty()) {
      command = a;
    } else {
      rest.push_back(a);
    }
  }
  if (command.empty()) return usage_error(g.json, "no command given");
  auto it = commands.find(command);
  if (it == commands.end()) return usage_error(g.json, "unknown command '" + command + "'");
  try {
    Report r = it->second(g, rest);
    r.print(g.json);
    return r.exit_code();
  } catch (const UsageError& e) {
    return usage_error(g.json, e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sharedisk-ocfs2: %s\n", e.what());
    return 1;
  }
}
