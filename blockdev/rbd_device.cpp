#include "blockdev/rbd_device.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <vector>

#include "blockdev/completion_queue.h"
#include "util/loop_turn.h"

namespace sharedisk::blockdev {

namespace {

uint64_t now_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

// Does `op` make librbd take the exclusive lock? Every write does, and so
// does a flush a user sends (librbd's exclusive_lock::ImageDispatch); reads
// and the allocation map do not.
constexpr bool lock_op(IoOp op) {
  return op != IoOp::kRead && op != IoOp::kAllocationMap;
}

class RbdChannel final : public IoChannel, private CompletionQueue::Sink {
 public:
  RbdChannel(RbdDevice& device, boost::asio::io_context& loop);
  ~RbdChannel() override;

  void submit(IoRequest& req) override;
  unsigned in_flight() const override { return in_flight_; }
  bool cancel(IoRequest& req) override;

 private:
  // One request while librbd holds it, or while the owner dwell holds it
  // back. `next` links the completion stack (written by librbd's thread
  // before the push), the free list and the held list (loop only).
  struct Slot {
    Slot* next;
    RbdChannel* channel;
    IoRequest* req;
    uint64_t started_ns;  // held: when it may go (the dwell's end)
    int result;
  };
  static constexpr unsigned kChunk = 64;

  static void on_complete(rbd_completion_t c, void* arg);  // librbd's thread
  void push_completed(Slot* slot);                         // librbd's thread

  int start(Slot* slot, IoRequest& req);
  // Hands `slot` (req set) to librbd, or completes it with the error.
  void send(Slot* slot, uint64_t now);
  Slot* take_slot();
  // The owner dwell: does `op` make librbd take the exclusive lock, and must
  // it wait now (this gateway does not hold the lock and it moved less than
  // the dwell ago)? Then the end of the dwell, else 0. Relaxed loads only.
  uint64_t dwell_end(IoOp op, uint64_t now) const;
  void hold(Slot* slot, uint64_t until);
  void arm_hold(uint64_t until);
  void release_held();
  void release(Slot* slot) {
    slot->next = free_;
    free_ = slot;
  }
  void complete(IoRequest& req, int result) override { finish(req, result); }
  void arm_wait();
  void on_ready();
  // Completes what librbd has finished, and arms the eventfd wait while it
  // holds more.
  void take_completions();
  bool finish(IoRequest& req, int result);

  RbdDevice& device_;
  boost::asio::posix::stream_descriptor eventfd_;
  int efd_;  // eventfd_'s descriptor, written by librbd's threads

  alignas(64) std::atomic<Slot*> completed_{nullptr};  // LIFO, pushed by librbd
  alignas(64) Slot* free_ = nullptr;
  std::vector<std::unique_ptr<Slot[]>> chunks_;
  CompletionQueue done_;  // failed before reaching librbd

