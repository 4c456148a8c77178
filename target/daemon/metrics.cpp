#include "daemon/metrics.h"

#include <spdlog/fmt/fmt.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <map>

#include "blockdev/block_device.h"
#include "blockdev/rbd_stats.h"

namespace sharedisk::daemon {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void help(std::string& out, const char* name, const char* type, const char* text) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, text, name, type);
}

struct HttpSession : std::enable_shared_from_this<HttpSession> {
  HttpSession(tcp::socket s, const DaemonState& st)
      : socket(std::move(s)), timer(socket.get_executor()), buffer(8192), state(st) {}
  void start() {
    timer.expires_after(std::chrono::seconds(5));
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) {
        boost::system::error_code ignored;
        self->socket.close(ignored);
      }
    });
    asio::async_read_until(socket, buffer, "\r\n\r\n",
                           [self = shared_from_this()](const boost::system::error_code& ec,
                                                       size_t n) { self->on_request(ec, n); });
  }
  void on_request(const boost::system::error_code& ec, size_t n) {
    if (ec) return;
    std::string head(asio::buffers_begin(buffer.data()), asio::buffers_begin(buffer.data()) + n);
    std::string line = head.substr(0, head.find("\r\n"));
    std::string status = "200 OK", type = "text/plain; version=0.0.4; charset=utf-8", body;
    bool get = line.rfind("GET ", 0) == 0, headreq = line.rfind("HEAD ", 0) == 0;
    std::string target = line.substr(line.find(' ') + 1);
    target = target.substr(0, target.find(' '));
    if (!get && !headreq) {
      status = "405 Method Not Allowed";
      type = "text/plain";
      body = "only GET\n";
    } else if (target == "/metrics" || target.rfind("/metrics?", 0) == 0) {
      body = render_metrics(state);
    } else if (target == "/") {
      type = "text/html";
      body = "<html><body><a href=\"/metrics\">metrics</a></body></html>\n";
    } else {
      status = "404 Not Found";
      type = "text/plain";
      body = "not found\n";
    }
    reply = fmt::format(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n"
        "Connection: close\r\n\r\n",
        status, type, body.size());
    if (!headreq) reply += body;
    asio::async_write(socket, asio::buffer(reply),
                      [self = shared_from_this()](const boost::system::error_code&, size_t) {
                        boost::system::error_code ignored;
                        self->socket.shutdown(tcp::socket::shutdown_both, ignored);
                        self->timer.cancel();
                      });
  }
  tcp::socket socket;
  asio::steady_timer timer;
  asio::streambuf buffer;
  const DaemonState& state;
  std::string reply;
};

}  // namespace

