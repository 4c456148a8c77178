// What the daemon's control side (admin socket, SIGHUP, metrics) works on: the
// running configuration and the serving context. Touched by the control thread
// only, except the atomics and what ServerContext guards itself.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "iscsi/connection.h"

namespace sharedisk::daemon {

// Command-line settings that override the file, also after a reload.
struct Overrides {
  std::optional<uint32_t> threads;
  std::string log_level;
  std::string admin_socket;
  std::vector<config::Endpoint> portals;  // --portal: replaces the file's portals
  void apply(config::Config& c) const {
    if (threads) c.threads = *threads;
    if (!log_level.empty()) c.log_level = log_level;
    if (!admin_socket.empty()) c.admin_socket = admin_socket;
    if (!portals.empty()) c.portals = portals;
  }
};

struct DaemonState {
  DaemonState(config::Config c, iscsi::ServerContext& ctx) : config(std::move(c)), context(ctx) {}
  Overrides overrides;
  config::Config config;  // as running (a refused reload leaves it untouched)
  iscsi::ServerContext& context;
  std::vector<boost::asio::io_context*> loops;
  std::chrono::system_clock::time_point started = std::chrono::system_clock::now();
  std::atomic<uint64_t> reloads_ok{0};
  std::atomic<uint64_t> reloads_refused{0};
};

}  // namespace sharedisk::daemon
