// One network event loop: an io_context run by one thread, and the buffer
// pool of that thread. Connections live on exactly one loop.
#pragma once

#include <atomic>
#include <unordered_set>

#include <boost/asio/io_context.hpp>

#include "util/buffer_pool.h"

namespace sharedisk::iscsi {

class Connection;

struct EventLoop {
  explicit EventLoop(unsigned i) : io(1), index(i) {}
  // Declared before io: handlers destroyed with io may still return buffers.
  util::BufferPool pool;
  boost::asio::io_context io;  // concurrency hint 1: only its own thread runs it
  unsigned index;
  std::atomic<unsigned> connections{0};     // alive Connection objects (read by the acceptor)
  std::unordered_set<Connection*> members;  // started connections; this loop's thread only
};

}  // namespace sharedisk::iscsi
