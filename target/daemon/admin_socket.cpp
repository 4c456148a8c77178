#include "daemon/admin_socket.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

namespace sharedisk::daemon {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;

namespace {
constexpr size_t kMaxRequest = 4096;

struct AdminSession : std::enable_shared_from_this<AdminSession> {
  AdminSession(local::socket s, AdminServer::Handler& h)
      : socket(std::move(s)), buffer(kMaxRequest), handler(h) {}
  void start() {
    asio::async_read_until(socket, buffer, '\n',
                           [self = shared_from_this()](const boost::system::error_code& ec,
                                                       size_t n) { self->on_request(ec, n); });
  }
  void on_request(const boost::system::error_code& ec, size_t n) {
    if (ec) return;
    std::string line(asio::buffers_begin(buffer.data()), asio::buffers_begin(buffer.data()) + n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    AdminAnswer a;
    try {
      a = handler(line);
    } catch (const std::exception& e) {
      a = {false, std::string(e.what()) + "\n"};
    }
    answer = (a.ok ? "ok\n" : "error\n") + a.body;
    asio::async_write(socket, asio::buffer(answer),
                      [self = shared_from_this()](const boost::system::error_code&, size_t) {
                        boost::system::error_code ignored;
                        self->socket.shutdown(local::socket::shutdown_both, ignored);
                      });
  }
  local::socket socket;
  asio::streambuf buffer;
  AdminServer::Handler& handler;
  std::string answer;
};
}  // namespace

AdminServer::AdminServer(asio::io_context& io, std::string path, Handler handler)
    : io_(io), path_(std::move(path)), handler_(std::move(handler)), acceptor_(io) {
  std::error_code fec;
  auto dir = std::filesystem::path(path_).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, fec);
  // A socket file left by a daemon that died is replaced; a live one is not.
  struct stat st;
  if (::lstat(path_.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      throw std::runtime_error("admin socket " + path_ + ": exists and is not a socket");
    AdminAnswer probe;
    std::string err;
    if (admin_request(path_, "ping", &probe, &err, 500))
      throw std::runtime_error("admin socket " + path_ + ": another daemon is listening there");
    ::unlink(path_.c_str());
  }
  try {
    acceptor_.open(local());
    acceptor_.bind(local::endpoint(path_));
    acceptor_.listen();
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("admin socket " + path_ + ": " + e.code().message());
  }
  ::chmod(path_.c_str(), 0660);
  accept();
}

AdminServer::~AdminServer() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  ::unlink(path_.c_str());
}

void AdminServer::accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, local::socket s) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) std::make_shared<AdminSession>(std::move(s), handler_)->start();
    if (acceptor_.is_open()) accept();
  });
}

bool admin_request(const std::string& path, const std::string& request, AdminAnswer* answer,
                   std::string* error, int timeout_ms) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    *error = path + ": path too long";
    return false;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::strerror(errno);
    return false;
  }
  auto fail = [&](const std::string& what) {
    *error = path + ": " + what;
    ::close(fd);
    return false;
  };
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return fail(std::strerror(errno));
  std::string line = request + "\n";
  if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != ssize_t(line.size()))
    return fail(std::strerror(errno));
  std::string reply;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(
                       deadline - std::chrono::steady_clock::now())
                       .count());
    if (left <= 0) return fail("no answer (timed out)");
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, left) <= 0) continue;
    char buf[65536];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(std::strerror(errno));
    }
    if (n == 0) break;
    reply.append(buf, size_t(n));
  }
  ::close(fd);
  size_t eol = reply.find('\n');
  if (eol == std::string::npos) {
    *error = path + ": malformed answer";
    return false;
  }
  answer->ok = reply.compare(0, eol, "ok") == 0;
  answer->body = reply.substr(eol + 1);
  return true;
}

}  // namespace sharedisk::daemon
