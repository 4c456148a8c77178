// A thin RAII layer over libiscsi for the integration tests: log in to a
// LUN with chosen negotiation offers, run SCSI commands synchronously with
// their status and sense, and drive many asynchronous commands with a
// bounded event loop. Also deterministic data patterns for verification.
#pragma once

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sharedisk::itest {

constexpr const char* kInitiator = "iqn.2024-01.test.sharedisk:initiator";

struct ScsiResult {
  bool transport_ok = false;  // libiscsi got an answer at all
  int status = -1;            // SCSI status
  int sense_key = 0;
  int ascq = 0;  // ASC << 8 | ASCQ
  std::string error;
  std::vector<uint8_t> data;  // Data-In
  bool good() const { return transport_ok && status == SCSI_STATUS_GOOD; }
};

struct LoginOptions {
  std::string initiator = kInitiator;
  bool immediate_data = true;
  bool initial_r2t = false;
  // ISID qualifier for iscsi_set_isid_random (the same value twice = same ISID).
  bool fixed_isid = false;
  uint32_t isid_random = 0x123456;
  uint32_t isid_qualifier = 1;
  int timeout_s = 20;
};

class Session {
 public:
  // Full login to `iqn` LUN `lun` on `portal`. Returns nullptr and sets
  // *error (libiscsi's message) when the connection or login fails.
  static std::unique_ptr<Session> open(const std::string& portal, const std::string& iqn, int lun,
                                       const LoginOptions& options, std::string* error);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  iscsi_context* ctx() const { return ctx_; }
  int lun() const { return lun_; }

  // Clears the unit attentions a new nexus starts with (TEST UNIT READY until GOOD).
  bool clear_unit_attentions();

  ScsiResult test_unit_ready();
  ScsiResult write16(uint64_t lba, const std::vector<uint8_t>& data, uint32_t block_size,
                     bool fua = false);
  ScsiResult read16(uint64_t lba, uint32_t bytes, uint32_t block_size);
  ScsiResult write10(uint32_t lba, const std::vector<uint8_t>& data, uint32_t block_size);
  ScsiResult read10(uint32_t lba, uint32_t bytes, uint32_t block_size);
  // READ CAPACITY 16: number of blocks and block size.
  bool capacity(uint64_t* blocks, uint32_t* block_size);

  // The session's socket, to watch the target close it.
  int fd() const { return iscsi_get_fd(ctx_); }

  // Leaves without a Logout (the target sees the connection drop).
  void abandon();

 private:
  Session() = default;
  iscsi_context* ctx_ = nullptr;
  int lun_ = 0;
  bool logged_in_ = false;
};

// Converts a finished task (may be null) into a ScsiResult and frees it.
ScsiResult take_result(iscsi_context* ctx, scsi_task* task);

// Runs many asynchronous commands on one session with at most `depth` in
// flight. Each submit() queues a command; run() drives the event loop until
// all completed or `timeout` passed. Callbacks see the result of each command.
class AsyncRunner {
 public:
  using Done = std::function<void(const ScsiResult&)>;
  AsyncRunner(Session& session, unsigned depth);
  ~AsyncRunner();

  void write16(uint64_t lba, std::vector<uint8_t> data, uint32_t block_size, Done done);
  void read16(uint64_t lba, uint32_t bytes, uint32_t block_size, Done done);

  // Returns false when the deadline passed or the connection failed first.
  bool run(std::chrono::milliseconds timeout, std::string* error);
  unsigned max_in_flight() const { return max_in_flight_; }

 private:
  struct Op;
  static void callback(iscsi_context* ctx, int status, void* command_data, void* private_data);
  bool submit_next();

  Session& session_;
  unsigned depth_;
  std::vector<std::unique_ptr<Op>> queued_;
  size_t next_ = 0;
  unsigned in_flight_ = 0;
  unsigned max_in_flight_ = 0;
};

// Deterministic bytes for (seed, lba): each block is distinguishable from
// every other block and from every other seed.
std::vector<uint8_t> pattern(uint32_t seed, uint64_t lba, uint32_t blocks, uint32_t block_size);

// Index of the first differing byte, or -1 when equal (for short messages).
long first_difference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b);

}  // namespace sharedisk::itest
