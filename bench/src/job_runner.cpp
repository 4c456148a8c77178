#include "job_runner.h"

#include <poll.h>
#include <sys/resource.h>
#include <time.h>

// libiscsi's headers are C and rely on these being declared first.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>

extern "C" {
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
}

#include "verify_block.h"

namespace sharedisk::bench {

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

namespace {

constexpr uint64_t kSecond = 1'000'000'000;
constexpr uint64_t kReadbackTimeoutNs = 300 * kSecond;
constexpr uint64_t kMaxVerifyBitmapBits = uint64_t{2} << 30;  // 256 MiB of bitmap

struct CpuSample {
  double usr = 0, sys = 0;
  uint64_t ctx = 0, minflt = 0, majflt = 0;
};

CpuSample thread_cpu() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return {ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
          ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
          static_cast<uint64_t>(ru.ru_nvcsw + ru.ru_nivcsw), static_cast<uint64_t>(ru.ru_minflt),
          static_cast<uint64_t>(ru.ru_majflt)};
}

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

class Runner;

struct Slot {
  Runner* owner = nullptr;
  uint8_t* buf = nullptr;
  scsi_iovec iov{};
  uint64_t offset = 0;
  uint64_t start_ns = 0;
  bool write = false;
  bool readback = false;  // part of the final verification pass, not measured
};

class Runner {
 public:
  Runner(const JobSpec& spec, unsigned clone, const RunnerOptions& options, LiveCounters& live,
         const std::atomic<bool>& stop)
      : spec_(spec), clone_(clone), options_(options), live_(live), stop_(stop) {
    result_.name = spec.name;
    result_.clone = clone;
    result_.spec = &spec;
  }
  ~Runner() {
    closing_ = true;  // destroying the context cancels what is still in flight
    if (iscsi_) iscsi_destroy_context(iscsi_);
    if (url_) iscsi_destroy_url(url_);
  }

  bool connect();
  bool prepare();
  void run_measured();
  void read_back();
  void logout();
  JobResult& result() { return result_; }
  void fail(int code, const std::string& text) {
    if (result_.error == 0) {
      result_.error = code;
      result_.error_text = text;
    }
  }

  void complete(Slot& slot, int status, scsi_task* task);

 private:
  bool wait_until(const bool& done, uint64_t deadline);
  bool poll_once(int timeout_ms);
  bool issue(Slot& slot, uint64_t now);
  bool issue_readback(Slot& slot, uint64_t offset, uint64_t now);
  bool submit(Slot& slot);
  uint64_t pick_offset();
  bool offset_in_flight(uint64_t offset) const;
  void take_samples(uint64_t now);

  const JobSpec& spec_;
  const unsigned clone_;
  const RunnerOptions& options_;
  LiveCounters& live_;
  const std::atomic<bool>& stop_;
  JobResult result_;

  iscsi_context* iscsi_ = nullptr;
  iscsi_url* url_ = nullptr;
  int lun_ = 0;
  uint32_t block_size_ = 512;
  uint64_t region_start_ = 0, region_len_ = 0, region_blocks_ = 0;
  uint64_t seq_next_ = 0;
  std::mt19937_64 rng_;

  std::vector<Slot> slots_;
  std::vector<Slot*> free_;
  std::unique_ptr<uint8_t, FreeDeleter> memory_;
  std::vector<uint64_t> written_;  // verify: one bit per bs block of the region
  unsigned in_flight_ = 0;
  uint64_t completions_ = 0;  // every completion callback, for the complete batches
  bool closing_ = false;

