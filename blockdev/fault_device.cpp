// The fault-injecting store of fault_device.h. Test-only: it takes a mutex
// and, with a control file, a stat() per request, and its queues allocate.
#include "blockdev/fault_device.h"

#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>

#include "blockdev/completion_queue.h"
#include "util/loop_turn.h"

namespace sharedisk::blockdev {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollInterval = std::chrono::milliseconds(10);

bool parse_u64(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + uint64_t(c - '0');
  }
  *out = v;
  return true;
}

int errno_named(const std::string& name) {
  static const struct {
    const char* name;
    int value;
  } kNames[] = {{"EIO", EIO},       {"ENOSPC", ENOSPC}, {"EROFS", EROFS},  {"ENOMEM", ENOMEM},
                {"EINVAL", EINVAL}, {"EPERM", EPERM},   {"EDQUOT", EDQUOT}};
  for (const auto& n : kNames)
    if (name == n.name) return n.value;
  uint64_t v;
  if (parse_u64(name, &v) && v > 0 && v < 4096) return int(v);
  return 0;
}

bool parse_ops(const std::string& word, uint8_t* ops) {
  *ops = 0;
  std::stringstream ss(word);
  std::string op;
  while (std::getline(ss, op, ',')) {
    if (op == "read")
      *ops |= FaultRule::bit(IoOp::kRead);
    else if (op == "write")
      *ops |= FaultRule::bit(IoOp::kWrite);
    else if (op == "flush")
      *ops |= FaultRule::bit(IoOp::kFlush);
    else if (op == "discard")
      *ops |= FaultRule::bit(IoOp::kDiscard);
    else if (op == "write_zeroes")
      *ops |= FaultRule::bit(IoOp::kWriteZeroes);
    else if (op == "any")
      *ops |= FaultRule::kAnyOp;
    else
      return false;
  }
  return *ops != 0;
}

}  // namespace

std::string parse_fault_rules(const std::string& text, std::vector<FaultRule>* out) {
  std::vector<FaultRule> rules;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::string word;
    if (!(words >> word)) continue;
    const std::string where = "line " + std::to_string(n) + ": ";
    FaultRule r;
    if (!parse_ops(word, &r.ops))
      return where + "'" + word + "' is not read, write, flush, discard, write_zeroes or any";
    bool blocks_given = false, acts = false;
    while (words >> word) {
      if (word == "stuck") {
        r.stuck = acts = true;
        continue;
      }
      auto eq = word.find('=');
      std::string key = word.substr(0, eq == std::string::npos ? word.size() : eq);
      std::string value = eq == std::string::npos ? "" : word.substr(eq + 1);
      uint64_t v = 0;
      if (key == "error") {
        r.error = errno_named(value);
        if (r.error == 0) return where + "error=" + value + " is not EIO, ENOSPC, ... or 1-4095";
        acts = true;
      } else if (key == "delay" && parse_u64(value, &v) && v <= 600000) {
        r.delay_ms = uint32_t(v);
        acts = acts || v > 0;
      } else if (key == "lba" && parse_u64(value, &v)) {
        r.first_lba = v;
      } else if (key == "blocks" && parse_u64(value, &v) && v > 0) {
        r.lba_count = v;
        blocks_given = true;
      } else if (key == "count" && parse_u64(value, &v) && v > 0) {
        r.count = v;
      } else {
        return where + "'" + word +
               "' is not error=, delay=<ms, at most 600000>, stuck, lba=, blocks=<n > 0> or "
               "count=<n > 0>";
      }
    }
    if (!acts) return where + "the rule does nothing: give error=, delay= or stuck";
    if (r.first_lba != 0 && !blocks_given) r.lba_count = UINT64_MAX - r.first_lba;
    rules.push_back(r);
  }
  *out = std::move(rules);
  return {};
}

// ---- the device

