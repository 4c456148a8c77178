// The floor any iSCSI target adds on this machine: one request and one answer
// over TCP on 127.0.0.1 between two threads that sleep in the kernel while
// they wait, as an initiator and a target do, with no protocol and no
// storage. Shapes: a 4 KiB read (48-byte request, 48 + 4096 back), a 4 KiB
// write (48 + 4096 out, 48 back) and a 128 KiB read. A gateway in front of
// librbd adds at least this to librbd's own latency (docs/benchmarks.md).
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

namespace {

bool move_all(int fd, uint8_t* buf, size_t n, bool receive) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = receive ? ::recv(fd, buf + done, n - done, 0)
                        : ::send(fd, buf + done, n - done, MSG_NOSIGNAL);
    if (r <= 0) return false;
    done += size_t(r);
  }
  return true;
}

void no_delay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// state.range(0): bytes of each request, state.range(1): bytes of each answer.
void BM_LoopbackRoundTrip(benchmark::State& state) {
  const size_t request = size_t(state.range(0)), answer = size_t(state.range(1));
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::listen(listener, 1) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    state.SkipWithError("cannot listen on 127.0.0.1");
    return;
  }
  std::thread server([listener, request, answer] {
    int fd = ::accept(listener, nullptr, nullptr);
    no_delay(fd);
    std::vector<uint8_t> buf(std::max(request, answer));
    while (move_all(fd, buf.data(), request, true) && move_all(fd, buf.data(), answer, false)) {
    }
    ::close(fd);
  });
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ::connect(fd, reinterpret_cast<sockaddr*>(&addr), len);
  no_delay(fd);
  std::vector<uint8_t> buf(std::max(request, answer), 0x5a);
  for (auto _ : state) {
    if (!move_all(fd, buf.data(), request, false) || !move_all(fd, buf.data(), answer, true)) {
      state.SkipWithError("connection lost");
      break;
    }
  }
  ::close(fd);
  server.join();
  ::close(listener);
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(request + answer));
}

BENCHMARK(BM_LoopbackRoundTrip)
    ->Args({48, 48 + 4096})
    ->Args({48 + 4096, 48})
    ->Args({48, 48 + 131072})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);

}  // namespace

BENCHMARK_MAIN();