  bool measuring_ = false;
  uint64_t measure_start_ = 0;
  uint64_t last_completion_ = 0;
  uint64_t next_sample_ = 0;
  uint64_t sample_read_bytes_ = 0, sample_write_bytes_ = 0, sample_read_ios_ = 0,
           sample_write_ios_ = 0;
};

void on_task_done(iscsi_context*, int status, void* command_data, void* private_data) {
  auto* slot = static_cast<Slot*>(private_data);
  slot->owner->complete(*slot, status, static_cast<scsi_task*>(command_data));
}

struct AsyncFlag {
  bool done = false;
  int status = 0;
  void* data = nullptr;
};

void on_flag(iscsi_context*, int status, void* command_data, void* private_data) {
  auto* f = static_cast<AsyncFlag*>(private_data);
  f->done = true;
  f->status = status;
  f->data = command_data;
}

bool Runner::poll_once(int timeout_ms) {
  pollfd pfd{iscsi_get_fd(iscsi_), static_cast<short>(iscsi_which_events(iscsi_)), 0};
  if (pfd.events == 0) {  // libiscsi asks for a pause (reconnect backoff)
    poll(nullptr, 0, timeout_ms < 100 ? timeout_ms : 100);
    return true;
  }
  const int n = poll(&pfd, 1, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return true;
    fail(errno, std::string("poll: ") + std::strerror(errno));
    return false;
  }
  const uint64_t completed_before = completions_;
  const bool counted = measuring_ && n > 0 && (pfd.revents & POLLIN);
  if (iscsi_service(iscsi_, n > 0 ? pfd.revents : 0) < 0) {
    fail(EIO, std::string("iscsi: ") + iscsi_get_error(iscsi_));
    return false;
  }
  if (counted) {
    ++result_.complete[batch_bucket(static_cast<unsigned>(completions_ - completed_before))];
  }
  return true;
}

bool Runner::wait_until(const bool& done, uint64_t deadline) {
  while (!done) {
    const uint64_t now = monotonic_ns();
    if (now >= deadline || stop_.load(std::memory_order_relaxed)) return false;
    const uint64_t left_ms = (deadline - now) / 1'000'000;
    if (!poll_once(static_cast<int>(left_ms > 100 ? 100 : left_ms + 1))) return false;
  }
  return true;
}

bool Runner::connect() {
  {
    // libiscsi seeds its ISID generator per context; keep creation serialized.
    static std::mutex create_mutex;
    std::lock_guard lock(create_mutex);
    iscsi_ = iscsi_create_context(options_.initiator_name.c_str());
  }
  if (!iscsi_) {
    fail(ENOMEM, "iscsi_create_context failed");
    return false;
  }
  if (spec_.filename.rfind("iscsi://", 0) != 0) {
    fail(EINVAL, "filename must be an iscsi:// URL (got '" + spec_.filename +
                     "'); use real fio for block devices");
    return false;
  }
  url_ = iscsi_parse_full_url(iscsi_, spec_.filename.c_str());
  if (!url_) {
    fail(EINVAL, std::string("bad URL: ") + iscsi_get_error(iscsi_));
    return false;
  }
  lun_ = url_->lun;
  iscsi_set_targetname(iscsi_, url_->target);
  iscsi_set_session_type(iscsi_, ISCSI_SESSION_NORMAL);
  iscsi_set_header_digest(
      iscsi_, options_.header_digest ? ISCSI_HEADER_DIGEST_CRC32C : ISCSI_HEADER_DIGEST_NONE);
  iscsi_set_noautoreconnect(iscsi_, 1);
  if (url_->user[0] != '\0') iscsi_set_initiator_username_pwd(iscsi_, url_->user, url_->passwd);

  AsyncFlag login;
  if (iscsi_full_connect_async(iscsi_, url_->portal, lun_, on_flag, &login) != 0) {
    fail(ECONNREFUSED, std::string("connect: ") + iscsi_get_error(iscsi_));
    return false;
  }
  if (!wait_until(login.done, monotonic_ns() + options_.connect_timeout_ns)) {
    fail(ETIMEDOUT,
         std::string("login to ") + url_->portal + " did not finish: " + iscsi_get_error(iscsi_));
    return false;
  }
  if (login.status != SCSI_STATUS_GOOD) {
    fail(ECONNREFUSED, std::string("login failed: ") + iscsi_get_error(iscsi_));
    return false;
  }

  AsyncFlag cap;
  if (!iscsi_readcapacity16_task(iscsi_, lun_, on_flag, &cap) ||
      !wait_until(cap.done, monotonic_ns() + options_.connect_timeout_ns)) {
    fail(EIO, std::string("READ CAPACITY(16): ") + iscsi_get_error(iscsi_));
    return false;
  }
  auto* task = static_cast<scsi_task*>(cap.data);
  if (cap.status != SCSI_STATUS_GOOD || task == nullptr) {
    fail(EIO, std::string("READ CAPACITY(16) failed: ") + iscsi_get_error(iscsi_));
    if (task) scsi_free_scsi_task(task);
    return false;
  }
  auto* rc16 = static_cast<scsi_readcapacity16*>(scsi_datain_unmarshall(task));
  if (!rc16) {
    scsi_free_scsi_task(task);
    fail(EIO, "READ CAPACITY(16): bad reply");
    return false;
  }
  block_size_ = rc16->block_length;
  result_.block_size = block_size_;
  result_.capacity_bytes = (rc16->returned_lba + 1) * static_cast<uint64_t>(block_size_);
  scsi_free_scsi_task(task);
  return true;
}

bool Runner::prepare() {
  const uint64_t cap = result_.capacity_bytes;
  const uint64_t bs = spec_.bs;
  if (block_size_ == 0 || bs % block_size_ != 0) {
    fail(EINVAL, "bs=" + std::to_string(bs) + " is not a multiple of the LUN block size " +
                     std::to_string(block_size_));
    return false;
  }
  uint64_t start = spec_.offset_percent ? cap / 100 * spec_.offset_percent : spec_.offset;
  start += clone_ * spec_.offset_increment;
  start -= start % block_size_;
  if (start >= cap) {
    fail(EINVAL, "offset " + std::to_string(start) + " is past the end of the LUN");
    return false;
  }
  uint64_t len = spec_.size_percent ? cap / 100 * spec_.size_percent
                 : spec_.size       ? spec_.size
                                    : cap - start;
  if (len > cap - start) len = cap - start;
  len -= len % bs;
  if (len < bs) {
    fail(EINVAL, "the I/O region is smaller than one block");
    return false;
  }
  region_start_ = start;
  region_len_ = len;
  region_blocks_ = len / bs;
  seq_next_ = start;
  rng_.seed(spec_.randseed + 0x9e3779b97f4a7c15ULL * (clone_ + 1));

  if (spec_.verify) {
    if (region_blocks_ > kMaxVerifyBitmapBits) {
      fail(EINVAL, "verify on a region this large needs a smaller size=");
      return false;
    }
    written_.assign((region_blocks_ + 63) / 64, 0);
  }

  const size_t stride = (bs + 4095) / 4096 * 4096;
  memory_.reset(static_cast<uint8_t*>(std::aligned_alloc(4096, stride * spec_.iodepth)));
  if (!memory_) {
    fail(ENOMEM, "cannot allocate I/O buffers");
    return false;
  }
  // Random, not zero, content: some targets and backing stores shortcut zeros.
  std::mt19937_64 fill(spec_.randseed);
  for (size_t i = 0; i + 8 <= stride * spec_.iodepth; i += 8) {
    const uint64_t r = fill();
    std::memcpy(memory_.get() + i, &r, 8);
  }
  slots_.resize(spec_.iodepth);
  free_.reserve(spec_.iodepth);
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    s.owner = this;
    s.buf = memory_.get() + i * stride;
    s.iov.iov_base = s.buf;
    s.iov.iov_len = bs;
    free_.push_back(&s);
  }
  return true;
}

