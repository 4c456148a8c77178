// The reservation state of a logical unit that several gateways export: one
// shared object (blockdev/rados_object.h) per LUN holds it, every gateway
// keeps a cached copy.
//
// A change (update) runs fn on the cached state and writes the result with a
// compare-and-swap on the object's version; when another gateway changed it
// first, the state is read again and fn runs again. The new state then goes,
// with the change's effects (unit attentions, PREEMPT AND ABORT), to every
// gateway in one notify; each one installs the state in its cache, applies
// the effects to its own nexuses and only then acknowledges. The change's
// command is answered after every acknowledgement, so a registration or
// reservation made through gateway A is enforced by gateway B before B answers
// its next command, and the media commands' check stays one atomic load.
//
// fn decides on the cached state without reading the object first: the cache
// holds every change that was answered before, so a no-change outcome is as
// right as if it had been read; a change is checked by the compare-and-swap.
//
// When the watch breaks (or the OSD has not confirmed it for stale_after_ms)
// this gateway may have missed a change: the store is stale, media commands
// are refused with NOT READY / LOGICAL UNIT IS IN PROCESS OF BECOMING READY
// (which initiators retry), and a keeper thread re-watches and re-reads the
// object until the state is known again. The unit attentions the missed
// notifications carried are then derived from the difference between the
// state this gateway last knew and the one it read (missed_effects), and
// queued on its nexuses before media access is allowed again.
//
// The cached view is trusted only while it is proven current: the keeper
// records, each second, "valid until" = the time the OSD last confirmed the
// watch + stale_after_ms (less than the OSD's watch timeout, after which the
// OSD drops the watch and another gateway's change can be answered without
// this one). Every media command compares the steady clock with it (one
// atomic load and a vDSO clock read) and, past it, is refused like a stale
// store and wakes the keeper. So a gateway frozen (SIGSTOP, a long stall)
// while another one preempted its initiators answers nothing from its old
// view when it runs again, not even in the second before the keeper's check.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "blockdev/rados_object.h"
#include "scsi/reservations.h"
#include "scsi/sense.h"

