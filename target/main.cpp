// sharedisk-target: the iSCSI target daemon, and its operator commands.
//
//   sharedisk-target [--config lun.yaml] [--log-level LEVEL] [--threads N] [--check]
//   sharedisk-target status [--json] [--socket PATH | --config lun.yaml]
//   sharedisk-target reload [--socket PATH | --config lun.yaml]
//   sharedisk-target import-tgt FILE [--portal ADDRESS:PORT]...
//
// Without --config it serves the embedded demo: LUN 1 of iqn.2019-02.lb2:odcfs2
// on 127.0.0.1:3260, backed by a sparse 1 GiB file (--demo-file).
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>
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

namespace {

constexpr const char* kDefaultDemoFile = "/var/tmp/sharedisk/demo-lun1.img";

void usage(FILE* out) {
  std::fprintf(
      out,
      "usage: sharedisk-target [--config FILE] [--log-level LEVEL] [--threads N] [--check]\n"
      "                        [--demo-file PATH] [--admin-socket PATH]\n"
      "       sharedisk-target status [--json] [--socket PATH | --config FILE]\n"
      "       sharedisk-target reload [--socket PATH | --config FILE]\n"
      "       sharedisk-target import-tgt FILE [--portal ADDRESS[:PORT]]...\n"
      "  --config FILE     lun.yaml to serve (default: the embedded demo target)\n"
      "  --log-level LEVEL trace|debug|info|warn|error|critical|off (overrides the file)\n"
      "  --threads N       network event loops (overrides the file; 0 = one per core)\n"
      "  --check           validate the configuration and exit\n"
      "  --demo-file PATH  backing file of the embedded demo (default %s)\n"
      "  --admin-socket PATH  admin socket (overrides admin_socket of the file)\n"
      "status/reload talk to a running daemon through its admin socket (default\n"
      "/run/sharedisk/admin.sock, or admin_socket of --config FILE); reload re-reads the\n"
      "daemon's configuration file like SIGHUP. import-tgt prints a lun.yaml converted from\n"
      "a tgt targets.conf or `tgt-admin --dump` output.\n",
      kDefaultDemoFile);
}

// status / reload: one request to the daemon's admin socket.
int control_command(const std::string& command, int argc, char** argv) {
  std::string socket = "/run/sharedisk/admin.sock", request = command;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--json" && command == "status") {
      request = "status --json";
    } else if ((arg == "--socket" || arg == "--config" || arg == "-c") && i + 1 < argc) {
      std::string v = argv[++i];
      if (arg == "--socket") {
        socket = v;
      } else {
        try {
          socket = sharedisk::config::load_file(v).admin_socket;
        } catch (const sharedisk::config::ConfigError& e) {
          std::fprintf(stderr, "sharedisk-target: %s\n", e.what());
          return 2;
        }
      }
    } else {
      std::fprintf(stderr, "sharedisk-target %s: unknown argument '%s'\n", command.c_str(),
                   arg.c_str());
      return 2;
    }
  }
  sharedisk::daemon::AdminAnswer answer;
  std::string error;
  if (!sharedisk::daemon::admin_request(socket, request, &answer, &error, 60000)) {
    std::fprintf(stderr, "sharedisk-target: cannot reach the daemon: %s\n", error.c_str());
    return 1;
  }
  std::fputs(answer.body.c_str(), answer.ok ? stdout : stderr);
  return answer.ok ? 0 : 1;
}

int import_tgt_command(int argc, char** argv) {
  std::string file;
  sharedisk::daemon::ImportOptions options;
  bool portal_given = false;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--portal" && i + 1 < argc) {
      if (!portal_given) options.portals.clear();
      portal_given = true;
      options.portals.push_back(argv[++i]);
    } else if (file.empty() && !arg.empty() && arg[0] != '-') {
      file = arg;
    } else {
      std::fprintf(stderr, "sharedisk-target import-tgt: unknown argument '%s'\n", arg.c_str());
      return 2;
    }
  }
  if (file.empty()) {
    std::fprintf(stderr, "usage: sharedisk-target import-tgt FILE [--portal ADDRESS[:PORT]]...\n");
    return 2;
  }
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

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2) {
    std::string command = argv[1];
    if (command == "status" || command == "reload") return control_command(command, argc, argv);
    if (command == "import-tgt") return import_tgt_command(argc, argv);
  }
  std::string config_path, log_level, admin_socket, demo_file = kDefaultDemoFile;
  int threads = -1;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char* name) -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "sharedisk-target: %s needs a value\n", name);
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--config" || arg == "-c")
      config_path = value("--config");
    else if (arg == "--log-level")
      log_level = value("--log-level");
    else if (arg == "--threads")
      threads = std::atoi(value("--threads").c_str());
    else if (arg == "--admin-socket")
      admin_socket = value("--admin-socket");
    else if (arg == "--demo-file")
      demo_file = value("--demo-file");
    else if (arg == "--check")
      check_only = true;
    else if (arg == "--help" || arg == "-h") {
      usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "sharedisk-target: unknown argument '%s'\n", arg.c_str());
      usage(stderr);
      return 2;
    }
  }

  sharedisk::config::Config config;
  try {
    config = config_path.empty() ? sharedisk::config::embedded_default(demo_file)
                                 : sharedisk::config::load_file(config_path);
  } catch (const sharedisk::config::ConfigError& e) {
    std::fprintf(stderr, "sharedisk-target: %s\n", e.what());
    return 2;
  }
  sharedisk::daemon::Overrides overrides;
  if (threads >= 0) overrides.threads = uint32_t(threads);
  overrides.log_level = log_level;
  overrides.admin_socket = admin_socket;
  overrides.apply(config);
  auto level = spdlog::level::from_str(config.log_level);
  if (level == spdlog::level::off && config.log_level != "off") {
    std::fprintf(stderr, "sharedisk-target: unknown log level '%s'\n", config.log_level.c_str());
    return 2;
  }
  spdlog::set_level(level);
  sharedisk::daemon::setup_logging();
  if (check_only) {
    try {
      sharedisk::daemon::check_rbd_backings(config);
    } catch (const sharedisk::config::ConfigError& e) {
      std::fprintf(stderr, "sharedisk-target: %s\n", e.what());
      return 2;
    }
    std::printf("%s: configuration OK (%zu target(s))\n", config.source.c_str(),
                config.targets.size());
    return 0;
  }
  if (config_path.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(demo_file).parent_path(), ec);
    spdlog::info("no --config given: serving the embedded demo (backing {})", demo_file);
  }
  return sharedisk::daemon::run(config, overrides);
}