bool Runner::offset_in_flight(uint64_t offset) const {
  for (const Slot& s : slots_) {
    if (s.start_ns != 0 && s.offset == offset) return true;
  }
  return false;
}

uint64_t Runner::pick_offset() {
  if (is_random(spec_.rw)) {
    // Multiply-shift maps 64 random bits onto [0, blocks) without a division.
    const uint64_t r = rng_();
    const auto block =
        static_cast<uint64_t>((static_cast<unsigned __int128>(r) * region_blocks_) >> 64);
    return region_start_ + block * spec_.bs;
  }
  const uint64_t off = seq_next_;
  seq_next_ += spec_.bs;
  if (seq_next_ + spec_.bs > region_start_ + region_len_) seq_next_ = region_start_;
  return off;
}

bool Runner::submit(Slot& slot) {
  const uint64_t lba = slot.offset / block_size_;
  const auto len = static_cast<uint32_t>(spec_.bs);
  scsi_task* task = slot.write
                        ? iscsi_write16_iov_task(iscsi_, lun_, lba, nullptr, len, block_size_, 0, 0,
                                                 0, 0, 0, on_task_done, &slot, &slot.iov, 1)
                        : iscsi_read16_iov_task(iscsi_, lun_, lba, len, block_size_, 0, 0, 0, 0, 0,
                                                on_task_done, &slot, &slot.iov, 1);
  if (!task) {
    slot.start_ns = 0;
    fail(EIO, std::string("cannot queue command: ") + iscsi_get_error(iscsi_));
    return false;
  }
  ++in_flight_;
  return true;
}