std::string render_metrics(const DaemonState& state) {
  std::string out;
  auto sessions = state.context.sessions.sessions();
  auto targets = state.context.registry.targets();

  help(out, "sharedisk_up", "gauge", "1 while the target daemon serves.");
  out += "sharedisk_up 1\n";
  help(out, "sharedisk_uptime_seconds", "gauge", "Seconds since the daemon started.");
  out += fmt::format("sharedisk_uptime_seconds {}\n",
                     std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now() - state.started)
                         .count());
  help(out, "sharedisk_login_failures_total", "counter", "Logins refused by the target.");
  out += fmt::format("sharedisk_login_failures_total {}\n",
                     state.context.login_failures.load(std::memory_order_relaxed));
  help(out, "sharedisk_reloads_total", "counter", "Configuration reloads by result.");
  out += fmt::format("sharedisk_reloads_total{{result=\"ok\"}} {}\n", state.reloads_ok.load());
  out += fmt::format("sharedisk_reloads_total{{result=\"refused\"}} {}\n",
                     state.reloads_refused.load());

  std::map<std::string, size_t> per_target;
  size_t discovery = 0;
  for (const auto& [info, conn] : sessions) {
    if (info.key.target.empty())
      ++discovery;
    else
      per_target[info.key.target]++;
  }
  help(out, "sharedisk_sessions", "gauge", "Logged-in normal sessions per target.");
  for (const auto& t : targets)
    out +=
        fmt::format("sharedisk_sessions{{target=\"{}\"}} {}\n", label(t->iqn), per_target[t->iqn]);
  help(out, "sharedisk_discovery_sessions", "gauge", "Logged-in discovery sessions.");
  out += fmt::format("sharedisk_discovery_sessions {}\n", discovery);

  struct Row {
    std::string labels;
    const iscsi::LunInfo* lun;
    iscsi::IoTotals io;
  };
  std::vector<Row> rows;
  for (const auto& t : targets)
    for (const iscsi::LunInfo& l : t->luns())
      rows.push_back({fmt::format("target=\"{}\",lun=\"{}\"", label(t->iqn), l.number), &l,
                      l.stats->totals()});

  help(out, "sharedisk_lun_size_bytes", "gauge", "Capacity of the LUN.");
  for (const Row& r : rows)
    out += fmt::format("sharedisk_lun_size_bytes{{{}}} {}\n", r.labels, r.lun->size_bytes);
  const char* kinds[] = {"read", "write", "other"};
  help(out, "sharedisk_lun_io_ops_total", "counter", "Completed SCSI commands by data direction.");
  for (const Row& r : rows)
    for (int k = 0; k < 3; ++k)
      out += fmt::format("sharedisk_lun_io_ops_total{{{},op=\"{}\"}} {}\n", r.labels, kinds[k],
                         r.io.ops[k]);
  help(out, "sharedisk_lun_io_bytes_total", "counter", "Data moved by completed commands.");
  for (const Row& r : rows)
    for (int k = 0; k < 2; ++k)
      out += fmt::format("sharedisk_lun_io_bytes_total{{{},op=\"{}\"}} {}\n", r.labels, kinds[k],
                         r.io.bytes[k]);
  help(out, "sharedisk_lun_io_errors_total", "counter",
       "Commands that ended with a status other than GOOD.");
  for (const Row& r : rows)
    out += fmt::format("sharedisk_lun_io_errors_total{{{}}} {}\n", r.labels, r.io.errors);
  help(out, "sharedisk_lun_io_latency_seconds", "histogram",
       "Command latency from the command PDU to the response.");
  for (const Row& r : rows) {
    uint64_t cumulative = 0;
    for (size_t b = 0; b < iscsi::kLatencyBucketsUs.size(); ++b) {
      cumulative += r.io.latency_buckets[b];
      out += fmt::format("sharedisk_lun_io_latency_seconds_bucket{{{},le=\"{}\"}} {}\n", r.labels,
                         double(iscsi::kLatencyBucketsUs[b]) / 1e6, cumulative);
    }
    cumulative += r.io.latency_buckets.back();
    out += fmt::format("sharedisk_lun_io_latency_seconds_bucket{{{},le=\"+Inf\"}} {}\n", r.labels,
                       cumulative);
    out += fmt::format("sharedisk_lun_io_latency_seconds_sum{{{}}} {}\n", r.labels,
                       double(r.io.latency_sum_us) / 1e6);
    out += fmt::format("sharedisk_lun_io_latency_seconds_count{{{}}} {}\n", r.labels, cumulative);
  }
  // RBD LUNs: librbd's side of each request (submit to completion).
  bool any_rbd = false;
  for (const Row& r : rows) any_rbd = any_rbd || r.lun->rbd != nullptr;
  if (!any_rbd) return out;
  struct RbdMetric {
    const char* name;
    const char* help;
    std::atomic<uint64_t> blockdev::RbdStats::*field;
    bool lock = false;  // only LUNs whose exclusive lock is watched (implicit ALUA)
  };
  const RbdMetric rbd_metrics[] = {
      {"sharedisk_lun_rbd_requests_total", "Requests librbd completed.", &blockdev::RbdStats::ops},
      {"sharedisk_lun_rbd_errors_total", "Requests librbd failed.", &blockdev::RbdStats::errors},
      {"sharedisk_lun_rbd_timeouts_total", "Requests that failed after rbd_timeout.",
       &blockdev::RbdStats::timeouts},
      {"sharedisk_lun_alua_transitions_total",
       "Exclusive lock holder changes seen on an RBD LUN (implicit ALUA transitions).",
       &blockdev::RbdStats::owner_changes, true},
      {"sharedisk_lun_alua_failovers_total",
       "Times this gateway acquired the exclusive lock after start (failover, failback).",
       &blockdev::RbdStats::lock_acquired, true},
      {"sharedisk_lun_lock_dwell_held_total",
       "Writes held back on this gateway until the exclusive lock had stayed put for "
       "gateway.lock_dwell_ms.",
       &blockdev::RbdStats::held_total, true},
  };
  auto watched = [](const Row& r) {
    return r.lun->rbd && r.lun->rbd->owner_watched.load(std::memory_order_relaxed);
  };
  for (const RbdMetric& m : rbd_metrics) {
    help(out, m.name, "counter", m.help);
    for (const Row& r : rows)
      if (r.lun->rbd && (!m.lock || watched(r)))
        out += fmt::format("{}{{{}}} {}\n", m.name, r.labels,
                           (r.lun->rbd.get()->*m.field).load(std::memory_order_relaxed));
  }
  help(out, "sharedisk_lun_alua_lock_owner", "gauge",
       "1 while this gateway holds the LUN's exclusive lock.");
  for (const Row& r : rows)
    if (watched(r))
      out += fmt::format("sharedisk_lun_alua_lock_owner{{{}}} {}\n", r.labels,
                         r.lun->rbd->owner_holder.load(std::memory_order_relaxed) ==
                                 uint8_t(blockdev::LockOwner::Holder::kThisGateway)
                             ? 1
                             : 0);
  help(out, "sharedisk_lun_rbd_latency_seconds_total", "counter",
       "Summed librbd latency of the completed requests (divide by requests_total).");
  for (const Row& r : rows)
    if (r.lun->rbd)
      out += fmt::format("sharedisk_lun_rbd_latency_seconds_total{{{}}} {}\n", r.labels,
                         double(r.lun->rbd->latency_ns.load(std::memory_order_relaxed)) / 1e9);
  return out;
}

MetricsServer::MetricsServer(asio::io_context& io, const config::Endpoint& listen,
                             const DaemonState& state)
    : state_(state), acceptor_(io) {
  try {
    tcp::endpoint ep(asio::ip::make_address(listen.address), listen.port);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("metrics: cannot listen on " + listen.to_string() + ": " +
                             e.code().message());
  }
  accept();
}

void MetricsServer::accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket s) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) std::make_shared<HttpSession>(std::move(s), state_)->start();
    if (acceptor_.is_open()) accept();
  });
}

}  // namespace sharedisk::daemon