namespace {

class FaultChannel final : public IoChannel, private CompletionQueue::Sink {
 public:
  FaultChannel(FaultDevice& device, boost::asio::io_context& loop)
      : device_(device),
        inner_(device.inner().make_channel(loop)),
        delay_timer_(loop),
        poll_timer_(loop),
        done_(loop, *this),
        alive_(std::make_shared<char>()) {}
  ~FaultChannel() override {
    if (destroyed_) *destroyed_ = true;
    device_.count_held(-int(held_.size()));
  }

  void submit(IoRequest& req) override;
  unsigned in_flight() const override { return own_ + inner_->in_flight(); }
  bool cancel(IoRequest& req) override { return inner_->cancel(req); }

 private:
  struct Waiting {
    IoRequest* req;
    int error;
    uint32_t delay_ms;
    uint64_t generation;
    Clock::time_point due;
  };

  void complete(IoRequest& req, int result) override {
    --own_;
    deliver(req, result);
  }
  // Sends req on to the wrapped store, or completes it with -error.
  // Returns false when a callback destroyed the channel.
  bool proceed(IoRequest& req, int error);
  bool deliver(IoRequest& req, int result);
  void delay(const Waiting& w);
  void arm_delay();
  void on_delay();
  void arm_poll();
  void on_poll();

  FaultDevice& device_;
  std::unique_ptr<IoChannel> inner_;
  boost::asio::steady_timer delay_timer_, poll_timer_;
  std::deque<Waiting> delayed_, held_;
  CompletionQueue done_;
  unsigned own_ = 0;  // held, delayed or failing here
  bool delay_armed_ = false, poll_armed_ = false;
  bool* destroyed_ = nullptr;
  std::shared_ptr<char> alive_;
};

void FaultChannel::submit(IoRequest& req) {
  FaultDevice::Decision d = device_.decide(req);
  if (d.pass) return inner_->submit(req);
  ++own_;
  Waiting w{&req, d.error, d.delay_ms, d.generation, {}};
  if (d.stuck) {
    held_.push_back(w);
    device_.count_held(1);
    arm_poll();
  } else if (d.delay_ms > 0) {
    delay(w);
  } else {
    done_.push(req, -d.error);
  }
}

bool FaultChannel::deliver(IoRequest& req, int result) {
  bool destroyed = false;
  destroyed_ = &destroyed;
  req.callback->io_done(req, result);
  if (destroyed) return false;
  destroyed_ = nullptr;
  return true;
}

bool FaultChannel::proceed(IoRequest& req, int error) {
  --own_;
  if (error != 0) return deliver(req, -error);
  inner_->submit(req);
  return true;
}

void FaultChannel::delay(const Waiting& w) {
  Waiting d = w;
  d.due = Clock::now() + std::chrono::milliseconds(w.delay_ms);
  delayed_.push_back(d);
  arm_delay();
}

void FaultChannel::arm_delay() {
  if (delay_armed_ || delayed_.empty()) return;
  delay_armed_ = true;
  delay_timer_.expires_at(delayed_.front().due);
  delay_timer_.async_wait(
      [this, alive = std::weak_ptr<char>(alive_)](const boost::system::error_code& ec) {
        if (ec || alive.expired()) return;
        util::LoopTurn turn;
        delay_armed_ = false;
        on_delay();
      });
}

void FaultChannel::on_delay() {
  // FIFO: with mixed delays a request may wait for an earlier, longer one.
  auto now = Clock::now();
  while (!delayed_.empty() && delayed_.front().due <= now) {
    Waiting w = delayed_.front();
    delayed_.pop_front();
    if (!proceed(*w.req, w.error)) return;
  }
  arm_delay();
}

void FaultChannel::arm_poll() {
  if (poll_armed_ || held_.empty()) return;
  poll_armed_ = true;
  poll_timer_.expires_after(kPollInterval);
  poll_timer_.async_wait(
      [this, alive = std::weak_ptr<char>(alive_)](const boost::system::error_code& ec) {
        if (ec || alive.expired()) return;
        util::LoopTurn turn;
        poll_armed_ = false;
        on_poll();
      });
}

void FaultChannel::on_poll() {
  uint64_t generation = device_.refresh();
  // Held under an older rule set: released, in order. Held under the
  // current one: still held.
  for (size_t n = held_.size(); n > 0; --n) {
    Waiting w = held_.front();
    held_.pop_front();
    if (w.generation == generation) {
      held_.push_back(w);
      continue;
    }
    device_.count_held(-1);
    if (w.delay_ms > 0) {
      delay(w);
    } else if (!proceed(*w.req, w.error)) {
      return;
    }
  }
  arm_poll();
}

}  // namespace