bool Runner::issue(Slot& slot, uint64_t now) {
  bool write;
  switch (spec_.rw) {
    case Pattern::kRead:
    case Pattern::kRandRead:
      write = false;
      break;
    case Pattern::kWrite:
    case Pattern::kRandWrite:
      write = true;
      break;
    default:
      write = rng_() % 100 >= spec_.rwmixread;
      break;
  }
  uint64_t offset = pick_offset();
  if (spec_.verify) {
    // Never let two commands of this job touch one block at once: the read
    // could see half of the write and report a false verify failure.
    int tries = 0;
    while (offset_in_flight(offset)) {
      if (!is_random(spec_.rw) || ++tries > 8) return false;
      offset = pick_offset();
    }
  }
  slot.write = write;
  slot.readback = false;
  slot.offset = offset;
  slot.start_ns = now;
  if (write && spec_.verify) {
    fill_verified(slot.buf, spec_.bs, offset, spec_.randseed);
    const uint64_t block = (offset - region_start_) / spec_.bs;
    written_[block / 64] |= uint64_t{1} << (block % 64);
  }
  return submit(slot);
}

bool Runner::issue_readback(Slot& slot, uint64_t offset, uint64_t now) {
  slot.write = false;
  slot.readback = true;
  slot.offset = offset;
  slot.start_ns = now;
  return submit(slot);
}

void Runner::complete(Slot& slot, int status, scsi_task* task) {
  if (closing_) {
    if (task) scsi_free_scsi_task(task);
    return;
  }
  const uint64_t now = monotonic_ns();
  --in_flight_;
  ++completions_;
  ++result_.all_ios;
  if (status != SCSI_STATUS_GOOD) {
    std::string why = iscsi_get_error(iscsi_);
    if (task && status == SCSI_STATUS_CHECK_CONDITION) {
      why = std::string("CHECK CONDITION ") + scsi_sense_key_str(task->sense.key) + " ascq 0x" +
            std::to_string(task->sense.ascq);
    }
    fail(EIO, std::string(slot.write ? "WRITE(16)" : "READ(16)") + " at byte " +
                  std::to_string(slot.offset) + " failed: " + why);
  } else if (task && task->residual_status != SCSI_RESIDUAL_NO_RESIDUAL && task->residual > 0) {
    // GOOD status but not all data moved: fio counts these as short I/Os; a
    // benchmark must not count them as full blocks.
    fail(EIO, std::string(slot.write ? "WRITE(16)" : "READ(16)") + " at byte " +
                  std::to_string(slot.offset) + ": short transfer, residual " +
                  std::to_string(task->residual) + " of " + std::to_string(spec_.bs) + " bytes");
  } else if (spec_.verify && !slot.write) {
    const VerifyOutcome v = check_verified(slot.buf, spec_.bs, slot.offset);
    const uint64_t block = (slot.offset - region_start_) / spec_.bs;
    const bool we_wrote = (written_[block / 64] >> (block % 64)) & 1;
    result_.verified_chunks += v.chunks_ok;
    result_.unwritten_chunks += v.chunks_unwritten;
    if (v.kind == VerifyOutcome::kBadCrc) {
      fail(EILSEQ, "verify: bad crc32c in the block at byte " + std::to_string(v.bad_offset));
    } else if (v.kind == VerifyOutcome::kMisplaced) {
      fail(EILSEQ, "verify: the block at byte " + std::to_string(v.bad_offset) +
                       " holds data written for another offset");
    } else if (we_wrote && v.chunks_unwritten > 0) {
      fail(EILSEQ, "verify: block at byte " + std::to_string(slot.offset) +
                       " was written by this job but reads back without its header");
    }
  }
  if (task) scsi_free_scsi_task(task);

  if (measuring_ && !slot.readback && status == SCSI_STATUS_GOOD) {
    DirectionStats& d = slot.write ? result_.write : result_.read;
    ++d.ios;
    d.bytes += spec_.bs;
    d.lat.record(now - slot.start_ns);
    last_completion_ = now;
    if (slot.write) {
      live_.write_ios.store(d.ios, std::memory_order_relaxed);
      live_.write_bytes.store(d.bytes, std::memory_order_relaxed);
    } else {
      live_.read_ios.store(d.ios, std::memory_order_relaxed);
      live_.read_bytes.store(d.bytes, std::memory_order_relaxed);
    }
  }
  slot.start_ns = 0;
  free_.push_back(&slot);
}