namespace sharedisk::scsi {

namespace {

constexpr const char* kStateMagic = "sharedisk-pr-shared 1\n";
constexpr const char* kNotifyMagic = "sharedisk-pr-notify 1\n";

std::string encode_state(const PrState& s) {
  PrState copy = s;
  copy.spc2.reset();
  return kStateMagic + serialize_pr_state(copy);
}

bool decode_state(const std::string& text, PrState* out) {
  const size_t n = std::strlen(kStateMagic);
  return text.compare(0, n, kStateMagic) == 0 && parse_pr_state(text.substr(n), out);
}

}  // namespace

std::string encode_pr_notify(uint64_t version, const PrState& s, const PrEffects& e) {
  std::ostringstream o;
  o << kNotifyMagic << "version " << version << "\nabort " << (e.abort_preempted ? 1 : 0)
    << "\nreset " << e.reset_asc << "\n";
  for (const auto& a : e.attentions)
    o << "attention " << a.asc << " " << a.initiator << " " << a.target << "\n";
  o << "state\n" << serialize_pr_state(s);
  return o.str();
}

bool decode_pr_notify(const std::string& text, uint64_t* version, PrState* s, PrEffects* e) {
  const size_t n = std::strlen(kNotifyMagic);
  size_t body = text.find("\nstate\n");
  if (text.compare(0, n, kNotifyMagic) != 0 || body == std::string::npos) return false;
  std::istringstream in(text.substr(n, body - n));
  std::string word;
  PrEffects effects;
  bool have_version = false;
  while (in >> word) {
    if (word == "version") {
      if (!(in >> *version)) return false;
      have_version = true;
    } else if (word == "abort") {
      int v;
      if (!(in >> v)) return false;
      effects.abort_preempted = v != 0;
    } else if (word == "reset") {
      if (!(in >> effects.reset_asc)) return false;
    } else if (word == "attention") {
      PrEffects::Attention a;
      if (!(in >> a.asc >> a.initiator >> a.target)) return false;
      effects.attentions.push_back(std::move(a));
    } else {
      return false;
    }
  }
  if (!have_version || !parse_pr_state(text.substr(body + 7), s)) return false;
  *e = std::move(effects);
  return true;
}

namespace {

// What changes from `before` to `now` did to the registrants, as the unit
// attentions the changes' own notifications carried (persistent_reserve.cpp):
// a registration gone -> REGISTRATIONS PREEMPTED (2A/05), or RESERVATIONS
// PREEMPTED (2A/03) when none is left of several (a CLEAR); a registrants-only
// or all-registrants reservation gone (or moved to another holder) ->
// RESERVATIONS RELEASED (2A/04) to the remaining registrants but its holder.
// A registration its own initiator removed also gives 2A/05 here: the state
// does not say who removed it.
PrEffects missed_effects(const PrState& before, const PrState& now) {
  PrEffects e;
  // A reset another gateway announced: the last one's unit attention.
  if (now.resets != before.resets)
    e.reset_asc = now.last_reset_asc ? now.last_reset_asc : asc::kBusDeviceResetFunctionOccurred;
  const bool cleared = now.registrations.empty() && before.registrations.size() > 1;
  const bool released =
      pr_type::for_registrants(before.type) &&
      (now.type != before.type || now.holder_initiator != before.holder_initiator ||
       now.holder_target != before.holder_target);
  for (const PrRegistration& r : before.registrations) {
    if (now.find(r.initiator, r.target) == nullptr)
      e.attentions.push_back(
          {r.initiator, r.target,
           cleared ? asc::kReservationsPreempted : asc::kRegistrationsPreempted});
    else if (released &&
             !(r.initiator == before.holder_initiator && r.target == before.holder_target))
      e.attentions.push_back({r.initiator, r.target, asc::kReservationsReleased});
  }
  return e;
}

class SharedReservationStore final : public ReservationStore,
                                     public blockdev::SharedObject::Watcher {
 public:
  SharedReservationStore(std::unique_ptr<blockdev::SharedObject> object, SharedStoreOptions o)
      : obj_(std::move(object)), o_(std::move(o)), self_(obj_->self_id()) {
    int rc = obj_->create(encode_state(PrState{}));
    if (rc < 0) fail("cannot create", rc);
    // Watch first, then read: no change can fall between the two.
    rc = obj_->watch(this, o_.watch_timeout_s);
    if (rc < 0) fail("cannot watch", rc);
    rc = reload();
    if (rc < 0) {
      obj_->unwatch();
      fail("cannot read", rc);
    }
    confirm_view(obj_->watch_age_ms());
    keeper_ = std::thread([this] { keep(); });
    worker_ = std::thread([this] { work(); });
  }

  ~SharedReservationStore() override {
    {
      std::lock_guard lock(thread_mutex_);
      stop_ = true;
    }
    thread_cv_.notify_all();
    keeper_.join();
    worker_.join();
    obj_->unwatch();
  }

  bool unreserved() const override {
    return !blocked_.load(std::memory_order_acquire) && view_proven();
  }
  bool stale() const override {
    if (stale_.load(std::memory_order_acquire)) return true;
    if (view_proven()) return false;
    if (!wake_.exchange(true, std::memory_order_acq_rel)) thread_cv_.notify_all();
    return true;
  }
  bool shared() const override { return true; }
  bool persistence_supported() const override { return true; }

  void read(const std::function<void(const PrState&)>& fn) const override {
    std::lock_guard lock(mutex_);
    fn(state_);
  }

  bool update(const std::function<bool(PrState&)>& fn, const PrEffects* effects) override {
    std::lock_guard one_at_a_time(update_mutex_);
    PrState next;
    uint64_t version;
    bool known;
    {
      std::lock_guard lock(mutex_);
      next = state_;
      version = version_;
      known = !stale_.load(std::memory_order_relaxed);
    }
    // A view no longer proven current may be missing answered changes too.
    if (known && !view_proven()) {
      mark_stale();
      std::lock_guard lock(mutex_);
      next = state_;
      version = version_;
      known = false;
    }
    // A stale cache may be missing answered changes: decide on the object.
    if (!known) {
      if (reload_into(&next, &version) < 0) return false;
      catch_up(next);
    }
    for (int attempt = 0; attempt < 32; ++attempt) {
      if (!fn(next)) return true;
      int rc = obj_->write(version, encode_state(next));
      if (rc == 0) {
        install(version + 1, next);
        if (!known) {  // its own effects are applied by the caller
          std::lock_guard lock(mutex_);
          before_stale_ = next;
        }
        static const PrEffects kNone;
        rc = obj_->notify(encode_pr_notify(version + 1, next, effects ? *effects : kNone),
                          o_.notify_timeout_ms);
        if (rc < 0)
          warn("not every gateway acknowledged reservation change " + std::to_string(version + 1) +
               " of " + obj_->name() + " within " + std::to_string(o_.notify_timeout_ms) +
               " ms: " + std::strerror(-rc));
        return true;
      }
      if (rc != -ECANCELED) {
        warn("cannot write " + obj_->name() + ": " + std::strerror(-rc));
        return false;
      }
      // Another gateway changed it first: run fn again on its state.
      if (reload_into(&next, &version) < 0) return false;
      if (!known) catch_up(next);
    }
    warn("gave up changing " + obj_->name() + ": it kept changing");
    return false;
  }

  void update_async(std::function<bool(PrState&)> fn, const PrEffects* effects,
                    std::function<void(bool)> done) override {
    {
      std::lock_guard lock(thread_mutex_);
      jobs_.push_back({std::move(fn), effects, std::move(done), {}});
    }
    thread_cv_.notify_all();
  }

  void announce_async(PrEffects effects, std::function<void()> done) override {
    // A reset is counted in the object as well as announced: a gateway whose
    // watch is broken misses the notification, not the count (catch_up).
    std::function<bool(PrState&)> count;
    if (effects.reset_asc != 0)
      count = [asc_ascq = effects.reset_asc](PrState& s) {
        ++s.resets;
        s.last_reset_asc = asc_ascq;
        return true;
      };
    {
      std::lock_guard lock(thread_mutex_);
      jobs_.push_back({std::move(count), nullptr, [done = std::move(done)](bool) { done(); },
                       std::move(effects)});
    }
    thread_cv_.notify_all();
  }

  void set_peer_effects(PeerEffects fn) override {
    std::lock_guard lock(peer_mutex_);
    peer_ = std::move(fn);
  }

  // ---- blockdev::SharedObject::Watcher (librados threads)
  void notified(uint64_t notifier, std::string payload, std::function<void()> ack) override {
    // This gateway's own change is in the cache already, its effects applied.
    if (notifier == self_) return ack();
    uint64_t version = 0;
    PrState s;
    PrEffects e;
    if (!decode_pr_notify(payload, &version, &s, &e)) {
      warn("unreadable notification on " + obj_->name() + "; reloading");
      mark_stale();
      return ack();
    }
    install(version, s);
    std::lock_guard lock(peer_mutex_);
    if (e.empty() || !peer_) return ack();
    peer_(e, std::move(ack));
  }

  void watch_lost(int err) override {
    warn("watch on " + obj_->name() + " lost (" + std::strerror(-err) +
         "): media access refused until the state is read again");
    mark_stale();
  }

 private:
  struct Job {
    std::function<bool(PrState&)> fn;  // null: announce `announce` only
    // fn's effects; null: `announce`
    const PrEffects* effects;
    std::function<void(bool)> done;
    PrEffects announce;
  };

  // Effects without a change, with the current state (installing it again
  // changes nothing anywhere).
  void announce(const PrEffects& e) {
    std::lock_guard one_at_a_time(update_mutex_);
    PrState s;
    uint64_t version;
    {
      std::lock_guard lock(mutex_);
      s = state_;
      version = version_;
    }
    int rc = obj_->notify(encode_pr_notify(version, s, e), o_.notify_timeout_ms);
    if (rc < 0)
      warn("not every gateway acknowledged an announcement on " + obj_->name() + " within " +
           std::to_string(o_.notify_timeout_ms) + " ms: " + std::strerror(-rc));
  }

  [[noreturn]] void fail(const char* what, int rc) {
    throw std::runtime_error(std::string("persistent reservations: ") + what + " " + obj_->name() +
                             ": " + std::strerror(-rc));
  }

  void warn(const std::string& message) const {
    if (o_.log) o_.log(message);
  }

  void publish_locked() {
    blocked_.store(stale_.load(std::memory_order_relaxed) || state_.reserved(),
                   std::memory_order_release);
  }

  // A state at least as new as the cached one replaces it.
  void install(uint64_t version, const PrState& s) {
    std::lock_guard lock(mutex_);
    if (version < version_) return;
    state_ = s;
    version_ = version;
    publish_locked();
  }

  void mark_stale() {
    {
      std::lock_guard lock(mutex_);
      if (!stale_.load(std::memory_order_relaxed)) before_stale_ = state_;
      stale_.store(true, std::memory_order_release);
      publish_locked();
    }
    thread_cv_.notify_all();
  }

  static int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  // The cached view is proven current (see the top of this file).
  bool view_proven() const { return now_ns() < valid_until_ns_.load(std::memory_order_acquire); }

  // The OSD confirmed the watch age_ms ago (a negative errno: it did not):
  // the view stays proven until stale_after_ms after that confirmation.
  void confirm_view(int64_t age_ms) {
    if (age_ms < 0 || age_ms > int64_t(o_.stale_after_ms)) {
      valid_until_ns_.store(0, std::memory_order_release);
      return;
    }
    const int64_t confirmed = now_ns() - age_ms * 1000000;
    valid_until_ns_.store(confirmed + int64_t(o_.stale_after_ms) * 1000000,
                          std::memory_order_release);
  }

  int reload_into(PrState* s, uint64_t* version) {
    std::string text;
    int rc = obj_->read(version, &text);
    if (rc < 0) return rc;
    if (!decode_state(text, s)) return -EINVAL;
    install(*version, *s);
    return 0;
  }

  int reload() {
    PrState s;
    uint64_t v;
    return reload_into(&s, &v);
  }

  // After a read while stale: the unit attentions of the changes this
  // gateway's watch missed since it was last current, queued on its nexuses.
  void catch_up(const PrState& now) {
    PrEffects missed;
    {
      std::lock_guard lock(mutex_);
      missed = missed_effects(before_stale_, now);
      before_stale_ = now;
    }
    if (missed.empty()) return;
    warn("delivering " + std::to_string(missed.attentions.size()) +
         " unit attention(s) of changes to " + obj_->name() + " missed while stale");
    std::lock_guard lock(peer_mutex_);
    if (peer_) peer_(missed, [] {});
  }

  // Keeps the watch healthy; re-watches and re-reads when it broke.
  void keep() {
    std::unique_lock lock(thread_mutex_);
    while (!stop_) {
      // A media command that found the view unproven wakes it early.
      thread_cv_.wait_for(lock, std::chrono::seconds(1),
                          [&] { return stop_ || wake_.load(std::memory_order_acquire); });
      if (stop_) break;
      wake_.store(false, std::memory_order_release);
      lock.unlock();
      if (!stale_.load(std::memory_order_acquire)) {
        int64_t age = obj_->watch_age_ms();
        confirm_view(age);
        if (age < 0 || age > int64_t(o_.stale_after_ms)) {
          warn("watch on " + obj_->name() + " not confirmed (" +
               (age < 0 ? std::string(std::strerror(int(-age))) : std::to_string(age) + " ms") +
               "): media access refused until the state is read again");
          mark_stale();
        }
      }
      PrState now;
      uint64_t version = 0;
      if (stale_.load(std::memory_order_acquire) && obj_->watch(this, o_.watch_timeout_s) == 0 &&
          reload_into(&now, &version) == 0) {
        catch_up(now);
        confirm_view(obj_->watch_age_ms());
        std::lock_guard state_lock(mutex_);
        stale_.store(false, std::memory_order_release);
        publish_locked();
        warn("watch on " + obj_->name() + " re-established; state version " +
             std::to_string(version_));
      }
      lock.lock();
    }
  }

  // Runs update_async's jobs in order.
  void work() {
    std::unique_lock lock(thread_mutex_);
    while (true) {
      thread_cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stop_ with nothing left to do
      Job job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      bool ok = true;
      if (job.fn)
        ok = update(job.fn, job.effects ? job.effects : &job.announce);
      else
        announce(job.announce);
      job.done(ok);
      lock.lock();
    }
  }

  std::unique_ptr<blockdev::SharedObject> obj_;
  SharedStoreOptions o_;
  uint64_t self_ = 0;

  mutable std::mutex mutex_;  // the cache
  PrState state_;
  uint64_t version_ = 0;
  std::atomic<bool> stale_{false};
  PrState before_stale_;              // while stale: the state last known (catch_up)
  std::atomic<bool> blocked_{false};  // stale or reserved
  // Steady-clock nanoseconds until which the view is proven current (0: not).
  std::atomic<int64_t> valid_until_ns_{0};

  std::mutex update_mutex_;  // one change at a time from this gateway
  std::mutex peer_mutex_;
  PeerEffects peer_;

  std::mutex thread_mutex_;
  mutable std::condition_variable thread_cv_;
  mutable std::atomic<bool> wake_{false};  // the keeper should check now
  bool stop_ = false;
  std::deque<Job> jobs_;
  std::thread keeper_;
  std::thread worker_;
};

}  // namespace

std::shared_ptr<ReservationStore> make_shared_reservation_store(
    std::unique_ptr<blockdev::SharedObject> object, SharedStoreOptions options) {
  return std::make_shared<SharedReservationStore>(std::move(object), std::move(options));
}

}  // namespace sharedisk::scsi
