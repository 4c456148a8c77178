// The network side of the daemon: N event loops (one thread and io_context
// each), the listening portals, and the hand-off of each accepted socket to
// the least-loaded loop.
#pragma once

#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "config/config.h"
#include "iscsi/connection.h"
#include "iscsi/event_loop.h"

namespace sharedisk::iscsi {

class Server {
 public:
  Server(ServerContext& context, unsigned threads);
  ~Server();

  // Binds every portal; throws std::runtime_error naming the address on failure.
  void listen(const std::vector<config::Endpoint>& portals);
  std::vector<boost::asio::io_context*> loop_contexts() const;
  // The port actually bound by portal i (useful with port 0).
  uint16_t bound_port(size_t i) const;

  void start();           // starts the loop threads and accepting
  void stop_accepting();  // closes the listeners (thread-safe)
  // Closes every connection, lets commands already in the SCSI layer finish
  // (bounded by `timeout_s`), then stops and joins the loops.
  void shutdown(unsigned timeout_s);

 private:
  void accept(size_t portal);
  // Applies the connection limits, then hands the socket to `loop`.
  void admit(boost::asio::ip::tcp::socket socket, EventLoop& loop);
  ServerContext& context_;
  std::vector<std::unique_ptr<EventLoop>> loops_;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
  std::vector<std::thread> threads_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guards_;
};

}  // namespace sharedisk::iscsi
