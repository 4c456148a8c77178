#include "iscsi/portal.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <future>

namespace sharedisk::iscsi {

namespace asio = boost::asio;
using asio::ip::tcp;

Server::Server(ServerContext& context, unsigned threads) : context_(context) {
  for (unsigned i = 0; i < std::max(1u, threads); ++i)
    loops_.push_back(std::make_unique<EventLoop>(i));
  context_.task_sets.set_loops(loop_contexts());
}

Server::~Server() {
  if (!threads_.empty()) shutdown(5);
  // The devices' I/O channels live on our loops: they go before the loops do.
  context_.registry.clear();
}

void Server::listen(const std::vector<config::Endpoint>& portals) {
  for (const config::Endpoint& p : portals) {
    auto acceptor = std::make_unique<tcp::acceptor>(loops_[0]->io);
    try {
      tcp::endpoint endpoint(asio::ip::make_address(p.address), p.port);
      acceptor->open(endpoint.protocol());
      acceptor->set_option(asio::socket_base::reuse_address(true));
      if (endpoint.address().is_v6()) acceptor->set_option(asio::ip::v6_only(true));
      acceptor->bind(endpoint);
      acceptor->listen(asio::socket_base::max_listen_connections);
    } catch (const boost::system::system_error& e) {
      throw std::runtime_error("cannot listen on " + p.to_string() + ": " + e.code().message());
    }
    acceptors_.push_back(std::move(acceptor));
  }
}

std::vector<asio::io_context*> Server::loop_contexts() const {
  std::vector<asio::io_context*> out;
  for (const auto& l : loops_) out.push_back(&l->io);
  return out;
}

uint16_t Server::bound_port(size_t i) const {
  return acceptors_.at(i)->local_endpoint().port();
}

void Server::start() {
  for (size_t i = 0; i < acceptors_.size(); ++i) {
    auto ep = acceptors_[i]->local_endpoint();
    spdlog::info("listening on {}:{}", ep.address().to_string(), ep.port());
    accept(i);
  }
  for (auto& loop : loops_) {
    guards_.push_back(asio::make_work_guard(loop->io));
    threads_.emplace_back([l = loop.get()] {
      pthread_setname_np(pthread_self(), ("sd-loop" + std::to_string(l->index)).c_str());
      l->io.run();
    });
  }
}

void Server::accept(size_t portal) {
  // The socket goes straight to the loop with the fewest connections.
  auto least = std::min_element(loops_.begin(), loops_.end(), [](const auto& a, const auto& b) {
    return a->connections.load() < b->connections.load();
  });
  EventLoop* loop = least->get();
  acceptors_[portal]->async_accept(
      loop->io, [this, portal, loop](const boost::system::error_code& ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted) return;
        if (!ec) {
          admit(std::move(socket), *loop);
        } else {
          // EMFILE/ENFILE/ENOBUFS repeat at once: retry after a pause rather
          // than spin (and flood the log) until a descriptor is free.
          spdlog::warn("accept failed: {}", ec.message());
          auto pause = std::make_shared<asio::steady_timer>(loops_[0]->io);
          pause->expires_after(std::chrono::milliseconds(100));
          pause->async_wait([this, portal, pause](const boost::system::error_code& e) {
            if (!e && acceptors_[portal]->is_open()) accept(portal);
          });
          return;
        }
        if (acceptors_[portal]->is_open()) accept(portal);
      });
}

void Server::admit(tcp::socket socket, EventLoop& loop) {
  boost::system::error_code ec;
  auto remote = socket.remote_endpoint(ec);
  std::string address = "?";
  if (!ec) {
    asio::ip::address a = remote.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped())
      a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    address = a.to_string();
  }
  const char* why = "";
  std::shared_ptr<ConnectionGate::Ticket> ticket = context_.gate.enter(address, &why);
  if (!ticket) {
    spdlog::warn("connection from {} refused: {}", address, why);
    socket.close(ec);
    return;
  }
  // The ticket goes back to the gate when the connection object is deleted.
  std::shared_ptr<Connection> conn(new Connection(context_, loop, std::move(socket)),
                                   [ticket](Connection* c) mutable {
                                     delete c;
                                     ticket.reset();
                                   });
  asio::post(loop.io, [conn] { conn->start(); });
}

void Server::stop_accepting() {
  std::promise<void> done;
  asio::post(loops_[0]->io, [this, &done] {
    for (auto& a : acceptors_) {
      boost::system::error_code ec;
      a->close(ec);
    }
    done.set_value();
  });
  if (!threads_.empty()) done.get_future().wait();
}

void Server::shutdown(unsigned timeout_s) {
  if (threads_.empty()) return;
  stop_accepting();
  // Each loop closes its own connections; commands already in the SCSI layer
  // finish (their writes land) before a connection object goes away.
  for (auto& l : loops_) {
    asio::post(l->io, [loop = l.get()] {
      std::vector<Connection*> all(loop->members.begin(), loop->members.end());
      for (Connection* c : all) c->close_now("target shutting down");
    });
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  auto busy = [this] {
    return std::any_of(loops_.begin(), loops_.end(),
                       [](const auto& l) { return l->connections.load() > 0; });
  };
  while (busy() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (busy()) spdlog::warn("shutdown: connections still busy after {} s", timeout_s);
  guards_.clear();
  for (auto& l : loops_) l->io.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace sharedisk::iscsi
