// One iSCSI connection on a TCP socket: the Asio adapter around the
// socket-free ConnectionEngine (connection_engine.h), which holds every rule
// of the protocol. This file only moves bytes: it reads from the socket into
// the engine's receive window (a command's buffer for large data segments),
// writes the engine's PDUs as one gather write per event-loop turn, and runs
// the engine's one-second tick on a timer.
//
// A Connection lives on one event loop and is touched only by that loop's
// thread (close() may be requested from elsewhere with post_close()).
#pragma once

#include <memory>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "iscsi/connection_engine.h"
#include "util/loop_turn.h"

namespace sharedisk::iscsi {

struct ConnectionStats {
  std::string initiator;
  std::string peer;
  std::string target;
  uint16_t tsih = 0;
  bool discovery = false;
};

class Connection final : public ConnectionEngine, private util::Deferred {
 public:
  Connection(ServerContext& server, EventLoop& loop, boost::asio::ip::tcp::socket socket);
  ~Connection() override;

  void start();

 private:
  std::shared_ptr<Connection> self() {
    return std::static_pointer_cast<Connection>(shared_from_this());
  }
  void read_more();
  void on_read(const boost::system::error_code& ec, size_t n, bool direct);
  void arm_timer();

  // ConnectionEngine's transport hooks.
  void want_output() override;
  void want_input() override { read_more(); }
  void closing() override;

  void run_deferred() override;  // the flush want_output() deferred
  void flush();
  void on_written(const boost::system::error_code& ec);

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  bool reading_ = false;
  std::vector<boost::asio::const_buffer> gather_;
  bool writing_ = false;
  bool flush_scheduled_ = false;
};

}  // namespace sharedisk::iscsi
