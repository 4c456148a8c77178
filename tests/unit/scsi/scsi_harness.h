// Test harness: a Device over RAM LUNs, one io_context run by the test, and
// helpers that build CDBs, execute them through Device::execute with real
// Task objects and wait (bounded) for task_done.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include "blockdev/block_device.h"
#include "scsi/device.h"
#include "scsi/reservations.h"
#include "scsi/task.h"
#include "util/buffer_pool.h"

namespace sharedisk::scsi::test {

constexpr uint64_t kLunField1 = 0x0001000000000000ull;  // LUN 1, peripheral addressing

struct Result {
  uint8_t status = 0xFF;
  uint8_t key = 0, asc = 0, ascq = 0;
  std::vector<uint8_t> sense;
  std::vector<uint8_t> data;
  uint32_t transfer_length = 0;
  uint32_t data_in_length = 0;
};

class Harness : public TaskOwner {
 public:
  explicit Harness(uint64_t blocks = 2048, uint32_t block_size = 512, bool read_only = false,
                   bool thin = false, std::string pr_path = "") {
    dev = make_device("iqn.2019-02.lb2:odcfs2");
    add(1, blocks, block_size, read_only, thin, pr_path);
    nexus = dev->attach("iqn.1994-05.com.redhat:a,i,0x23d000000001", "iqn.2019-02.lb2:odcfs2,t,0x1",
                        1, 1);
  }
  void add(uint64_t number, uint64_t blocks, uint32_t block_size, bool read_only = false,
           bool thin = false, std::string pr_path = "") {
    LunOptions o;
    o.number = number;
    o.block_size = block_size;
    o.read_only = read_only;
    o.thin = thin;
    o.serial = "SER" + std::to_string(number);
    o.naa = {0x60, 0x01, 0x40, 0x50, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, uint8_t(number)};
    o.pr_state_path = pr_path;
    dev->add_lun(o, blockdev::make_memory(blocks * block_size), {&io});
  }

  void task_done(Task&) override { ++completed; }

  // Runs one command; data_out (if any) is placed in the buffer.
  Result run(std::vector<uint8_t> cdb, uint32_t expected, std::vector<uint8_t> data_out = {},
             Nexus* via = nullptr, uint64_t lun = kLunField1) {
    Task t;
    std::memcpy(t.cdb, cdb.data(), std::min<size_t>(cdb.size(), 16));
    t.cdb_length = 16;
    t.lun = lun;
    t.expected_length = expected;
    t.direction =
        data_out.empty() ? (expected ? Direction::kRead : Direction::kNone) : Direction::kWrite;
    if (expected > 0 || !data_out.empty())
      t.buffer = pool.get(std::max<size_t>(expected, data_out.size()));
    if (!data_out.empty()) {
      std::memcpy(t.buffer.data(), data_out.data(), data_out.size());
      t.data_out_length = static_cast<uint32_t>(data_out.size());
    }
    t.nexus = via ? via : nexus;
    t.owner = this;
    int before = completed;
    dev->execute(t);
    for (int i = 0; i < 2000 && completed == before; ++i) {
      io.run_for(std::chrono::milliseconds(5));
      io.restart();
    }
    EXPECT_EQ(completed, before + 1) << "task did not complete exactly once";
    io.poll();
    io.restart();
    EXPECT_EQ(completed, before + 1) << "task completed twice";
    Result r;
    r.status = t.status;
    r.sense.assign(t.sense, t.sense + t.sense_length);
    if (t.sense_length >= 14 && (t.sense[0] & 0x7F) == 0x70) {
      r.key = t.sense[2] & 0x0F;
      r.asc = t.sense[12];
      r.ascq = t.sense[13];
    } else if (t.sense_length >= 4 && (t.sense[0] & 0x7F) == 0x72) {
      r.key = t.sense[1] & 0x0F;
      r.asc = t.sense[2];
      r.ascq = t.sense[3];
    }
    r.data.assign(t.buffer.data(), t.buffer.data() + t.data_in_length);
    r.transfer_length = t.transfer_length;
    r.data_in_length = t.data_in_length;
    return r;
  }

  // Clears the POWER ON unit attention of `via`.
  void clear_ua(Nexus* via = nullptr) {
    for (int i = 0; i < 8; ++i) {
      auto r = run({0x00, 0, 0, 0, 0, 0}, 0, {}, via);
      if (r.status == status::kGood) return;
    }
  }

  boost::asio::io_context io;
  util::BufferPool pool;
  std::unique_ptr<Device> dev;
  Nexus* nexus = nullptr;
  int completed = 0;
};

inline std::vector<uint8_t> cdb10(uint8_t op, uint32_t lba, uint16_t blocks, uint8_t b1 = 0) {
  return {op,           b1, uint8_t(lba >> 24),   uint8_t(lba >> 16), uint8_t(lba >> 8),
          uint8_t(lba), 0,  uint8_t(blocks >> 8), uint8_t(blocks),    0};
}
inline std::vector<uint8_t> cdb16(uint8_t op, uint64_t lba, uint32_t blocks, uint8_t b1 = 0) {
  std::vector<uint8_t> c(16, 0);
  c[0] = op;
  c[1] = b1;
  for (int i = 0; i < 8; ++i) c[2 + i] = uint8_t(lba >> (56 - 8 * i));
  for (int i = 0; i < 4; ++i) c[10 + i] = uint8_t(blocks >> (24 - 8 * i));
  return c;
}
inline std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(seed + i * 7 + (i >> 9));
  return v;
}
// Sense-key-specific field pointer of a fixed-format sense: {C/D, byte, bit or -1}.
inline std::tuple<bool, int, int> field_pointer(const Result& r) {
  const uint8_t* s = r.sense.data();
  if (r.sense.size() < 18 || !(s[15] & 0x80)) return {false, -1, -1};
  return {bool(s[15] & 0x40), s[16] << 8 | s[17], (s[15] & 0x08) ? (s[15] & 7) : -1};
}

}  // namespace sharedisk::scsi::test