  unsigned in_flight_ = 0;
  unsigned rbd_in_flight_ = 0;  // handed to librbd, completion not yet taken
  bool armed_ = false;
  // Writes held for the owner dwell, oldest first (their ends ascend), and
  // the timer on this loop that sends them when it has passed.
  Slot* held_head_ = nullptr;
  Slot* held_tail_ = nullptr;
  boost::asio::steady_timer hold_timer_;
  uint64_t hold_armed_until_ = 0;  // 0: not armed
  bool* destroyed_ = nullptr;
};

RbdChannel::RbdChannel(RbdDevice& device, boost::asio::io_context& loop)
    : device_(device), eventfd_(loop), done_(loop, *this), hold_timer_(loop) {
  efd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  eventfd_.assign(efd_);
}

RbdChannel::~RbdChannel() {
  if (destroyed_) *destroyed_ = true;
  // The contract says nothing is in flight; should librbd still hold a
  // request, its callback would write into our slots: wait for it (bounded by
  // the OSD op timeout) and drop the completions.
  while (rbd_in_flight_ > 0) {
    for (Slot* s = completed_.exchange(nullptr, std::memory_order_acquire); s; s = s->next)
      --rbd_in_flight_;
    if (rbd_in_flight_ == 0) break;
    pollfd p{efd_, POLLIN, 0};
    ::poll(&p, 1, 100);
    uint64_t count;
    [[maybe_unused]] ssize_t n = ::read(efd_, &count, sizeof count);
  }
}

RbdChannel::Slot* RbdChannel::take_slot() {
  if (free_ == nullptr) {
    // Grows to the deepest queue this channel has seen, then never again.
    chunks_.push_back(std::make_unique<Slot[]>(kChunk));
    for (unsigned i = 0; i < kChunk; ++i) {
      chunks_.back()[i].channel = this;
      release(&chunks_.back()[i]);
    }
  }
  Slot* s = free_;
  free_ = s->next;
  return s;
}

void RbdChannel::submit(IoRequest& req) {
  ++in_flight_;
  int err = device_.check(req);
  if (err != 0) {
    done_.push(req, err);
    return;
  }
  Slot* slot = take_slot();
  slot->req = &req;
  const uint64_t now = now_ns();
  // Behind writes already held, a write waits too (they keep their order).
  uint64_t until = dwell_end(req.op, now);
  if (held_head_ != nullptr && (until != 0 || lock_op(req.op)))
    until = std::max(until, held_tail_->started_ns);
  if (until != 0) {
    hold(slot, until);
    return;
  }
  send(slot, now);
}

void RbdChannel::send(Slot* slot, uint64_t now) {
  IoRequest& req = *slot->req;
  slot->started_ns = now;
  int err = start(slot, req);
  if (err == 0) {
    ++rbd_in_flight_;
    if (!armed_) arm_wait();
    return;
  }
  release(slot);
  done_.push(req, err);
}

uint64_t RbdChannel::dwell_end(IoOp op, uint64_t now) const {
  const RbdStats& st = device_.stats();
  const uint32_t dwell_ms = st.lock_dwell_ms.load(std::memory_order_relaxed);
  if (dwell_ms == 0 || !lock_op(op) || st.lock_mine.load(std::memory_order_relaxed)) return 0;
  const uint64_t moved = st.lock_moved_ns.load(std::memory_order_relaxed);
  const uint64_t end = moved + uint64_t(dwell_ms) * 1000000u;
  return moved != 0 && now < end ? end : 0;
}

void RbdChannel::hold(Slot* slot, uint64_t until) {
  slot->started_ns = until;
  slot->next = nullptr;
  if (held_tail_ != nullptr)
    held_tail_->next = slot;
  else
    held_head_ = slot;
  held_tail_ = slot;
  RbdStats& st = device_.stats();
  st.held_now.fetch_add(1, std::memory_order_relaxed);
  st.held_total.fetch_add(1, std::memory_order_relaxed);
  if (hold_armed_until_ == 0) arm_hold(held_head_->started_ns);
}

void RbdChannel::arm_hold(uint64_t until) {
  hold_armed_until_ = until;
  hold_timer_.expires_at(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(until)));
  hold_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: the channel is going
    hold_armed_until_ = 0;
    util::LoopTurn turn;  // the released writes leave in one batch
    release_held();
  });
}

// Sends every held write whose dwell has passed, oldest first, and waits
// for the next. A write may complete (and its task end) inside send() only
// through done_, which runs later, so this loop cannot lose the channel.
void RbdChannel::release_held() {
  const uint64_t now = now_ns();
  uint64_t sent = 0;
  while (held_head_ != nullptr && held_head_->started_ns <= now) {
    Slot* s = held_head_;
    held_head_ = s->next;
    if (held_head_ == nullptr) held_tail_ = nullptr;
    ++sent;
    send(s, now);
  }
  if (sent) device_.stats().held_now.fetch_sub(sent, std::memory_order_relaxed);
  if (held_head_ != nullptr && hold_armed_until_ == 0) arm_hold(held_head_->started_ns);
}

bool RbdChannel::cancel(IoRequest& req) {
  Slot* prev = nullptr;
  for (Slot* s = held_head_; s != nullptr; prev = s, s = s->next) {
    if (s->req != &req) continue;
    if (prev != nullptr)
      prev->next = s->next;
    else
      held_head_ = s->next;
    if (held_tail_ == s) held_tail_ = prev;
    device_.stats().held_now.fetch_sub(1, std::memory_order_relaxed);
    release(s);
    // The timer may stay armed for a list now empty: it then finds nothing.
    done_.push(req, -ECANCELED);
    return true;
  }
  return false;
}

