// sharedisk-target: the iSCSI target daemon.
//
//   sharedisk-target [--config lun.yaml] [--log-level LEVEL] [--threads N] [--check]
//
// Without --config it serves the embedded demo: LUN 1 of iqn.2019-02.lb2:odcfs2
// on 127.0.0.1:3260, backed by a sparse 1 GiB file (--demo-file).
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "config/config.h"
#include "daemon/daemon.h"

namespace {

constexpr const char* kDefaultDemoFile = "/var/tmp/sharedisk/demo-lun1.img";

void usage(FILE* out) {
  std::fprintf(
      out,
      "usage: sharedisk-target [--config FILE] [--log-level LEVEL] [--threads N] [--check]\n"
      "                        [--demo-file PATH]\n"
      "  --config FILE     lun.yaml to serve (default: the embedded demo target)\n"
      "  --log-level LEVEL trace|debug|info|warn|error|critical|off (overrides the file)\n"
      "  --threads N       network event loops (overrides the file; 0 = one per core)\n"
      "  --check           validate the configuration and exit\n"
      "  --demo-file PATH  backing file of the embedded demo (default %s)\n",
      kDefaultDemoFile);
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path, log_level, demo_file = kDefaultDemoFile;
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
  if (threads >= 0) config.threads = uint32_t(threads);
  if (!log_level.empty()) config.log_level = log_level;
  auto level = spdlog::level::from_str(config.log_level);
  if (level == spdlog::level::off && config.log_level != "off") {
    std::fprintf(stderr, "sharedisk-target: unknown log level '%s'\n", config.log_level.c_str());
    return 2;
  }
  spdlog::set_level(level);
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  if (check_only) {
    std::printf("%s: configuration OK (%zu target(s))\n", config.source.c_str(),
                config.targets.size());
    return 0;
  }
  if (config_path.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(demo_file).parent_path(), ec);
    spdlog::info("no --config given: serving the embedded demo (backing {})", demo_file);
  }
  return sharedisk::daemon::run(config);
}