FaultDevice::FaultDevice(std::unique_ptr<BlockDevice> inner, FaultOptions options)
    : inner_(std::move(inner)), options_(std::move(options)) {
  if (options_.block_size == 0) options_.block_size = 512;
  refresh();
}

FaultDevice::~FaultDevice() = default;

std::unique_ptr<IoChannel> FaultDevice::make_channel(boost::asio::io_context& loop) {
  return std::make_unique<FaultChannel>(*this, loop);
}

void FaultDevice::set_rules(std::vector<FaultRule> rules) {
  std::lock_guard lock(mutex_);
  rules_.clear();
  for (const FaultRule& r : rules) rules_.push_back({r, r.count});
  generation_.fetch_add(1);
}

std::string FaultDevice::control_error() const {
  std::lock_guard lock(mutex_);
  return control_error_;
}

bool FaultDevice::matches(const FaultRule& rule, const IoRequest& req) const {
  if (!(rule.ops & FaultRule::bit(req.op))) return false;
  if (rule.lba_count == 0) return true;
  if (req.op == IoOp::kFlush) return false;
  const uint64_t bs = options_.block_size;
  const uint64_t first = req.offset / bs;
  const uint64_t end = (req.offset + req.length + bs - 1) / bs;  // exclusive
  const uint64_t rule_end =
      rule.lba_count > UINT64_MAX - rule.first_lba ? UINT64_MAX : rule.first_lba + rule.lba_count;
  return first < rule_end && end > rule.first_lba;
}

FaultDevice::Decision FaultDevice::decide(const IoRequest& req) {
  std::lock_guard lock(mutex_);
  if (!options_.control_path.empty()) refresh_locked();
  Decision d;
  d.generation = generation_.load(std::memory_order_relaxed);
  for (Active& a : rules_) {
    if (!matches(a.rule, req)) continue;
    if (a.rule.count != 0) {
      if (a.left == 0) continue;  // spent
      --a.left;
    }
    injected_.fetch_add(1, std::memory_order_relaxed);
    d.pass = false;
    d.error = a.rule.error;
    d.delay_ms = a.rule.delay_ms;
    d.stuck = a.rule.stuck;
    return d;
  }
  return d;
}

uint64_t FaultDevice::refresh() {
  std::lock_guard lock(mutex_);
  if (!options_.control_path.empty()) refresh_locked();
  return generation_.load(std::memory_order_relaxed);
}

void FaultDevice::refresh_locked() {
  FileId id;
  struct stat st {};
  if (::stat(options_.control_path.c_str(), &st) == 0) {
    id.exists = true;
    id.dev = st.st_dev;
    id.ino = st.st_ino;
    id.size = uint64_t(st.st_size);
    id.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    id.ctime_ns = int64_t(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  }
  if (control_read_ && id == control_id_) return;
  control_read_ = true;
  control_id_ = id;
  std::vector<FaultRule> rules;
  std::string error;
  if (id.exists) {
    std::ifstream in(options_.control_path);
    std::stringstream text;
    text << in.rdbuf();
    error = parse_fault_rules(text.str(), &rules);
  }
  if (!error.empty()) {
    control_error_ = options_.control_path + ": " + error;
    std::fprintf(stderr, "fault store: %s (rules unchanged)\n", control_error_.c_str());
    return;
  }
  control_error_.clear();
  rules_.clear();
  for (const FaultRule& r : rules) rules_.push_back({r, r.count});
  generation_.fetch_add(1);
}

std::unique_ptr<FaultDevice> make_fault_device(std::unique_ptr<BlockDevice> inner,
                                               FaultOptions options) {
  return std::make_unique<FaultDevice>(std::move(inner), std::move(options));
}

}  // namespace sharedisk::blockdev