int RbdChannel::start(Slot* slot, IoRequest& req) {
  if (req.op == IoOp::kAllocationMap) {
    // librbd has no asynchronous diff: the device's blocking thread runs it
    // and pushes the slot as librbd's callback would.
    RbdDevice* device = &device_;
    device_.run_blocking([device, slot] {
      IoRequest& r = *slot->req;
      slot->result = device->allocation_map(r.offset, r.length,
                                            *static_cast<AllocationMap*>(r.iov[0].iov_base));
      slot->channel->push_completed(slot);
    });
    return 0;
  }
  rbd_completion_t c;
  int rc = rbd_aio_create_completion(slot, &RbdChannel::on_complete, &c);
  if (rc < 0) return rc;
  rbd_image_t image = device_.image();
  switch (req.op) {
    case IoOp::kRead:
      rc = rbd_aio_readv(image, req.iov, req.iovcnt, req.offset, c);
      break;
    case IoOp::kWrite:
      // rbd_cache is off: librbd completes a write once every replica has
      // committed it, so FUA and write-through need no extra flush.
      rc = rbd_aio_writev(image, req.iov, req.iovcnt, req.offset, c);
      break;
    case IoOp::kFlush:
      rc = rbd_aio_flush(image, c);
      break;
    case IoOp::kDiscard:
      rc = rbd_aio_discard(image, req.offset, req.length, c);
      break;
    case IoOp::kWriteZeroes:
      // Without unmap the range must stay allocated (WRITE SAME without UNMAP).
      rc = rbd_aio_write_zeroes(image, req.offset, req.length, c,
                                req.unmap ? 0 : RBD_WRITE_ZEROES_FLAG_THICK_PROVISION, 0);
      break;
    case IoOp::kWriteSame:
      // One call for the whole range: librbd sends each object one OSD
      // WRITESAME op with the pattern, not the expanded data.
      rc = rbd_aio_writesame(image, req.offset, req.length,
                             static_cast<const char*>(req.iov[0].iov_base), req.iov[0].iov_len, c,
                             0);
      break;
    case IoOp::kCompareAndWrite: {
      // The OSD compares and writes in one operation: atomic against every
      // gateway of the image, not only this process's write gate.
      ssize_t r = rbd_aio_compare_and_write(
          image, req.offset, req.length, static_cast<const char*>(req.iov[0].iov_base),
          static_cast<const char*>(req.iov[1].iov_base), c, &req.miscompare_offset, 0);
      rc = r < 0 ? int(r) : 0;
      break;
    }
    case IoOp::kAllocationMap:  // handled above
      rc = -EINVAL;
      break;
  }
  if (rc < 0) rbd_aio_release(c);
  return rc;
}

void RbdChannel::on_complete(rbd_completion_t c, void* arg) {
  Slot* slot = static_cast<Slot*>(arg);
  ssize_t rv = rbd_aio_get_return_value(c);
  rbd_aio_release(c);
  if (rv >= 0 && slot->req->op == IoOp::kRead && uint64_t(rv) != slot->req->length) rv = -EIO;
  slot->result = rv < 0 ? int(rv) : 0;
  slot->channel->push_completed(slot);
}

void RbdChannel::push_completed(Slot* slot) {
  Slot* head = completed_.load(std::memory_order_relaxed);
  do {
    slot->next = head;
  } while (!completed_.compare_exchange_weak(head, slot, std::memory_order_release,
                                             std::memory_order_relaxed));
  // Only the push onto an empty stack wakes the loop: the loop takes the whole
  // stack, so later pushes of the same batch ride along.
  if (head == nullptr) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(efd_, &one, sizeof one);
  }
}

void RbdChannel::arm_wait() {
  armed_ = true;
  eventfd_.async_wait(boost::asio::posix::descriptor_base::wait_read,
                      [this](const boost::system::error_code& ec) {
                        if (ec) return;  // cancelled, or the channel is gone
                        util::LoopTurn turn;
                        on_ready();
                      });
}

