#include "iscsi_client.h"

#include <poll.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

namespace sharedisk::itest {

namespace {

// libiscsi writes without MSG_NOSIGNAL: a daemon that closes the connection
// (SIGTERM, a refused login) while a write is under way must fail that write
// with EPIPE, not kill the test process.
[[maybe_unused]] const bool kSigpipeIgnored = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();
using Clock = std::chrono::steady_clock;
}

ScsiResult take_result(iscsi_context* ctx, scsi_task* task) {
  ScsiResult r;
  if (task == nullptr) {
    r.error = ctx != nullptr ? iscsi_get_error(ctx) : "no task";
    return r;
  }
  r.status = task->status;
  r.transport_ok = task->status == SCSI_STATUS_GOOD || task->status == SCSI_STATUS_CHECK_CONDITION;
  if (task->status == SCSI_STATUS_CHECK_CONDITION) {
    r.sense_key = task->sense.key;
    r.ascq = task->sense.ascq;
  }
  if (!r.transport_ok && ctx != nullptr) r.error = iscsi_get_error(ctx);
  if (task->datain.size > 0 && task->datain.data != nullptr)
    r.data.assign(task->datain.data, task->datain.data + task->datain.size);
  scsi_free_scsi_task(task);
  return r;
}

std::unique_ptr<Session> Session::open(const std::string& portal, const std::string& iqn, int lun,
                                       const LoginOptions& options, std::string* error) {
  std::unique_ptr<Session> s(new Session());
  s->ctx_ = iscsi_create_context(options.initiator.c_str());
  if (s->ctx_ == nullptr) {
    *error = "iscsi_create_context failed";
    return nullptr;
  }
  s->lun_ = lun;
  iscsi_set_targetname(s->ctx_, iqn.c_str());
  iscsi_set_session_type(s->ctx_, ISCSI_SESSION_NORMAL);
  iscsi_set_header_digest(s->ctx_, ISCSI_HEADER_DIGEST_NONE);
  iscsi_set_immediate_data(
      s->ctx_, options.immediate_data ? ISCSI_IMMEDIATE_DATA_YES : ISCSI_IMMEDIATE_DATA_NO);
  iscsi_set_initial_r2t(s->ctx_,
                        options.initial_r2t ? ISCSI_INITIAL_R2T_YES : ISCSI_INITIAL_R2T_NO);
  if (options.fixed_isid)
    iscsi_set_isid_random(s->ctx_, options.isid_random, options.isid_qualifier);
  iscsi_set_timeout(s->ctx_, options.timeout_s);
  iscsi_set_noautoreconnect(s->ctx_, 1);
  if (iscsi_full_connect_sync(s->ctx_, portal.c_str(), lun) != 0) {
    *error = iscsi_get_error(s->ctx_);
    return nullptr;
  }
  s->logged_in_ = true;
  return s;
}

Session::~Session() {
  if (ctx_ == nullptr) return;
  if (logged_in_) iscsi_logout_sync(ctx_);
  iscsi_destroy_context(ctx_);
}

void Session::abandon() {
  logged_in_ = false;
}

bool Session::clear_unit_attentions() {
  for (int i = 0; i < 10; ++i) {
    ScsiResult r = test_unit_ready();
    if (r.good()) return true;
    if (!r.transport_ok || r.sense_key != SCSI_SENSE_UNIT_ATTENTION) return false;
  }
  return false;
}

ScsiResult Session::test_unit_ready() {
  return take_result(ctx_, iscsi_testunitready_sync(ctx_, lun_));
}

ScsiResult Session::write16(uint64_t lba, const std::vector<uint8_t>& data, uint32_t block_size,
                            bool fua) {
  return take_result(
      ctx_, iscsi_write16_sync(ctx_, lun_, lba, const_cast<uint8_t*>(data.data()),
                               uint32_t(data.size()), int(block_size), 0, 0, fua ? 1 : 0, 0, 0));
}

ScsiResult Session::read16(uint64_t lba, uint32_t bytes, uint32_t block_size) {
  return take_result(ctx_,
                     iscsi_read16_sync(ctx_, lun_, lba, bytes, int(block_size), 0, 0, 0, 0, 0));
}

ScsiResult Session::write10(uint32_t lba, const std::vector<uint8_t>& data, uint32_t block_size) {
  return take_result(ctx_,
                     iscsi_write10_sync(ctx_, lun_, lba, const_cast<uint8_t*>(data.data()),
                                        uint32_t(data.size()), int(block_size), 0, 0, 0, 0, 0));
}

ScsiResult Session::read10(uint32_t lba, uint32_t bytes, uint32_t block_size) {
  return take_result(ctx_,
                     iscsi_read10_sync(ctx_, lun_, lba, bytes, int(block_size), 0, 0, 0, 0, 0));
}

bool Session::capacity(uint64_t* blocks, uint32_t* block_size) {
  scsi_task* task = iscsi_readcapacity16_sync(ctx_, lun_);
  if (task == nullptr) return false;
  bool ok = false;
  if (task->status == SCSI_STATUS_GOOD) {
    auto* rc = static_cast<scsi_readcapacity16*>(scsi_datain_unmarshall(task));
    if (rc != nullptr) {
      *blocks = rc->returned_lba + 1;
      *block_size = rc->block_length;
      ok = true;
    }
  }
  scsi_free_scsi_task(task);
  return ok;
}

// ------------------------------------------------------------------ async

struct AsyncRunner::Op {
  AsyncRunner* runner;
  bool write;
  uint64_t lba;
  uint32_t bytes;
  uint32_t block_size;
  std::vector<uint8_t> data;
  Done done;
};

AsyncRunner::AsyncRunner(Session& session, unsigned depth) : session_(session), depth_(depth) {}
AsyncRunner::~AsyncRunner() = default;

void AsyncRunner::write16(uint64_t lba, std::vector<uint8_t> data, uint32_t block_size, Done done) {
  uint32_t bytes = uint32_t(data.size());
  queued_.push_back(std::unique_ptr<Op>(
      new Op{this, true, lba, bytes, block_size, std::move(data), std::move(done)}));
}

void AsyncRunner::read16(uint64_t lba, uint32_t bytes, uint32_t block_size, Done done) {
  queued_.push_back(
      std::unique_ptr<Op>(new Op{this, false, lba, bytes, block_size, {}, std::move(done)}));
}

void AsyncRunner::callback(iscsi_context* ctx, int, void* command_data, void* private_data) {
  Op* op = static_cast<Op*>(private_data);
  ScsiResult r = take_result(ctx, static_cast<scsi_task*>(command_data));
  op->runner->in_flight_--;
  if (op->done) op->done(r);
}

bool AsyncRunner::submit_next() {
  Op* op = queued_[next_++].get();
  iscsi_context* ctx = session_.ctx();
  scsi_task* task =
      op->write ? iscsi_write16_task(ctx, session_.lun(), op->lba, op->data.data(), op->bytes,
                                     int(op->block_size), 0, 0, 0, 0, 0, &AsyncRunner::callback, op)
                : iscsi_read16_task(ctx, session_.lun(), op->lba, op->bytes, int(op->block_size), 0,
                                    0, 0, 0, 0, &AsyncRunner::callback, op);
  if (task == nullptr) return false;
  in_flight_++;
  if (in_flight_ > max_in_flight_) max_in_flight_ = in_flight_;
  return true;
}

bool AsyncRunner::run(std::chrono::milliseconds timeout, std::string* error) {
  auto deadline = Clock::now() + timeout;
  iscsi_context* ctx = session_.ctx();
  while (next_ < queued_.size() || in_flight_ > 0) {
    while (next_ < queued_.size() && in_flight_ < depth_) {
      if (!submit_next()) {
        *error = std::string("submit failed: ") + iscsi_get_error(ctx);
        return false;
      }
    }
    if (Clock::now() >= deadline) {
      *error = "timed out with " + std::to_string(in_flight_) + " commands in flight";
      return false;
    }
    pollfd pfd{iscsi_get_fd(ctx), short(iscsi_which_events(ctx)), 0};
    int n = ::poll(&pfd, 1, 100);
    if (n < 0) continue;
    if (iscsi_service(ctx, n == 0 ? 0 : pfd.revents) < 0) {
      *error = std::string("iscsi_service: ") + iscsi_get_error(ctx);
      return false;
    }
  }
  return true;
}

// ------------------------------------------------------------------ data

std::vector<uint8_t> pattern(uint32_t seed, uint64_t lba, uint32_t blocks, uint32_t block_size) {
  std::vector<uint8_t> out(size_t(blocks) * block_size);
  for (uint32_t b = 0; b < blocks; ++b) {
    uint64_t x = (uint64_t(seed) << 40) ^ (lba + b) ^ 0x9e3779b97f4a7c15ull;
    uint8_t* p = out.data() + size_t(b) * block_size;
    for (uint32_t i = 0; i < block_size; i += 8) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      std::memcpy(p + i, &x, 8);
    }
    std::memcpy(p, &seed, 4);  // readable markers at the start of each block
    uint64_t block = lba + b;
    std::memcpy(p + 4, &block, 8);
  }
  return out;
}

long first_difference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return long(i);
  return a.size() == b.size() ? -1 : long(n);
}

}  // namespace sharedisk::itest
