// libFuzzer: the whole connection engine (iscsi/connection_engine.h) on byte
// streams, as a socket delivers them: framing, login, the CmdSN window, SCSI
// commands on a real device with a RAM LUN, R2T and Data-Out, NOP, Text,
// Logout, task management (including resets across two sessions), the NOP-In
// timer, and the reinstatement hold.
//
// Input: byte 0 = mode (bit 0: a valid login is sent first, so most of the
// stream reaches the full feature phase; bit 1: a second session of the same
// target is logged in first, so resets and PREEMPT AND ABORT reach another
// session; bit 2: the stream is sent by a login of the second session's ISID,
// which reinstates it; bits 4-7: how many seconds each tick jumps), bytes
// 1-4 = seed of the split points, the rest = the stream.
//
// Checked: the engine's output is well framed (headers, data segments and
// padding add up), every command has left the SCSI layer once the loop ran
// after close, and ASan/UBSan stay silent (a pooled buffer written after its
// command was freed shows up as a use of freed memory: pool buffers are
// returned to the allocator when the pool goes).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "blockdev/block_device.h"
#include "iscsi/connection_engine.h"
#include "iscsi/text_keys.h"
#include "scsi/device.h"

using namespace sharedisk;
using namespace sharedisk::iscsi;

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kTarget = "iqn.2024-01.fuzz.sharedisk:disk";

void check(bool ok) {
  if (!ok) std::abort();
}

class FuzzEngine final : public ConnectionEngine {
 public:
  using ConnectionEngine::ConnectionEngine;
  // Takes (and checks) what the engine queued.
  void drain_output() {
    while (has_output()) {
      bytes_.clear();
      start_output([&](const void* p, size_t n) {
        auto* b = static_cast<const uint8_t*>(p);
        bytes_.insert(bytes_.end(), b, b + n);
      });
      output_done();
      // Tests never negotiate digests on the way out unless asked: walk the
      // framing only when none is on (the login decides).
      size_t pos = 0;
      while (pos < bytes_.size() && !digests_possible) {
        check(pos + kBhsSize <= bytes_.size());
        Bhs h;
        std::memcpy(h.b.data(), &bytes_[pos], kBhsSize);
        uint32_t dsl = h.data_length();
        pos += kBhsSize + h.ahs_length() + dsl + pad4(dsl);
        check(pos <= bytes_.size());
      }
    }
  }
  bool digests_possible = false;

 protected:
  void want_output() override {}
  void want_input() override {}
  void closing() override {}

 private:
  std::vector<uint8_t> bytes_;
};

struct Splitter {
  uint32_t state;
  size_t next(size_t left) {
    state = state * 1103515245u + 12345u;
    uint32_t r = state >> 8;
    size_t n = (r & 1) ? 1 + (r >> 1) % 64 : 1 + (r >> 1) % 9000;
    return std::min(n, left);
  }
};

std::vector<uint8_t> login_pdu(uint64_t isid) {
  std::string text;
  append_key(text, "InitiatorName", "iqn.2024-01.fuzz.sharedisk:host");
  append_key(text, "SessionType", "Normal");
  append_key(text, "TargetName", kTarget);
  append_key(text, "HeaderDigest", "None");
  append_key(text, "DataDigest", "None");
  Bhs h;
  h.b[0] = flag::kImmediate | op::kLoginRequest;
  h.b[1] = uint8_t(flag::kTransit | 1 << 2 | 3);
  put_be64(&h.b[8], isid << 16);
  h.set_itt(1);
  h.set32(24, 0);  // CmdSN: the seeds' streams go on from 0
  h.set_data_length(uint32_t(text.size()));
  std::vector<uint8_t> v(h.b.begin(), h.b.end());
  v.insert(v.end(), text.begin(), text.end());
  v.resize(v.size() + pad4(uint32_t(text.size())), 0);
  return v;
}

void run_loop(EventLoop& loop, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    loop.io.restart();
    if (loop.io.poll() == 0 && i > 0) break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return 0;
  uint8_t mode = data[0];
  Splitter split{uint32_t(data[1]) | uint32_t(data[2]) << 8 | uint32_t(data[3]) << 16 |
                 uint32_t(data[4]) << 24};
  std::span<const uint8_t> stream(data + 5, size - 5);
  auto step = std::chrono::seconds(mode >> 4);

  ServerContext server;
  EventLoop loop(0);
  server.task_sets.set_loops({&loop.io});
  {
    auto node = std::make_unique<TargetNode>();
    node->iqn = kTarget;
    node->queue_depth = 8;
    node->device = scsi::make_device(kTarget);
    scsi::LunOptions lun;
    lun.serial = "fuzz0";
    node->device->add_lun(lun, blockdev::make_memory(256 * 1024), {&loop.io});
    lun.number = 1;
    lun.serial = "fuzz1";
    node->device->add_lun(lun, blockdev::make_memory(64 * 1024), {&loop.io});
    server.registry.add(std::move(node));
    config::Endpoint portal;
    portal.address = "127.0.0.1";
    portal.port = 3260;
    server.registry.set_portals({portal});
  }

  auto now = Clock::now();
  std::shared_ptr<FuzzEngine> other;
  if (mode & 2) {
    other = std::make_shared<FuzzEngine>(server, loop, "127.0.0.2", "127.0.0.1");
    other->start_engine(now);
    other->feed(login_pdu(0x800000000002ull), now);
    other->drain_output();
  }
  auto e = std::make_shared<FuzzEngine>(server, loop, "127.0.0.1", "127.0.0.1");
  e->start_engine(now);
  // Digests may be negotiated only by a login taken from the stream.
  e->digests_possible = !(mode & 1);
  if (mode & 1) e->feed(login_pdu((mode & 4) ? 0x800000000002ull : 0x800000000001ull), now);

  size_t pos = 0;
  while (pos < stream.size()) {
    size_t n = split.next(stream.size() - pos);
    // A paused engine (a held login) takes nothing until the loop runs.
    if (!e->closed() && !e->input_paused()) {
      if (!e->feed(stream.subspan(pos, n), now) && e->closed()) {
        pos = stream.size();
      }
    }
    pos += n;
    run_loop(loop, 4);
    e->drain_output();
    if (other) other->drain_output();
    if (split.state & 0x100) {
      now += step;
      e->tick(now);
      if (other) other->tick(now);
    }
  }
  run_loop(loop, 8);
  e->drain_output();
  e->close_now("fuzz input ended");
  if (other) other->close_now("fuzz input ended");
  // RAM completes at once: after the loop ran, nothing is left in the SCSI layer.
  run_loop(loop, 16);
  check(e->commands_in_scsi() == 0);
  if (other) check(other->commands_in_scsi() == 0);
  e.reset();
  other.reset();
  run_loop(loop, 4);
  server.registry.clear();
  return 0;
}