void RbdChannel::on_ready() {
  armed_ = false;
  uint64_t count;
  [[maybe_unused]] ssize_t n = ::read(efd_, &count, sizeof count);
  take_completions();
}

void RbdChannel::take_completions() {
  RbdStats& stats = device_.stats();
  for (;;) {
    Slot* list = completed_.exchange(nullptr, std::memory_order_acquire);
    if (list == nullptr) {
      if (rbd_in_flight_ == 0) {
        // Nothing can complete: let io_context::run() return when idle.
        if (armed_) {
          armed_ = false;
          eventfd_.cancel();
        }
        break;
      }
      if (armed_) break;
      // Arm, then look again: a push that found the stack non-empty before
      // our exchange did not signal, and one signalled while unarmed may not
      // wake an edge-triggered reactor.
      arm_wait();
      continue;
    }
    // The stack is newest first; complete in arrival order.
    Slot* fifo = nullptr;
    while (list) {
      Slot* next = list->next;
      list->next = fifo;
      fifo = list;
      list = next;
      --rbd_in_flight_;  // all of it now, in case a callback destroys the channel
    }
    const uint64_t now = now_ns();
    uint64_t latency = 0, errors = 0, timeouts = 0, count = 0;
    while (fifo) {
      Slot* s = fifo;
      fifo = s->next;
      IoRequest& req = *s->req;
      int result = s->result;
      latency += now - s->started_ns;
      ++count;
      if (result < 0) {
        ++errors;
        if (result == -ETIMEDOUT) ++timeouts;
      }
      release(s);
      if (!finish(req, result)) return;  // the callback destroyed this channel
    }
    stats.ops.fetch_add(count, std::memory_order_relaxed);
    stats.latency_ns.fetch_add(latency, std::memory_order_relaxed);
    if (errors) stats.errors.fetch_add(errors, std::memory_order_relaxed);
    if (timeouts) stats.timeouts.fetch_add(timeouts, std::memory_order_relaxed);
  }
}

bool RbdChannel::finish(IoRequest& req, int result) {
  --in_flight_;
  bool destroyed = false;
  destroyed_ = &destroyed;
  req.callback->io_done(req, result);
  if (destroyed) return false;
  destroyed_ = nullptr;
  return true;
}

// Is `a` the client `b`? Both are entity addresses ("127.0.0.1:0/2420696380",
// maybe "v2:..." or a list in brackets): the same text, or the same nonce (the
// number after the last '/', unique per client instance).
bool same_client(const std::string& a, const std::string& b) {
  if (a == b) return true;
  auto nonce = [](const std::string& s) {
    size_t slash = s.rfind('/');
    if (slash == std::string::npos) return std::string();
    size_t end = s.find_first_not_of("0123456789", slash + 1);
    return s.substr(slash + 1, end == std::string::npos ? std::string::npos : end - slash - 1);
  };
  const std::string n = nonce(a);
  return !n.empty() && n == nonce(b);
}

std::string spec(const RbdOptions& o) {
  return o.pool + "/" + (o.ns.empty() ? "" : o.ns + "/") + o.image;
}

}  // namespace

RbdDevice::RbdDevice(std::shared_ptr<RadosCluster> cluster, rados_ioctx_t ioctx, rbd_image_t image,
                     DeviceInfo info, CacheMode mode)
    : cluster_(std::move(cluster)),
      ioctx_(ioctx),
      image_(image),
      info_(std::move(info)),
      size_(info_.size_bytes),
      mode_(mode) {}

RbdDevice::~RbdDevice() {
  stop_owner_watch();
  worker_.reset();  // channels are gone, so no job is queued; joins the thread
  // Returns once no callback runs, and none will.
  if (watching_) rbd_update_unwatch(image_, watch_handle_);
  // rbd_close waits for in-flight requests and flushes.
  rbd_close(image_);
  rados_ioctx_destroy(ioctx_);
}

