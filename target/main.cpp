// sharedisk-target: the iSCSI target daemon, and its operator commands.
//
//   sharedisk-target [--config lun.yaml] [--log-level LEVEL] [--threads N] [--check] ...
//   sharedisk-target status [--json] [--socket PATH | --config lun.yaml]
//   sharedisk-target reload [--dry-run] [--socket PATH | --config lun.yaml]
//   sharedisk-target import-tgt FILE [--portal ADDRESS:PORT]...
//
// Without --config it serves the embedded demo: LUN 1 of iqn.2019-02.lb2:odcfs2
// on 127.0.0.1:3260, backed by a sparse 1 GiB file (--demo-file).
//
// The command line is CLI11's: "--opt value" and "--opt=value", numbers checked
// (a bad value names the option), exit status 2 for any usage error.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <string>

#include "config/config.h"
#include "daemon/admin_socket.h"
#include "daemon/daemon.h"
#include "daemon/import_tgt.h"
#include "daemon/logging.h"
#include "daemon/target_builder.h"
#include "sharedisk/version.h"

namespace {

constexpr const char* kDefaultDemoFile = "/var/tmp/sharedisk/demo-lun1.img";
constexpr const char* kDefaultSocket = "/run/sharedisk/admin.sock";

// A whole decimal number: CLI11 alone would take "0x10", "010" (octal) or "-1".
const CLI::Validator kWholeNumber(
    [](std::string& v) {
      return !v.empty() && v.size() <= 9 && v.find_first_not_of("0123456789") == std::string::npos
                 ? std::string()
                 : "needs a whole number (got '" + v + "')";
    },
    "");

const CLI::Validator kEndpoint(
    [](std::string& v) {
      sharedisk::config::Endpoint ep;
      std::string err = sharedisk::config::parse_endpoint(v, 3260, ep);
      return err.empty() ? err : "'" + v + "': " + err;
    },
    "");

struct ControlOptions {
  std::string socket, config, demo_file = kDefaultDemoFile;
  bool json = false, dry_run = false;
};

// The admin sockets `status` and `reload` try when neither --socket nor --config is given:
// the packaged daemon's, then the one the demo (no --config, as run-demo.sh starts it) uses
// beside its backing file.
std::vector<std::string> default_sockets(const std::string& demo_file) {
  std::vector<std::string> out{kDefaultSocket};
  std::string demo = sharedisk::config::embedded_default(demo_file).admin_socket;
  if (demo != out.front()) out.push_back(demo);
  return out;
}

// status / reload: one request to the daemon's admin socket.
int control_command(const std::string& request, const ControlOptions& o) {
  std::vector<std::string> sockets;
  if (!o.socket.empty()) {
    sockets.push_back(o.socket);
  } else if (!o.config.empty()) {
    try {
      sockets.push_back(sharedisk::config::load_file(o.config).admin_socket);
    } catch (const sharedisk::config::ConfigError& e) {
      std::fprintf(stderr, "sharedisk-target: %s\n", e.what());
      return 2;
    }
  } else {
    sockets = default_sockets(o.demo_file);
  }
  std::string errors;
  for (const std::string& socket : sockets) {
    sharedisk::daemon::AdminAnswer answer;
    std::string error;
    if (sharedisk::daemon::admin_request(socket, request, &answer, &error, 60000)) {
      std::fputs(answer.body.c_str(), answer.ok ? stdout : stderr);
      return answer.ok ? 0 : 1;
    }
    errors += (errors.empty() ? "" : "; ") + error;
  }
  std::fprintf(stderr, "sharedisk-target: cannot reach the daemon: %s\n", errors.c_str());
  return 1;
}

int import_tgt_command(const std::string& file, const std::vector<std::string>& portals) {
  sharedisk::daemon::ImportOptions options;
  if (!portals.empty()) options.portals = portals;
  try {
    auto result = file == "-" ? sharedisk::daemon::import_tgt_text(
                                    std::string(std::istreambuf_iterator<char>(std::cin), {}),
                                    "<stdin>", options)
                              : sharedisk::daemon::import_tgt_file(file, options);
    for (const std::string& note : result.notes) std::fprintf(stderr, "note: %s\n", note.c_str());
    std::fputs(result.yaml.c_str(), stdout);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sharedisk-target import-tgt: %s\n", e.what());
    return 1;
  }
}

struct DaemonOptions {
  std::string config_path, log_level, admin_socket, demo_file = kDefaultDemoFile;
  std::vector<std::string> portals;
  uint32_t threads = 0;
  bool threads_given = false, check_only = false;
};

int daemon_command(const DaemonOptions& o) {
  sharedisk::config::Config config;
  try {
    config = o.config_path.empty() ? sharedisk::config::embedded_default(o.demo_file)
                                   : sharedisk::config::load_file(o.config_path);
  } catch (const sharedisk::config::ConfigError& e) {
    std::fprintf(stderr, "sharedisk-target: %s\n", e.what());
    return 2;
  }
  sharedisk::daemon::Overrides overrides;
  if (o.threads_given) overrides.threads = o.threads;
  overrides.log_level = o.log_level;
  overrides.admin_socket = o.admin_socket;
  for (const std::string& p : o.portals) {
    sharedisk::config::Endpoint ep;
    sharedisk::config::parse_endpoint(p, 3260, ep);  // checked by kEndpoint
    overrides.portals.push_back(ep);
  }
  overrides.apply(config);
  auto level = spdlog::level::from_str(config.log_level);
  if (level == spdlog::level::off && config.log_level != "off") {
    std::fprintf(stderr, "sharedisk-target: unknown log level '%s'\n", config.log_level.c_str());
    return 2;
  }
  spdlog::set_level(level);
  sharedisk::daemon::setup_logging();
  if (o.check_only) {
    try {
      sharedisk::daemon::check_rbd_backings(config);
    } catch (const sharedisk::config::ConfigError& e) {
      std::fprintf(stderr, "sharedisk-target: %s\n", e.what());
      return 2;
    }
    // The demo's directory is created at start; a configuration file's backings must be there.
    auto problems = o.config_path.empty() ? std::vector<sharedisk::config::ConfigError>{}
                                          : sharedisk::daemon::check_backings(config);
    for (const auto& e : problems) std::fprintf(stderr, "sharedisk-target: %s\n", e.what());
    if (!problems.empty()) return 2;
    std::printf("%s: configuration OK (%zu target(s)%s)\n", config.source.c_str(),
                config.targets.size(), o.config_path.empty() ? "" : ", every backing checked");
    return 0;
  }
  if (o.config_path.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(o.demo_file).parent_path(), ec);
    spdlog::info("no --config given: serving the embedded demo (backing {})", o.demo_file);
  }
  return sharedisk::daemon::run(config, overrides);
}

