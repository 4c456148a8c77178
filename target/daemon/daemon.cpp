#include "daemon/daemon.h"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "daemon/admin_socket.h"
#include "daemon/metrics.h"
#include "daemon/reload.h"
#include "daemon/resize_events.h"
#include "daemon/sd_notify.h"
#include "daemon/state.h"
#include "daemon/status.h"
#include "daemon/target_builder.h"
#include "iscsi/portal.h"

namespace sharedisk::daemon {

namespace {

void fill_context(const config::Config& config, iscsi::ServerContext& context) {
  context.limits = config.iscsi;
  context.bounds = config.limits;
  context.gate.configure(config.limits.max_connections, config.limits.max_connections_per_address);
  context.registry.set_portals(config.portals);
  context.registry.set_portal_group_tag(config.gateway ? config.gateway->group
                                                       : iscsi::kPortalGroupTag);
  context.registry.set_retire_delay(std::chrono::seconds(config.iscsi.login_timeout_s + 5));
}

std::string ready_status(const DaemonState& state) {
  return "STATUS=serving " + std::to_string(state.context.registry.targets().size()) +
         " target(s), " + std::to_string(state.context.sessions.size()) + " session(s)";
}

AdminAnswer handle_admin(DaemonState& state, const std::string& request) {
  if (request == "ping") return {true, "pong\n"};
  if (request == "status") return {true, status_text(state)};
  if (request == "status --json" || request == "status json") return {true, status_json(state)};
  if (request == "metrics") return {true, render_metrics(state)};
  if (request == "reload") {
    sd_notify("RELOADING=1");
    ReloadResult r = reload(state);
    sd_notify("READY=1\n" + ready_status(state));
    return {r.ok, r.message + (r.message.empty() || r.message.back() == '\n' ? "" : "\n")};
  }
  if (request == "reload --dry-run") {
    ReloadResult r = dry_run(state);
    return {r.ok, r.message};
  }
  return {false, "unknown request '" + request +
                     "' (status, status --json, reload, reload --dry-run, ping)\n"};
}

// Once armed, ends the process if it is still stopping after `limit`. A
// backing store that no longer answers (an RBD image whose cluster is gone)
// makes closing it wait without bound: librbd releases the exclusive lock and
// librados says goodbye to the monitors. Every acknowledged write is already
// on the store by then (connections are closed, their commands answered), so
// leaving without closing it loses nothing acknowledged.
class StopDeadline {
 public:
  StopDeadline() = default;
  StopDeadline(const StopDeadline&) = delete;
  StopDeadline& operator=(const StopDeadline&) = delete;
  ~StopDeadline() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  void arm(std::chrono::seconds limit) {
    thread_ = std::thread([this, limit] {
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, limit, [this] { return done_; })) return;
      spdlog::critical(
          "still stopping {} s after the last connection closed: a backing store does not "
          "answer (an RBD cluster gone?); exiting without closing it (every acknowledged "
          "write is already on it)",
          limit.count());
      spdlog::default_logger()->flush();
      std::_Exit(1);
    });
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::thread thread_;
};

constexpr unsigned kDrainSeconds = 30;  // in-flight commands finish
constexpr std::chrono::seconds kCloseLimit{10};

}  // namespace

