// Prometheus metrics: the text exposition format (version 0.0.4) rendered from
// the daemon's counters, and a tiny HTTP/1.x server answering GET /metrics on
// the control io_context (one request per connection, 5 s to send it).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <string>

#include "config/config.h"
#include "daemon/state.h"

namespace sharedisk::daemon {

std::string render_metrics(const DaemonState& state);

class MetricsServer {
 public:
  // Throws std::runtime_error naming the endpoint when it cannot listen.
  MetricsServer(boost::asio::io_context& io, const config::Endpoint& listen,
                const DaemonState& state);
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  void accept();
  const DaemonState& state_;
  boost::asio::ip::tcp::acceptor acceptor_;
};

}  // namespace sharedisk::daemon