uint64_t RbdDevice::refresh_size() {
  uint64_t size = 0;
  if (rbd_get_size(image_, &size) == 0)
    size_.store(size & ~uint64_t(511), std::memory_order_relaxed);
  return size_.load(std::memory_order_relaxed);
}

void RbdDevice::watch_size(std::function<void()> changed) {
  if (watching_ || !changed) return;
  size_changed_ = std::move(changed);
  auto on_update = [](void* arg) { static_cast<RbdDevice*>(arg)->size_changed_(); };
  watching_ = rbd_update_watch(image_, &watch_handle_, on_update, this) == 0;
}

bool RbdDevice::watch_owner(uint16_t group, std::function<void(const LockOwner&)> changed) {
  uint64_t features = 0;
  if (owner_thread_.joinable() || !changed || info_.read_only ||
      rbd_get_features(image_, &features) < 0 || !(features & RBD_FEATURE_EXCLUSIVE_LOCK))
    return false;
  char id[128] = {};
  if (rbd_get_id(image_, id, sizeof id - 1) < 0) return false;
  header_oid_ = std::string("rbd_header.") + id;
  registry_oid_ = std::string("sharedisk_gateways.") + id;
  char* addrs = nullptr;
  if (rados_getaddrs(cluster_->handle(), &addrs) < 0) return false;
  own_address_ = addrs;
  rados_buffer_free(addrs);

  // Register: group -> this client's address (a restarted gateway replaces
  // its old entry, whose address no lock holder has any more).
  const std::string key = std::to_string(group);
  const char* keys[] = {key.c_str()};
  const char* vals[] = {own_address_.c_str()};
  const size_t lens[] = {own_address_.size()};
  rados_write_op_t op = rados_create_write_op();
  rados_write_op_omap_set(op, keys, vals, lens, 1);
  int rc = rados_write_op_operate(op, ioctx_, registry_oid_.c_str(), nullptr, 0);
  rados_release_write_op(op);
  if (rc < 0) return false;

  owner_changed_ = std::move(changed);
  own_group_ = group;
  header_ = open_shared_object_in(cluster_, ioctx_, header_oid_);
  own_instance_ = header_->self_id();
  header_watcher_.self = this;
  watch_header();
  stats_->owner_watched.store(true, std::memory_order_relaxed);
  owner_thread_ = std::thread([this] { owner_loop(); });
  return true;
}

void RbdDevice::HeaderWatcher::notified(uint64_t notifier, std::string, std::function<void()> ack) {
  ack();  // at once: librbd's notifier waits for every watcher
  // While this gateway holds the lock, what another client says on the header
  // is (but for rare maintenance) its librbd asking for the lock, which ours
  // now gives up. The owner dwell counts from here: writes arriving meanwhile
  // would otherwise ask for the lock right back, before the owner thread has
  // even seen it go.
  RbdStats& st = *self->stats_;
  if (st.lock_mine.load(std::memory_order_relaxed) && notifier != self->own_instance_) {
    st.lock_moved_ns.store(now_ns(), std::memory_order_relaxed);
    st.lock_mine.store(false, std::memory_order_relaxed);
  }
  std::lock_guard lock(self->owner_mutex_);
  self->owner_poke_ = true;
  self->owner_wake_.notify_one();
}

void RbdDevice::HeaderWatcher::watch_lost(int) {
  // The watch is gone (the cluster timed it out): the owner thread watches
  // again and looks at the lock meanwhile.
  std::lock_guard lock(self->owner_mutex_);
  self->watch_lost_ = true;
  self->owner_poke_ = true;
  self->owner_wake_.notify_one();
}

// (Re-)watches the header; SharedObject::watch drops a previous watch first.
void RbdDevice::watch_header() {
  header_watching_ = header_->watch(&header_watcher_, 0) == 0;
}