void Runner::take_samples(uint64_t now) {
  while (now >= next_sample_) {
    result_.read.bytes_per_second.push_back(result_.read.bytes - sample_read_bytes_);
    result_.read.ios_per_second.push_back(result_.read.ios - sample_read_ios_);
    result_.write.bytes_per_second.push_back(result_.write.bytes - sample_write_bytes_);
    result_.write.ios_per_second.push_back(result_.write.ios - sample_write_ios_);
    sample_read_bytes_ = result_.read.bytes;
    sample_read_ios_ = result_.read.ios;
    sample_write_bytes_ = result_.write.bytes;
    sample_write_ios_ = result_.write.ios;
    next_sample_ += kSecond;
  }
}

void Runner::run_measured() {
  const uint64_t begin = monotonic_ns();
  const uint64_t ramp_end = begin + spec_.ramp_ns;
  const uint64_t budget = spec_.time_based ? UINT64_MAX
                          : spec_.io_size  ? spec_.io_size
                                           : region_len_;
  uint64_t issued_bytes = 0;  // measured phase only
  uint64_t run_end = UINT64_MAX;
  uint64_t drain_deadline = 0;
  CpuSample cpu_start{};
  live_.state.store(spec_.ramp_ns ? LiveCounters::kRamp : LiveCounters::kRunning);
  const size_t expected_samples = spec_.runtime_ns / kSecond + 2;
  result_.read.bytes_per_second.reserve(expected_samples);
  result_.read.ios_per_second.reserve(expected_samples);
  result_.write.bytes_per_second.reserve(expected_samples);
  result_.write.ios_per_second.reserve(expected_samples);

  for (;;) {
    uint64_t now = monotonic_ns();
    if (!measuring_ && now >= ramp_end) {
      measuring_ = true;
      measure_start_ = now;
      last_completion_ = now;
      next_sample_ = now + kSecond;
      if (spec_.runtime_ns) run_end = now + spec_.runtime_ns;
      cpu_start = thread_cpu();
      live_.measure_start_ns.store(now);
      live_.state.store(LiveCounters::kRunning);
    }
    const bool stopping = result_.error != 0 || stop_.load(std::memory_order_relaxed) ||
                          now >= run_end || issued_bytes >= budget;
    if (!stopping) {
      unsigned queued = 0;
      while (!free_.empty() && issued_bytes < budget) {
        Slot* slot = free_.back();
        free_.pop_back();
        if (!issue(*slot, now)) {
          free_.push_back(slot);
          break;
        }
        ++queued;
        if (measuring_) issued_bytes += spec_.bs;
      }
      if (queued && measuring_) {  // as fio counts at each commit of queued I/O
        ++result_.submit[batch_bucket(queued)];
        result_.depth[depth_bucket(in_flight_)] += queued;
      }
      // Hand the new commands to the socket now rather than after another poll.
      if (queued && (iscsi_which_events(iscsi_) & POLLOUT) && iscsi_service(iscsi_, POLLOUT) < 0) {
        fail(EIO, std::string("iscsi: ") + iscsi_get_error(iscsi_));
      }
    } else {
      if (in_flight_ == 0) break;
      if (drain_deadline == 0) drain_deadline = now + options_.drain_timeout_ns;
      if (now >= drain_deadline) {
        fail(ETIMEDOUT, std::to_string(in_flight_) + " commands did not complete in time");
        break;
      }
    }
    int timeout_ms = 1000;
    if (!measuring_) timeout_ms = static_cast<int>((ramp_end - now) / 1'000'000) + 1;
    if (run_end != UINT64_MAX && run_end > now) {
      timeout_ms = std::min<int>(timeout_ms, static_cast<int>((run_end - now) / 1'000'000) + 1);
    }
    if (!poll_once(timeout_ms)) break;
    if (measuring_) take_samples(monotonic_ns());
  }
  if (!measuring_) {  // stopped during ramp
    measure_start_ = last_completion_ = monotonic_ns();
    cpu_start = thread_cpu();
  }
  const CpuSample cpu_end = thread_cpu();
  result_.usr_seconds = cpu_end.usr - cpu_start.usr;
  result_.sys_seconds = cpu_end.sys - cpu_start.sys;
  result_.context_switches = cpu_end.ctx - cpu_start.ctx;
  result_.minor_faults = cpu_end.minflt - cpu_start.minflt;
  result_.major_faults = cpu_end.majflt - cpu_start.majflt;
  result_.runtime_ns = last_completion_ > measure_start_ ? last_completion_ - measure_start_ : 0;
  measuring_ = false;
}

