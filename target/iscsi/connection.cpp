#include "iscsi/connection.h"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace sharedisk::iscsi {

namespace asio = boost::asio;

namespace {
// Numeric text of an address, IPv4-mapped IPv6 shown as IPv4.
std::string plain_address(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string();
  return a.to_string();
}

std::string remote_of(const asio::ip::tcp::socket& s) {
  boost::system::error_code ec;
  auto e = s.remote_endpoint(ec);
  return ec ? std::string() : plain_address(e.address());
}

std::string local_of(const asio::ip::tcp::socket& s) {
  boost::system::error_code ec;
  auto e = s.local_endpoint(ec);
  return ec ? std::string() : plain_address(e.address());
}

// A view of our gather list that asio can copy cheaply (a std::vector would be
// copied, and allocated, by every async_write).
struct GatherSpan {
  const asio::const_buffer* first;
  const asio::const_buffer* last;
  const asio::const_buffer* begin() const { return first; }
  const asio::const_buffer* end() const { return last; }
};
}  // namespace

Connection::Connection(ServerContext& server, EventLoop& loop, asio::ip::tcp::socket socket)
    : ConnectionEngine(server, loop, remote_of(socket), local_of(socket)),
      socket_(std::move(socket)),
      timer_(loop.io) {
  boost::system::error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  gather_.reserve(768);
  this->loop().connections++;
}

Connection::~Connection() {
  loop().members.erase(this);
  loop().connections--;
}

void Connection::start() {
  loop().members.insert(this);
  start_engine(Clock::now());
  arm_timer();
  read_more();
}

void Connection::arm_timer() {
  timer_.expires_after(std::chrono::seconds(1));
  timer_.async_wait([self = self()](const boost::system::error_code& ec) {
    if (ec || self->closed()) return;
    self->tick(Clock::now());
    if (!self->closed()) self->arm_timer();
  });
}

void Connection::closing() {
  boost::system::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  timer_.cancel();
}

// ---------------------------------------------------------------- receive

void Connection::read_more() {
  if (closed() || reading_) return;
  bool direct = false;
  std::span<uint8_t> window = receive_window(&direct);
  if (window.empty()) return;  // paused (a held login), or closing after a last answer
  reading_ = true;
  socket_.async_read_some(asio::buffer(window.data(), window.size()),
                          [self = self(), direct](const boost::system::error_code& ec, size_t n) {
                            self->on_read(ec, n, direct);
                          });
}

void Connection::on_read(const boost::system::error_code& ec, size_t n, bool direct) {
  reading_ = false;
  if (closed()) return;
  if (ec) {
    close_now(ec == asio::error::eof ? "peer closed the connection" : "read error");
    return;
  }
  if (received(n, direct, Clock::now())) read_more();
}

// ---------------------------------------------------------------- transmit

void Connection::want_output() {
  if (flush_scheduled_ || writing_ || closed()) return;
  flush_scheduled_ = true;
  // Deferred to the end of this loop turn so that every response produced by
  // one batch of completions leaves in a single gather write.
  if (util::LoopTurn::defer(this)) return;
  asio::post(loop().io, [self = self()] { self->run_deferred(); });
}

void Connection::run_deferred() {
  flush_scheduled_ = false;
  flush();
}

void Connection::flush() {
  if (writing_ || closed() || !has_output()) return;
  gather_.clear();
  start_output([this](const void* data, size_t size) { gather_.emplace_back(data, size); });
  writing_ = true;
  asio::async_write(
      socket_, GatherSpan{gather_.data(), gather_.data() + gather_.size()},
      [self = self()](const boost::system::error_code& ec, size_t) { self->on_written(ec); });
}

void Connection::on_written(const boost::system::error_code& ec) {
  writing_ = false;
  bool last = output_done();
  if (closed()) return;
  if (ec) {
    close_now("write error");
  } else if (has_output()) {
    flush();
  } else if (last) {
    close_now("logout or failed login");
  }
}

}  // namespace sharedisk::iscsi
