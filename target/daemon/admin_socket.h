// The Unix admin socket: one request line in ("status", "status --json",
// "reload"), one answer out, then the server closes. The answer's first line
// is "ok" or "error", the rest is for the operator. The server runs on the
// control io_context; requests are handled one at a time on that thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <functional>
#include <string>

namespace sharedisk::daemon {

struct AdminAnswer {
  bool ok = true;
  std::string body;
};

class AdminServer {
 public:
  using Handler = std::function<AdminAnswer(const std::string& request)>;
  // Creates the parent directory if needed, replaces a stale socket file and
  // listens (mode 0660). Throws std::runtime_error naming the path.
  AdminServer(boost::asio::io_context& io, std::string path, Handler handler);
  ~AdminServer();
  const std::string& path() const { return path_; }

 private:
  void accept();
  boost::asio::io_context& io_;
  std::string path_;
  Handler handler_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
};

// Client side: sends `request` to the daemon at `path` (waiting at most
// `timeout_ms`). Returns false with `error` when the daemon cannot be reached.
bool admin_request(const std::string& path, const std::string& request, AdminAnswer* answer,
                   std::string* error, int timeout_ms = 10000);

}  // namespace sharedisk::daemon