std::optional<LockOwner> RbdDevice::read_owner() {
  LockOwner out;
  int mine = 0;
  if (rbd_is_exclusive_lock_owner(image_, &mine) == 0 && mine) {
    out.holder = LockOwner::Holder::kThisGateway;
    out.group = own_group_;
    out.client = own_address_;
    return out;
  }
  rbd_lock_mode_t mode;
  char* owners[4];
  size_t n = 4;
  int rc = rbd_lock_get_owners(image_, &mode, owners, &n);
  if (rc == -ENOENT || (rc >= 0 && n == 0)) return out;  // nobody holds it
  if (rc < 0) return std::nullopt;  // the cluster did not answer: nothing learnt
  out.client = owners[0];
  rbd_lock_get_owners_cleanup(owners, n);
  if (same_client(out.client, own_address_)) {
    out.holder = LockOwner::Holder::kThisGateway;
    out.group = own_group_;
    return out;
  }
  auto find = [this, &out] {
    for (auto it = gateways_.begin(); it != gateways_.end(); ++it)
      if (same_client(it->first, out.client)) return it;
    return gateways_.end();
  };
  auto known = find();
  if (known == gateways_.end()) {
    // A holder not seen yet: read the registry again (while it is unknown).
    gateways_.clear();
    rados_read_op_t op = rados_create_read_op();
    rados_omap_iter_t it = nullptr;
    unsigned char more = 0;
    int prval = 0;
    rados_read_op_omap_get_vals2(op, "", "", 256, &it, &more, &prval);
    if (rados_read_op_operate(op, ioctx_, registry_oid_.c_str(), 0) == 0 && prval == 0) {
      char *k = nullptr, *v = nullptr;
      size_t vlen = 0;
      while (rados_omap_get_next(it, &k, &v, &vlen) == 0 && k != nullptr)
        gateways_[std::string(v, vlen)] = uint16_t(std::strtoul(k, nullptr, 10));
    }
    if (it != nullptr) rados_omap_get_end(it);
    rados_release_read_op(op);
    known = find();
  }
  if (known == gateways_.end()) {
    out.holder = LockOwner::Holder::kUnknown;
  } else {
    out.holder = LockOwner::Holder::kPeer;
    out.group = known->second;
  }
  return out;
}

void RbdDevice::owner_loop() {
  bool first = true;
  LockOwner last;
  std::unique_lock lock(owner_mutex_);
  while (!owner_stop_) {
    owner_poke_ = false;
    bool rewatch = watch_lost_ || !header_watching_;
    watch_lost_ = false;
    lock.unlock();
    if (rewatch) watch_header();
    std::optional<LockOwner> read = read_owner();
    LockOwner now = read.value_or(last);
    if (read && (first || !(now == last))) {
      if (!first && now.holder == LockOwner::Holder::kThisGateway)
        stats_->lock_acquired.fetch_add(1, std::memory_order_relaxed);
      if (!first) {
        stats_->owner_changes.fetch_add(1, std::memory_order_relaxed);
        stats_->lock_moved_ns.store(now_ns(), std::memory_order_relaxed);
      }
      stats_->lock_mine.store(now.holder == LockOwner::Holder::kThisGateway,
                              std::memory_order_relaxed);
      stats_->owner_holder.store(uint8_t(now.holder), std::memory_order_relaxed);
      stats_->owner_group.store(now.group, std::memory_order_relaxed);
      owner_changed_(now);
      last = now;
      first = false;
    } else if (read && now.holder == LockOwner::Holder::kThisGateway &&
               !stats_->lock_mine.load(std::memory_order_relaxed) &&
               now_ns() - stats_->lock_moved_ns.load(std::memory_order_relaxed) >
                   uint64_t(stats_->lock_dwell_ms.load(std::memory_order_relaxed)) * 1000000u) {
      // Another client's notification did not take the lock after all (a
      // maintenance request): still the holder a dwell later.
      stats_->lock_mine.store(true, std::memory_order_relaxed);
    }
    lock.lock();
    owner_wake_.wait_for(lock, std::chrono::seconds(5),
                         [this] { return owner_poke_ || owner_stop_; });
  }
}

void RbdDevice::stop_owner_watch() {
  if (!owner_thread_.joinable()) return;
  {
    std::lock_guard lock(owner_mutex_);
    owner_stop_ = true;
    owner_wake_.notify_one();
  }
  owner_thread_.join();
  // Returns once no notification callback runs; before ioctx_ goes.
  header_.reset();
}

