// The SCSI layer's per-command cost: opcode lookup, CDB checks, unit
// attention and reservation checks, and the hand-off to the backing store
// (a RAM LUN, so the backing's own cost is a memcpy and a posted completion).
#include <benchmark/benchmark.h>

#include <boost/asio/io_context.hpp>
#include <cstring>
#include <memory>

#include "blockdev/block_device.h"
#include "scsi/device.h"
#include "util/buffer_pool.h"

namespace {

using namespace sharedisk;

struct Counter final : scsi::TaskOwner {
  void task_done(scsi::Task& task) override {
    ++done;
    last_status = task.status;
  }
  uint64_t done = 0;
  uint8_t last_status = 0;
};

struct Fixture {
  Fixture() {
    device = scsi::make_device("iqn.2019-02.lb2:bench");
    scsi::LunOptions o;
    o.number = 1;
    o.serial = "bench";
    device->add_lun(o, blockdev::make_memory(64u << 20), {&io});
    nexus = device->attach("iqn.bench,i,0x000000000001", "iqn.2019-02.lb2:bench,t,0x0001", 1, 1);
    task.nexus = nexus;
    task.owner = &owner;
    task.lun = scsi::encode_lun(1);
    task.buffer = pool.get(4096);
    // The first command of a nexus reports the power-on unit attention.
    run(0x00, scsi::Direction::kNone, 0);
  }
  void run(uint8_t opcode, scsi::Direction dir, uint32_t length) {
    task.reset_result();
    std::memset(task.cdb, 0, sizeof task.cdb);
    task.cdb[0] = opcode;
    if (opcode == 0x28 || opcode == 0x2a) task.cdb[8] = uint8_t(length / 512);
    task.cdb_length = 10;
    task.direction = dir;
    task.expected_length = length;
    task.data_out_length = dir == scsi::Direction::kWrite ? length : 0;
    device->execute(task);
    io.poll();
    io.restart();
  }
  boost::asio::io_context io{1};
  util::BufferPool pool;
  std::unique_ptr<scsi::Device> device;
  scsi::Nexus* nexus = nullptr;
  Counter owner;
  scsi::Task task;
};

void BM_TestUnitReady(benchmark::State& state) {
  Fixture f;
  for (auto _ : state) f.run(0x00, scsi::Direction::kNone, 0);
  if (f.owner.last_status != 0) state.SkipWithError("TEST UNIT READY failed");
}

void BM_Read10_4k(benchmark::State& state) {
  Fixture f;
  for (auto _ : state) f.run(0x28, scsi::Direction::kRead, 4096);
  if (f.owner.last_status != 0) state.SkipWithError("READ(10) failed");
}

void BM_Write10_4k(benchmark::State& state) {
  Fixture f;
  for (auto _ : state) f.run(0x2a, scsi::Direction::kWrite, 4096);
  if (f.owner.last_status != 0) state.SkipWithError("WRITE(10) failed");
}

BENCHMARK(BM_TestUnitReady);
BENCHMARK(BM_Read10_4k);
BENCHMARK(BM_Write10_4k);

}  // namespace

BENCHMARK_MAIN();