int run(const config::Config& config, const Overrides& overrides) {
  // Declared first: it outlives (and bounds) the closing of every store below.
  StopDeadline stop_deadline;
  // 1. Nothing is created until every backing passed its check.
  for (const config::Target& t : config.targets) {
    for (const config::Lun& lun : t.luns) {
      std::string problem = precheck_backing(lun, t.iqn);
      if (!problem.empty()) {
        spdlog::critical("{}", problem);
        return 1;
      }
    }
  }

  iscsi::ServerContext context;
  fill_context(config, context);
  unsigned threads =
      config.threads != 0 ? config.threads : std::max(1u, std::thread::hardware_concurrency());
  iscsi::Server server(context, threads);
  DaemonState state(config, context);
  state.overrides = overrides;
  state.loops = server.loop_contexts();

  // 2. Portals: a port in use fails here, still before anything is created.
  try {
    server.listen(config.portals);
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }

  // 3. Backing stores and SCSI devices.
  ResizeEvents resize_events(context);
  // Installed for the life of resize_events, whichever way this function returns.
  struct WatcherScope {
    explicit WatcherScope(ResizeEvents& events) {
      set_size_watcher(
          [&events](const std::string& iqn, uint64_t lun) { return events.watcher(iqn, lun); });
      set_owner_watcher([&events](const std::string& iqn, uint64_t lun) {
        return events.owner_watcher(iqn, lun);
      });
    }
    ~WatcherScope() {
      set_size_watcher(nullptr);
      set_owner_watcher(nullptr);
    }
  } watcher_scope(resize_events);
  try {
    std::error_code ec;
    std::filesystem::create_directories(config.state_dir, ec);
    if (ec)
      throw std::runtime_error("cannot create state_dir " + config.state_dir + ": " + ec.message());
    for (const config::Target& t : config.targets)
      context.registry.add(build_target(config, t, state.loops));
    // CHAP secrets file (mode and owner checked) and read-only initiators.
    context.security.set(iscsi::build_security_policy(config));
  } catch (const config::ConfigError& e) {
    // An RBD image that cannot be opened: a configuration error, like --check.
    spdlog::critical("{}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }

  // 4. Control side: admin socket, metrics, signals.
  boost::asio::io_context control;
  std::optional<AdminServer> admin;
  if (!config.admin_socket.empty()) {
    try {
      admin.emplace(control, config.admin_socket,
                    [&state](const std::string& request) { return handle_admin(state, request); });
      spdlog::info("admin socket {}", config.admin_socket);
    } catch (const std::exception& e) {
      spdlog::warn(
          "{}: `sharedisk-target status` and `reload` will not work (SIGHUP still "
          "reloads)",
          e.what());
    }
  }
  std::optional<MetricsServer> metrics;
  if (config.metrics.listen) {
    try {
      metrics.emplace(control, *config.metrics.listen, state);
      spdlog::info("metrics on http://{}/metrics", config.metrics.listen->to_string());
    } catch (const std::exception& e) {
      spdlog::critical("{}", e.what());
      return 1;
    }
  }
  boost::asio::signal_set stop_signals(control, SIGINT, SIGTERM);
  stop_signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    spdlog::info("signal {}: stopping (finishing in-flight commands)", signo);
    control.stop();
  });
  boost::asio::signal_set hup(control, SIGHUP);
  std::function<void()> wait_hup = [&] {
    hup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      spdlog::info("SIGHUP: reloading {}", state.config.source);
      sd_notify("RELOADING=1");
      reload(state);
      sd_notify("READY=1\n" + ready_status(state));
      wait_hup();
    });
  };
  wait_hup();

  server.start();
  if (config.gateway) {
    std::string peers;
    for (const config::GatewayPeer& p : config.gateway->peers)
      peers += (peers.empty() ? "" : ", ") + p.name + " (group " + std::to_string(p.group) +
               (p.portal ? ", " + p.portal->to_string() : "") + ")";
    spdlog::info("gateway {}: ALUA target port group {}; peers: {}", config.gateway->name,
                 config.gateway->group, peers.empty() ? "none" : peers);
  }
  spdlog::info("sharedisk-target ready: {} target(s), {} event loop(s)", config.targets.size(),
               threads);
  sd_notify("READY=1\n" + ready_status(state) + "\nMAINPID=" + std::to_string(::getpid()));
  resize_events.start(control);
  control.run();
  resize_events.stop();

  sd_notify("STOPPING=1");
  admin.reset();
  metrics.reset();
  server.shutdown(kDrainSeconds);
  stop_deadline.arm(kCloseLimit);
  spdlog::info("stopped");
  return 0;
}

}  // namespace sharedisk::daemon