std::unique_ptr<IoChannel> RbdDevice::make_channel(boost::asio::io_context& loop) {
  return std::make_unique<RbdChannel>(*this, loop);
}

int RbdDevice::check(const IoRequest& req) const {
  switch (req.op) {
    case IoOp::kFlush:
      return 0;
    case IoOp::kRead:
      break;
    case IoOp::kDiscard:
    case IoOp::kWrite:
    case IoOp::kWriteZeroes:
      if (info_.read_only) return -EROFS;
      break;
    case IoOp::kWriteSame:
      if (info_.read_only) return -EROFS;
      if (req.iovcnt != 1 || req.iov == nullptr || req.iov[0].iov_len == 0 ||
          req.length % req.iov[0].iov_len != 0)
        return -EINVAL;
      break;
    case IoOp::kCompareAndWrite:
      if (info_.read_only) return -EROFS;
      if (req.length == 0 || req.length > info_.max_compare_and_write ||
          req.offset % info_.max_compare_and_write != 0)
        return -EOPNOTSUPP;
      if (req.iovcnt != 2 || req.iov == nullptr || req.iov[0].iov_len != req.length ||
          req.iov[1].iov_len != req.length)
        return -EINVAL;
      break;
    case IoOp::kAllocationMap: {
      if (req.iovcnt != 1 || req.iov == nullptr || req.iov[0].iov_len < sizeof(AllocationMap))
        return -EINVAL;
      const auto* map = static_cast<const AllocationMap*>(req.iov[0].iov_base);
      const uint32_t bs = map->block_size;
      if (bs < 512 || (bs & (bs - 1)) != 0 || ((req.offset | req.length) & (bs - 1)) != 0 ||
          map->max_runs == 0 || map->max_runs > AllocationMap::kMaxRuns)
        return -EINVAL;
      break;
    }
  }
  const uint64_t size = size_.load(std::memory_order_relaxed);
  if (req.offset > size || req.length > size - req.offset) return -EINVAL;
  return 0;
}

namespace {
bool all_zero(const uint8_t* p, size_t n) {
  return p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0;
}
}  // namespace

int RbdDevice::allocation_map(uint64_t offset, uint64_t length, AllocationMap& map) {
  const uint64_t bs = map.block_size;
  const uint64_t end = offset + std::min(length, kMapSpan);
  map.runs = 0;
  // The extents holding data, widened to whole blocks, sorted and merged.
  map_extents_.clear();
  auto collect = [](uint64_t off, size_t len, int exists, void* arg) -> int {
    if (exists && len > 0) static_cast<RbdDevice*>(arg)->map_extents_.emplace_back(off, off + len);
    return 0;
  };
  int rc = rbd_diff_iterate2(image_, nullptr, offset, end - offset, 1, 0, collect, this);
  if (rc < 0) return rc;
  std::sort(map_extents_.begin(), map_extents_.end());
  auto add = [&](uint64_t at, uint64_t len, bool mapped) {
    if (map.runs > 0 && map.run[map.runs - 1].mapped == mapped) {
      map.run[map.runs - 1].length += len;
      return true;
    }
    if (map.runs == map.max_runs) return false;
    map.run[map.runs++] = {at, len, mapped};
    return true;
  };
  if (!map_buffer_) map_buffer_ = std::make_unique<uint8_t[]>(kMapReadBytes);
  uint64_t pos = offset, budget = kMapReadBytes;
  for (const auto& [first, last] : map_extents_) {
    uint64_t b = std::max(first & ~(bs - 1), pos);
    uint64_t e = std::min((last + bs - 1) & ~(bs - 1), end);
    if (b >= e) continue;
    if (b > pos) {
      if (!add(pos, b - pos, false)) return 0;
      pos = b;
    }
    while (pos < e) {
      if (budget == 0) return 0;
      const uint64_t n = std::min(e - pos, budget);
      ssize_t got = rbd_read(image_, pos, n, reinterpret_cast<char*>(map_buffer_.get()));
      if (got < 0) return int(got);
      if (uint64_t(got) != n) return -EIO;
      for (uint64_t i = 0; i < n; i += bs) {
        if (!add(pos + i, bs, !all_zero(map_buffer_.get() + i, bs))) return 0;
      }
      pos += n;
      budget -= n;
    }
  }
  if (pos < end) add(pos, end - pos, false);
  return 0;
}

