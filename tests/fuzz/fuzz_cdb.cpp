// libFuzzer: CDB decoding and execution through scsi::Device::execute over
// two RAM LUNs (512- and 4096-byte blocks, 1 MiB each). The input is
//   [cdb: 16 bytes] [lun selector] [flags] [expected length: 3 bytes] [data-out ...]
// flags bit 0: write direction, bit 1: read-only nexus, bit 2: ORDERED task.
// The command must complete exactly once, within a bounded number of event
// loop turns, with data-in never larger than the expected length; ASan
// catches any access outside the task buffer or the LUN.
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "blockdev/block_device.h"
#include "scsi/device.h"
#include "scsi/task.h"
#include "util/buffer_pool.h"

using namespace sharedisk;

namespace {

struct World : scsi::TaskOwner {
  boost::asio::io_context io{1};
  util::BufferPool pool;
  std::unique_ptr<scsi::Device> dev;
  scsi::Nexus* nexus = nullptr;
  int done = 0;
  World() {
    dev = scsi::make_device("iqn.2024-01.fuzz:cdb");
    for (uint32_t lun : {0u, 1u}) {
      scsi::LunOptions o;
      o.number = lun;
      o.block_size = lun == 0 ? 512 : 4096;
      o.thin = lun == 1;
      o.serial = "FUZZ" + std::to_string(lun);
      dev->add_lun(o, blockdev::make_memory(1 << 20), {&io});
    }
    nexus = dev->attach("iqn.2024-01.fuzz:i,i,0x1", "iqn.2024-01.fuzz:cdb,t,0x1", 1, 1);
  }
  void task_done(scsi::Task&) override { ++done; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World w;
  if (size < 21) return 0;
  auto task = std::make_unique<scsi::Task>();
  std::memcpy(task->cdb, data, 16);
  task->cdb_length = 16;
  uint8_t selector = data[16];
  uint8_t flags = data[17];
  // Peripheral addressing of LUN 0, 1, or an absent one (2).
  task->lun = uint64_t(selector % 3) << 48;
  uint32_t expected = (uint32_t(data[18]) << 16 | uint32_t(data[19]) << 8 | data[20]) & 0x3ffff;
  const uint8_t* out = data + 21;
  size_t out_len = size - 21;
  task->expected_length = expected;
  task->direction = (flags & 1) ? scsi::Direction::kWrite
                    : expected  ? scsi::Direction::kRead
                                : scsi::Direction::kNone;
  task->attr = (flags & 4) ? scsi::TaskAttr::kOrdered : scsi::TaskAttr::kSimple;
  if (expected > 0) task->buffer = w.pool.get(expected);
  if ((flags & 1) && expected > 0) {
    size_t n = std::min<size_t>(out_len, expected);
    std::memcpy(task->buffer.data(), out, n);
    task->data_out_length = uint32_t(n);
  }
  w.nexus->set_read_only(flags & 2);
  task->nexus = w.nexus;
  task->owner = &w;
  int before = w.done;
  w.dev->execute(*task);
  for (int i = 0; i < 20000 && w.done == before; ++i) {
    w.io.poll();
    w.io.restart();
    if (w.done == before) w.io.run_for(std::chrono::microseconds(100));
    w.io.restart();
  }
  if (w.done != before + 1) std::abort();  // lost or doubled completion (or a hang)
  if (task->data_in_length > task->expected_length) std::abort();
  if (task->sense_length > scsi::Task::kMaxSense) std::abort();
  return 0;
}
