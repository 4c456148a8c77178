// sharedisk-ocfs2: sets up and checks the OCFS2 cluster of the shared LUN.
// Exit codes: 0 ok, 1 problems found, 2 usage error.
//
// The command line is CLI11's: "--opt value" and "--opt=value", global options before or
// after the command, numbers checked (a bad value names the option).
#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <map>
#include <string>
#include <vector>

#include "commands.h"
#include "sharedisk/ocfs2/version.h"

namespace {

using namespace sharedisk::ocfs2::cli;

int usage_error(bool json, const std::string& message) {
  if (json) {
    Json j = {{"ok", false}, {"exit_code", 2}, {"error", "usage"}, {"message", message}};
    std::printf("%s\n", dump_json(j).c_str());
  }
  std::fprintf(stderr, "sharedisk-ocfs2: %s\n(run 'sharedisk-ocfs2 --help' for usage)\n",
               message.c_str());
  return 2;
}

// A whole decimal number of at most 9 digits (CLI11 alone would take "0x10" or "010").
const CLI::Validator kWholeNumber(
    [](std::string& v) {
      return !v.empty() && v.size() <= 9 && v.find_first_not_of("0123456789") == std::string::npos
                 ? std::string()
                 : "needs a whole number (got '" + v + "')";
    },
    "N");

// One subcommand and the options it accepts. String options land in `strings` (a map, so
// the bound storage never moves) and are copied into Options::values when given.
struct Subcommand {
  CLI::App* app = nullptr;
  sharedisk::ocfs2::cli::Command run = nullptr;
  Options opt;
  std::map<std::string, std::string> strings;
  std::map<std::string, bool> flags;
  std::uint32_t port = 0, number = 0;