std::unique_ptr<BlockDevice> open_rbd(const RbdOptions& o) {
  if (o.pool.empty() || o.image.empty())
    throw RbdOpenError(RbdFailure::kImage, "rbd: pool and image are required");
  ClusterKey key{o.ceph_conf, o.client, o.keyring, o.io_timeout_s, o.connect_timeout_s};
  std::shared_ptr<RadosCluster> cluster = connect_cluster(key);
  const std::string name = "rbd:" + spec(o);

  rados_ioctx_t io = nullptr;
  int rc = rados_ioctx_create(cluster->handle(), o.pool.c_str(), &io);
  if (rc < 0)
    throw RbdOpenError(RbdFailure::kPool,
                       name + ": pool '" + o.pool + "': " +
                           (rc == -ENOENT ? std::string("no such pool") : std::strerror(-rc)));
  struct IoctxGuard {
    rados_ioctx_t io;
    ~IoctxGuard() {
      if (io) rados_ioctx_destroy(io);
    }
  } guard{io};
  if (!o.ns.empty()) {
    rados_ioctx_set_namespace(io, o.ns.c_str());
    bool exists = false;
    rc = rbd_namespace_exists(io, o.ns.c_str(), &exists);
    if (rc < 0 || !exists)
      throw RbdOpenError(RbdFailure::kPool,
                         name + ": namespace '" + o.ns + "' " +
                             (rc < 0 ? std::string(std::strerror(-rc)) : "does not exist"));
  }
  rbd_image_t image = nullptr;
  rc = o.read_only ? rbd_open_read_only(io, o.image.c_str(), &image, nullptr)
                   : rbd_open(io, o.image.c_str(), &image, nullptr);
  if (rc < 0) {
    std::string why = rc == -ENOENT ? "no such image" : std::strerror(-rc);
    if (rc == -ETIMEDOUT)
      why += " (no OSD answered within " + std::to_string(o.io_timeout_s) + " s)";
    throw RbdOpenError(RbdFailure::kImage, name + ": image '" + o.image + "': " + why);
  }
  uint64_t size = 0;
  rc = rbd_get_size(image, &size);
  if (rc < 0) {
    rbd_close(image);
    throw RbdOpenError(RbdFailure::kImage, name + ": size: " + std::strerror(-rc));
  }
  DeviceInfo info;
  info.path = name;
  info.size_bytes = size & ~uint64_t(511);
  info.physical_block_size = 4096;
  info.read_only = o.read_only;
  info.direct_io = false;
  info.supports_discard = !o.read_only;
  // rbd_skip_partial_discard=false (rbd_cluster.cpp): discards zero what they
  // cannot deallocate, so discarded blocks read back as zeroes.
  info.discard_zeroes = true;
  info.supports_write_zeroes = !o.read_only;
  info.supports_allocation_map = true;
  info.supports_write_same = !o.read_only;
  info.max_compare_and_write = o.read_only ? 0 : 512;
  if (info.size_bytes == 0) {
    rbd_close(image);
    throw RbdOpenError(RbdFailure::kImage, name + ": the image is empty");
  }
  guard.io = nullptr;
  return std::make_unique<RbdDevice>(std::move(cluster), io, image, std::move(info), o.cache_mode);
}

std::string RbdDevice::cluster_fsid() const {
  char buf[64] = {};
  int rc = rados_cluster_fsid(cluster_->handle(), buf, sizeof buf - 1);
  return rc < 0 ? std::string() : std::string(buf);
}

std::string rbd_cluster_fsid(BlockDevice& device) {
  auto* rbd = dynamic_cast<RbdDevice*>(&device);
  return rbd ? rbd->cluster_fsid() : std::string();
}

std::shared_ptr<RbdStats> rbd_stats(BlockDevice& device) {
  auto* rbd = dynamic_cast<RbdDevice*>(&device);
  return rbd ? rbd->shared_stats() : nullptr;
}

}  // namespace sharedisk::blockdev