void Runner::read_back() {
  if (!spec_.verify || does_reads(spec_.rw) || result_.error != 0 || in_flight_ != 0) return;
  const uint64_t deadline = monotonic_ns() + kReadbackTimeoutNs;
  uint64_t block = 0;
  auto next_written = [&]() {
    while (block < region_blocks_ && !((written_[block / 64] >> (block % 64)) & 1)) ++block;
    return block < region_blocks_;
  };
  for (;;) {
    const uint64_t now = monotonic_ns();
    while (!free_.empty() && result_.error == 0 && next_written()) {
      Slot* slot = free_.back();
      free_.pop_back();
      if (!issue_readback(*slot, region_start_ + block * spec_.bs, now)) break;
      ++block;
    }
    if (in_flight_ == 0 && (result_.error != 0 || !next_written())) return;
    if (now >= deadline || stop_.load()) {
      fail(ETIMEDOUT, "verify read-back did not finish in time");
      return;
    }
    if (!poll_once(100)) return;
  }
}

void Runner::logout() {
  if (!iscsi_ || result_.error == ECONNREFUSED) return;
  AsyncFlag done;
  if (iscsi_logout_async(iscsi_, on_flag, &done) == 0) {
    wait_until(done.done, monotonic_ns() + 3 * kSecond);
  }
}

}  // namespace

JobResult run_job(const JobSpec& spec, unsigned clone, const RunnerOptions& options,
                  LiveCounters& live, std::latch& start_gate, const std::atomic<bool>& stop) {
  const uint64_t begin = monotonic_ns();
  Runner runner(spec, clone, options, live, stop);
  const bool ready = runner.connect() && runner.prepare();
  // Every clone passes the gate exactly once, ready or not, so none waits forever.
  start_gate.arrive_and_wait();
  if (ready && !stop.load()) {
    runner.run_measured();
    runner.read_back();
  }
  if (ready) runner.logout();
  live.state.store(LiveCounters::kDone);
  runner.result().elapsed_ns = monotonic_ns() - begin;
  return std::move(runner.result());
}

}  // namespace sharedisk::bench