  Subcommand& positional(const char* name, std::string& into, const char* help) {
    app->add_option(name, into, help)->required();
    return *this;
  }
  Subcommand& value(const std::string& name, const char* type, const char* help) {
    app->add_option("--" + name, strings[name], help)->type_name(type);
    return *this;
  }
  Subcommand& flag(const std::string& name, const char* help) {
    app->add_flag("--" + name, flags[name], help);
    return *this;
  }
  void collect() {
    for (auto& [name, v] : strings)
      if (app->count("--" + name) > 0) opt.values[name] = v;
    for (auto& [name, on] : flags)
      if (on) opt.flags.insert(name);
    if (app->get_option_no_throw("--port") && app->count("--port") > 0) opt.port = port;
    if (app->get_option_no_throw("--number") && app->count("--number") > 0) opt.number = number;
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Sets up and checks the OCFS2 cluster (o2cb) of a shared disk.", "sharedisk-ocfs2"};
  app.set_version_flag("--version", std::string("sharedisk-ocfs2 ") + SHAREDISK_OCFS2_VERSION,
                       "print the version and exit");
  app.require_subcommand(1);
  app.fallthrough();  // --json and --config also after the command
  app.footer(
      "--json prints one JSON object for provisioning tools.\n"
      "Exit codes: 0 ok (warnings allowed unless --strict), 1 problems found, 2 usage error\n"
      "(check-failover, multipath-stanza: also a file that cannot be read or parsed).\n");
  Global g;
  app.add_flag("--json", g.json, "print one JSON object");
  app.add_option("--config", g.config, "the cluster.conf to use")
      ->capture_default_str()
      ->type_name("FILE");

  std::map<std::string, Subcommand> commands;
  auto add = [&](const char* name, sharedisk::ocfs2::cli::Command run, const char* group,
                 const char* help) -> Subcommand& {
    Subcommand& c = commands[name];
    c.app = app.add_subcommand(name, help)->group(group);
    c.run = run;
    return c;
  };
  const char* conf = "cluster.conf";
  const char* kernel = "kernel (configfs)";
  const char* volume = "volume";
  {
    Subcommand& c = add("init", cmd_init, conf, "add a cluster");
    c.positional("CLUSTER", c.opt.arg1, "cluster name");
    c.value("heartbeat-mode", "local|global", "heartbeat mode (default local)");
    c.app->add_option("--region", c.opt.regions, "global heartbeat region UUID (repeatable)")
        ->type_name("UUID");
  }
  {
    Subcommand& c = add("add-node", cmd_add_node, conf, "add a node to a cluster");
    c.positional("CLUSTER", c.opt.arg1, "cluster name").positional("NODE", c.opt.arg2, "host name");
    c.value("ip", "ADDRESS", "the node's IPv4 address");
    c.app->get_option("--ip")->required();
    c.app->add_option("--port", c.port, "o2net port (default 7777)")->check(kWholeNumber);
    c.app->add_option("--number", c.number, "node number (default: the next free one)")
        ->check(kWholeNumber);
  }
  {
    Subcommand& c = add("remove-node", cmd_remove_node, conf, "remove a node from a cluster");
    c.positional("CLUSTER", c.opt.arg1, "cluster name").positional("NODE", c.opt.arg2, "host name");
  }
  {
    Subcommand& c = add("add-heartbeat", cmd_add_heartbeat, conf, "add a global heartbeat region");
    c.positional("CLUSTER", c.opt.arg1, "cluster name")
        .positional("UUID", c.opt.arg2, "region UUID");
  }
  {
    Subcommand& c =
        add("remove-heartbeat", cmd_remove_heartbeat, conf, "remove a global heartbeat region");
    c.positional("CLUSTER", c.opt.arg1, "cluster name")
        .positional("UUID", c.opt.arg2, "region UUID");
  }
  add("list", cmd_list, conf, "print the clusters, nodes and heartbeat regions");
  {
    Subcommand& c = add("validate", cmd_validate, conf, "check cluster.conf as o2cb would");
    c.value("cluster", "NAME", "the cluster to check (default: the only one)")
        .value("local-node", "NAME", "this host's node name (default: the host name)")
        .flag("no-local-check", "do not require this host to be a node")
        .value("defaults", "FILE", "also check /etc/default/o2cb timeouts")
        .flag("strict", "warnings count as problems");
    c.app->get_option("--local-node")->excludes(c.app->get_option("--no-local-check"));
  }
  {
    Subcommand& c = add("format", cmd_format, conf, "rewrite as ocfs2-tools writes it");
    c.flag("check", "only report whether the file is in that form")
        .value("output", "FILE|-", "write there instead of over the file");
  }
  {
    Subcommand& c = add("register", cmd_register, kernel, "register the cluster in configfs");
    c.positional("CLUSTER", c.opt.arg1, "cluster name");
    c.value("configfs-root", "DIR", "configfs mount (default /sys/kernel/config)")
        .value("defaults", "FILE", "o2cb timeouts (default /etc/default/o2cb)")
        .value("local-node", "NAME", "this host's node name (default: the host name)");
  }
  {
    Subcommand& c = add("unregister", cmd_unregister, kernel, "remove the cluster from configfs");
    c.positional("CLUSTER", c.opt.arg1, "cluster name");
    c.value("configfs-root", "DIR", "configfs mount (default /sys/kernel/config)");
  }
  {
    Subcommand& c = add("probe", cmd_probe, volume, "read the OCFS2 superblock");
    c.positional("DEVICE", c.opt.arg1, "block device or image");
  }
  {
    Subcommand& c = add("check", cmd_check, volume,
                        "hold cluster.conf against the volume, print the fstab line");
    c.positional("DEVICE", c.opt.arg1, "block device or image");
    c.value("cluster", "NAME", "the cluster to check (default: the volume's)")
        .value("mount-point", "DIR", "mount point of the fstab line (default /var/lib/odoo)")
        .flag("strict", "warnings count as problems");
  }

  const char* failover = "gateway failover (timeouts)";
  auto timing_options = [&](Subcommand& c) {
    c.value("o2cb", "FILE", "o2cb settings (default /etc/default/o2cb)")
        .value("iscsid", "FILE",
               "open-iscsi settings or node record (default /etc/iscsi/iscsid.conf)")
        .value("takeover-seconds", "N", "target-side takeover time (default 10)")
        .value("margin-seconds", "N", "kept free under the heartbeat dead time (default 10)")
        .value("vendor", "TEXT", "INQUIRY vendor (default SHAREDSK)")
        .value("product", "TEXT", "INQUIRY product (default VIRTUAL-DISK, lun.yaml product:)");
    c.app->get_option("--takeover-seconds")->check(kWholeNumber);
    c.app->get_option("--margin-seconds")->check(kWholeNumber);
  };
  {
    Subcommand& c = add("check-failover", cmd_check_failover, failover,
                        "can a gateway failover finish before o2hb reboots the node?");
    timing_options(c);
    c.value("multipath", "FILE", "multipath settings (default /etc/multipath.conf)")
        .flag("no-multipath", "one gateway, no dm-multipath: replacement_timeout decides");
    c.app->get_option("--multipath")->excludes(c.app->get_option("--no-multipath"));
  }
  {
    Subcommand& c = add("multipath-stanza", cmd_multipath_stanza, failover,
                        "print the multipath.conf device entry for the target");
    timing_options(c);
    c.value("multipath", "FILE", "take polling_interval from this multipath.conf")
        .value("fast-io-fail-tmo", "N", "fast_io_fail_tmo to write (default 5)");
    c.app->get_option("--fast-io-fail-tmo")->check(kWholeNumber);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // "frobnicate" is an unknown command, not a missing one.
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--config") ++i;
      if (a.empty() || a[0] == '-' || a == "--config") continue;
      if (!commands.count(a)) return usage_error(g.json, "unknown command '" + a + "'");
      break;
    }
    return usage_error(g.json, e.what());
  }
  for (auto& [name, c] : commands) {
    if (!*c.app) continue;
    c.collect();
    try {
      Report r = c.run(g, c.opt);
      r.print(g.json);
      return r.exit_code();
    } catch (const UsageError& e) {
      return usage_error(g.json, e.what());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "sharedisk-ocfs2: %s\n", e.what());
      return 1;
    }
  }
  return usage_error(g.json, "no command given");
}