void add_control_options(CLI::App& cmd, ControlOptions& o) {
  auto* socket = cmd.add_option("--socket", o.socket, "the daemon's admin socket");
  cmd.add_option("-c,--config", o.config, "take the admin socket from this lun.yaml")
      ->excludes(socket);
  cmd.add_option("--demo-file", o.demo_file, "reach the demo daemon started with this --demo-file")
      ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "sharedisk-target: a userspace iSCSI target (RFC 7143) serving files and block\n"
      "devices as SCSI disks.",
      "sharedisk-target"};
  app.set_version_flag("--version", std::string("sharedisk-target ") + SHAREDISK_VERSION,
                       "print the version and exit");
  app.require_subcommand(0, 1);
  app.footer(
      "Without --config the embedded demo is served: LUN 1 of iqn.2019-02.lb2:odcfs2 on\n"
      "127.0.0.1:3260. status/reload talk to a running daemon through its admin socket\n"
      "(--socket, admin_socket of --config FILE, else /run/sharedisk/admin.sock and then the\n"
      "demo's socket beside --demo-file). Exit status: 0 ok, 1 failure, 2 usage or\n"
      "configuration error.\n");

  DaemonOptions d;
  app.add_option("-c,--config", d.config_path, "lun.yaml to serve (default: the embedded demo)")
      ->type_name("FILE");
  app.add_option("--log-level", d.log_level,
                 "trace|debug|info|warn|error|critical|off (overrides the file)")
      ->type_name("LEVEL");
  app.add_option("--threads", d.threads, "network event loops (overrides the file; 0 = per core)")
      ->check(kWholeNumber)
      ->type_name("N");
  app.add_flag("--check", d.check_only,
               "validate the configuration, open every backing read-only, and exit");
  app.add_option("--demo-file", d.demo_file, "backing file of the embedded demo")
      ->capture_default_str()
      ->type_name("PATH");
  app.add_option("--admin-socket", d.admin_socket, "admin socket (overrides admin_socket)")
      ->type_name("PATH");
  app.add_option("--portal", d.portals, "listen here instead of the file's portals (repeatable)")
      ->check(kEndpoint)
      ->type_name("ADDRESS[:PORT]");

  ControlOptions status_o, reload_o;
  CLI::App* status = app.add_subcommand(
      "status", "targets, LUNs, sessions, negotiated parameters and I/O counters");
  status->add_flag("--json", status_o.json, "one JSON object");
  add_control_options(*status, status_o);
  CLI::App* reload =
      app.add_subcommand("reload", "re-read the daemon's lun.yaml and apply it (like SIGHUP)");
  reload->add_flag("--dry-run", reload_o.dry_run,
                   "print what a reload would change, change nothing");
  add_control_options(*reload, reload_o);

  std::string tgt_file;
  std::vector<std::string> tgt_portals;
  CLI::App* import =
      app.add_subcommand("import-tgt", "print a lun.yaml converted from a tgt targets.conf");
  import->add_option("FILE", tgt_file, "targets.conf or `tgt-admin --dump` output; - for stdin")
      ->required()
      ->type_name("");
  import->add_option("--portal", tgt_portals, "portal of the generated file (repeatable)")
      ->type_name("ADDRESS[:PORT]");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::fprintf(stderr, "sharedisk-target: %s\n(run 'sharedisk-target --help' for usage)\n",
                 e.what());
    return 2;
  }
  d.threads_given = app.count("--threads") > 0;
  if (*status) return control_command(status_o.json ? "status --json" : "status", status_o);
  if (*reload) return control_command(reload_o.dry_run ? "reload --dry-run" : "reload", reload_o);
  if (*import) return import_tgt_command(tgt_file, tgt_portals);
  return daemon_command(d);
}
