// The shared reservation store (scsi::make_shared_reservation_store) between
// two devices standing for two gateways, over an in-memory stand-in for the
// RADOS object with the same contract (compare-and-swap on a version, notify
// waiting for every watcher's ack). The real object is exercised against a
// real cluster in tests/rbd (RbdGateways).
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>

#include "blockdev/rados_object.h"
#include "scsi_harness.h"

namespace sharedisk::scsi::test {
namespace {

class FakeObject;

struct FakeCluster {
  std::mutex m;
  bool exists = false;
  uint64_t version = 0;
  std::string data;
  std::vector<FakeObject*> watchers;
  int notifies = 0;
};

class FakeObject final : public blockdev::SharedObject {
 public:
  FakeObject(FakeCluster& c, uint64_t id) : c_(c), id_(id) {}
  ~FakeObject() override { unwatch(); }
  const std::string& name() const override { return name_; }
  uint64_t self_id() const override { return id_; }
  int create(const std::string& data) override {
    std::lock_guard l(c_.m);
    if (!c_.exists) c_.exists = true, c_.version = 1, c_.data = data;
    return 0;
  }
  int read(uint64_t* version, std::string* data) override {
    std::lock_guard l(c_.m);
    if (!c_.exists) return -ENOENT;
    *version = c_.version;
    *data = c_.data;
    return 0;
  }
  int write(uint64_t expected, const std::string& data) override {
    std::lock_guard l(c_.m);
    if (c_.version != expected) return -ECANCELED;
    c_.version = expected + 1;
    c_.data = data;
    return 0;
  }
  int notify(const std::string& payload, uint32_t timeout_ms) override {
    std::vector<FakeObject*> to;
    {
      std::lock_guard l(c_.m);
      to = c_.watchers;
      ++c_.notifies;
    }
    struct Acks {
      std::mutex m;
      std::condition_variable cv;
      size_t left;
    };
    auto acks = std::make_shared<Acks>();
    acks->left = to.size();
    for (FakeObject* w : to)
      w->watcher_->notified(id_, payload, [acks] {
        std::lock_guard l(acks->m);
        --acks->left;
        acks->cv.notify_all();
      });
    std::unique_lock l(acks->m);
    bool all = acks->cv.wait_for(l, std::chrono::milliseconds(timeout_ms),
                                 [&] { return acks->left == 0; });
    return all ? 0 : -ETIMEDOUT;
  }
  int watch(Watcher* watcher, uint32_t) override {
    unwatch();
    if (partitioned) return -ETIMEDOUT;
    std::lock_guard l(c_.m);
    watcher_ = watcher;
    c_.watchers.push_back(this);
    broken_ = false;
    ++watches;
    return 0;
  }
  void unwatch() override {
    std::lock_guard l(c_.m);
    std::erase(c_.watchers, this);
  }
  int64_t watch_age_ms() override { return broken_ ? -ENOTCONN : 0; }

  // The OSD dropped this watcher: changes made meanwhile are not seen here.
  void lose_watch() {
    unwatch();
    broken_ = true;
    watcher_->watch_lost(-ENOTCONN);
  }

  std::atomic<int> watches{0};
  std::atomic<bool> partitioned{false};  // watch() fails

 private:
  FakeCluster& c_;
  uint64_t id_;
  std::string name_ = "rbd/sharedisk.pr.test";
  Watcher* watcher_ = nullptr;
  std::atomic<bool> broken_{false};
};

std::vector<uint8_t> prout_cdb(uint8_t sa, uint8_t type) {
  return {0x5F, sa, type, 0, 0, 0, 0, 0, 24, 0};
}
std::vector<uint8_t> prout_data(uint64_t key, uint64_t sa_key) {
  std::vector<uint8_t> p(24, 0);
  for (int i = 0; i < 8; ++i) {
    p[i] = uint8_t(key >> (56 - 8 * i));
    p[8 + i] = uint8_t(sa_key >> (56 - 8 * i));
  }
  return p;
}

// Records a peer's PREEMPT AND ABORT victims; the abort ends at once.
struct PeerAborter : TaskAborter {
  void abort_nexus_tasks(const std::vector<Nexus*>& v, uint64_t, Task&,
                         std::function<void()> done) override {
    local = v;
    done();
  }
  void abort_nexus_tasks_for_peer(const std::vector<Nexus*>& v, uint64_t l,
                                  std::function<void()> done) override {
    peer = v;
    peer_lun = l;
    done();
  }
  std::vector<Nexus*> local, peer;
  uint64_t peer_lun = 0;
};

// One gateway: a device whose LUN 1 keeps its state in the shared object.
struct Gateway {
  // group != 0: a gateway of a pair (ALUA group `group`, its peer `peer`).
  Gateway(FakeCluster& c, uint64_t id, const char* initiator, const char* port, uint16_t group = 0,
          uint16_t peer = 0) {
    if (group != 0) {
      AluaTopology t;
      t.local = {group, {group}};
      t.peers.push_back({peer, {peer}});
      h.dev = make_device("iqn.2019-02.lb2:odcfs2", t);
      LunOptions local;  // replaced below by the shared one
      local.number = 1;
      h.dev->add_lun(local, blockdev::make_memory(512 * 512), {&h.io});
      h.nexus = h.dev->attach("iqn.1994-05.com.redhat:a,i,0x23d000000001", port, 1, 1);
    }
    LunOptions o;
    o.number = 1;
    o.serial = "SER1";
    o.naa = {0x60, 0x01, 0x40, 0x50, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 1};
    o.shared_reservations = "rbd/sharedisk.pr.test";
    o.make_reservations = [this, &c, id] {
      auto obj = std::make_unique<FakeObject>(c, id);
      object = obj.get();
      SharedStoreOptions so;
      so.notify_timeout_ms = 2000;
      return make_shared_reservation_store(std::move(obj), so);
    };
    h.dev->replace_lun(o, blockdev::make_memory(2048 * 512), {&h.io});
    h.dev->set_task_aborter(&aborter);
    n = h.dev->attach(initiator, port, 1, 1);
    h.clear_ua();
    h.clear_ua(n);
  }
  uint8_t out(uint8_t sa, uint8_t type, uint64_t key, uint64_t sa_key) {
    return h.run(prout_cdb(sa, type), 24, prout_data(key, sa_key), n).status;
  }
  Result in(uint8_t sa) { return h.run({0x5E, sa, 0, 0, 0, 0, 0, 0x10, 0, 0}, 4096, {}, n); }
  Result write() { return h.run(cdb10(0x2A, 8, 1), 512, pattern(512, 3), n); }
  Result read() { return h.run(cdb10(0x28, 8, 1), 512, {}, n); }

  Harness h;
  // A change completes from the store's thread: the loop waits for it.
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> busy =
      boost::asio::make_work_guard(h.io);
  PeerAborter aborter;
  FakeObject* object = nullptr;
  Nexus* n = nullptr;
};

constexpr const char* kPortA = "iqn.2019-02.lb2:odcfs2,t,0x1";
constexpr const char* kPortB = "iqn.2019-02.lb2:odcfs2,t,0x2";

struct SharedPr : ::testing::Test {
  FakeCluster cluster;
  Gateway a{cluster, 101, "iqn.x:node1,i,0x1", kPortA};
  Gateway b{cluster, 202, "iqn.x:node2,i,0x2", kPortB};
};

TEST_F(SharedPr, ReservationMadeThroughAIsEnforcedByB) {
  ASSERT_EQ(a.out(0, 0, 0, 0xA1), status::kGood);
  ASSERT_EQ(a.out(1, pr_type::kWriteExclusive, 0xA1, 0), status::kGood);
  // B enforces it on its very next command: no reload, the notify did it.
  EXPECT_EQ(b.write().status, status::kReservationConflict);
  EXPECT_EQ(b.read().status, status::kGood);
  EXPECT_EQ(a.write().status, status::kGood);
  auto keys = b.in(0);
  ASSERT_EQ(keys.status, status::kGood);
  ASSERT_EQ(keys.data[7], 8);
  EXPECT_EQ(keys.data[15], 0xA1);
  auto res = b.in(1);
  EXPECT_EQ(res.data[15], 0xA1);
  EXPECT_EQ(res.data[21], pr_type::kWriteExclusive);
  // RELEASE through A frees B again.
  ASSERT_EQ(a.out(2, pr_type::kWriteExclusive, 0xA1, 0), status::kGood);
  EXPECT_EQ(b.write().status, status::kGood);
}

TEST_F(SharedPr, PreemptAndAbortThroughBAbortsAndAlertsOnA) {
  ASSERT_EQ(a.out(0, 0, 0, 0xA1), status::kGood);
  ASSERT_EQ(a.out(1, pr_type::kWriteExclusiveRegistrantsOnly, 0xA1, 0), status::kGood);
  ASSERT_EQ(b.out(0, 0, 0, 0xB2), status::kGood);
  ASSERT_EQ(b.out(5, pr_type::kExclusiveAccess, 0xB2, 0xA1), status::kGood);
  // A's nexus had its tasks aborted on A, before B's answer...
  ASSERT_EQ(a.aborter.peer.size(), 1u);
  EXPECT_EQ(a.aborter.peer[0], a.n);
  EXPECT_EQ(a.aborter.peer_lun, 1u);
  EXPECT_TRUE(b.aborter.local.empty());
  // ...and REGISTRATIONS PREEMPTED, then RESERVATION CONFLICT under B's EA.
  auto r = a.read();
  EXPECT_EQ(r.key, 0x6);
  EXPECT_EQ(r.asc, 0x2A);
  EXPECT_EQ(r.ascq, 0x05);
  EXPECT_EQ(a.read().status, status::kReservationConflict);
  EXPECT_EQ(b.write().status, status::kGood);
  // CLEAR through B: A gets nothing (not registered any more), B's state is empty.
  ASSERT_EQ(b.out(3, 0, 0xB2, 0), status::kGood);
  EXPECT_EQ(a.read().status, status::kGood);
  EXPECT_EQ(a.in(0).data[7], 0);
}

TEST_F(SharedPr, ReleaseThroughAAlertsRegistrantsOnB) {
  ASSERT_EQ(a.out(0, 0, 0, 0xA1), status::kGood);
  ASSERT_EQ(b.out(0, 0, 0, 0xB2), status::kGood);
  ASSERT_EQ(a.out(1, pr_type::kWriteExclusiveRegistrantsOnly, 0xA1, 0), status::kGood);
  ASSERT_EQ(a.out(2, pr_type::kWriteExclusiveRegistrantsOnly, 0xA1, 0), status::kGood);
  auto r = b.read();
  EXPECT_EQ(r.key, 0x6);
  EXPECT_EQ((r.asc << 8) | r.ascq, 0x2A04);  // RESERVATIONS RELEASED
}

TEST_F(SharedPr, ChangeRacingAnotherGatewayRunsAgainOnItsState) {
  ASSERT_EQ(a.out(0, 0, 0, 0xA1), status::kGood);
  // A change B's cache has not seen (its notify still on the way).
  {
    std::lock_guard l(cluster.m);
    PrState s;
    ASSERT_TRUE(parse_pr_state(cluster.data.substr(cluster.data.find('\n') + 1), &s));
    s.type = pr_type::kExclusiveAccess;
    s.holder_initiator = "iqn.x:node1,i,0x1";
    s.holder_target = kPortA;
    cluster.data = "sharedisk-pr-shared 1\n" + serialize_pr_state(s);
    ++cluster.version;
  }
  // B registers: the compare-and-swap fails, B reads the newer state and its
  // REGISTER lands on top of A's reservation instead of erasing it.
  ASSERT_EQ(b.out(0, 0, 0, 0xB2), status::kGood);
  EXPECT_EQ(b.in(0).data[7], 16);
  EXPECT_EQ(b.in(1).data[21], pr_type::kExclusiveAccess);
  EXPECT_EQ(a.in(1).data[21], pr_type::kExclusiveAccess);
  EXPECT_EQ(b.read().status, status::kReservationConflict);
}

TEST_F(SharedPr, LostWatchRefusesMediaUntilReadAgain) {
  ASSERT_EQ(b.read().status, status::kGood);
  int watches = b.object->watches;
  b.object->partitioned = true;
  b.object->lose_watch();
  // A reserves while B cannot hear it.
  ASSERT_EQ(a.out(0, 0, 0, 0xA1), status::kGood);
  ASSERT_EQ(a.out(1, pr_type::kExclusiveAccess, 0xA1, 0), status::kGood);
  auto r = b.read();
  EXPECT_EQ(r.status, status::kCheckCondition);
  EXPECT_EQ(r.key, 0x2);  // NOT READY, LOGICAL UNIT IS IN PROCESS OF BECOMING READY
  EXPECT_EQ((r.asc << 8) | r.ascq, 0x0401);
  EXPECT_EQ(b.in(0).key, 0x2);  // PR IN too: B's copy may be old
  // Once it can, the keeper re-watches and re-reads (within a second or two):
  // then B enforces the reservation.
  b.object->partitioned = false;
  for (int i = 0; i < 100 && b.read().status == status::kCheckCondition; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_GT(b.object->watches, watches);
  EXPECT_EQ(b.read().status, status::kReservationConflict);
}

TEST_F(SharedPr, LunResetThroughAReachesB) {
  std::atomic<bool> announced{false};
  a.h.dev->announce_lun_reset(1, [&] { announced = true; });
  for (int i = 0; i < 200 && !announced; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(announced);
  // B aborted every task of its nexuses on the LU, then queued 29/03.
  EXPECT_EQ(b.aborter.peer.size(), 2u);  // b.n and the harness's own nexus
  EXPECT_EQ(b.aborter.peer_lun, 1u);
  auto r = b.read();
  EXPECT_EQ(r.key, 0x6);
  EXPECT_EQ((r.asc << 8) | r.ascq, 0x2903);
  EXPECT_EQ(b.read().status, status::kGood);
  EXPECT_TRUE(a.aborter.peer.empty());  // A's own reset is the transport's
}

// A reset announced while B's watch was broken: B misses the notification,
// not the reset. Once it has read the state again its nexuses get 29/03.
TEST_F(SharedPr, LunResetMissedWhileStaleIsDelivered) {
  b.object->partitioned = true;
  b.object->lose_watch();
  std::atomic<bool> announced{false};
  a.h.dev->announce_lun_reset(1, [&] { announced = true; });
  for (int i = 0; i < 200 && !announced; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(announced);
  b.object->partitioned = false;
  Result r = b.read();
  for (int i = 0; i < 100 && r.key == 0x2; ++i) {  // NOT READY until read again
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    r = b.read();
  }
  EXPECT_EQ(r.key, 0x6);
  EXPECT_EQ((r.asc << 8) | r.ascq, 0x2903);
  EXPECT_EQ(b.read().status, status::kGood);
}

// ALL_TG_PT: one REGISTER through A registers node1 on A's and B's target
// ports; node1's session through B may then reserve with that key.
TEST(SharedPrPair, AllTargetPortsRegistration) {
  FakeCluster cluster;
  Gateway a{cluster, 101, "iqn.x:node1,i,0x1", kPortA, 1, 2};
  Gateway b{cluster, 202, "iqn.x:node1,i,0x1", kPortA, 2, 1};
  ASSERT_EQ(b.n->target_port(), kPortB);
  std::vector<uint8_t> p = prout_data(0, 0xA1);
  p[20] = 0x04;  // ALL_TG_PT
  ASSERT_EQ(a.h.run(prout_cdb(0, 0), 24, p, a.n).status, status::kGood);
  auto keys = b.in(0);
  ASSERT_EQ(keys.data[7], 16);  // two I_T nexuses: node1 through A and through B
  auto full = b.in(3);
  ASSERT_GE(full.data.size(), 8u + 2 * 24);
  EXPECT_EQ(full.data[8 + 19], 1);  // relative target port of the first: A's
  ASSERT_EQ(b.out(1, pr_type::kWriteExclusive, 0xA1, 0), status::kGood);
  EXPECT_EQ(a.write().status, status::kReservationConflict);  // another I_T nexus
  EXPECT_EQ(b.write().status, status::kGood);
  EXPECT_EQ(b.in(2).data[2] & 0x04, 0x04);  // ATP_C
  // Unregistering with ALL_TG_PT removes both (and the reservation B held).
  p = prout_data(0xA1, 0);
  p[20] = 0x04;
  ASSERT_EQ(a.h.run(prout_cdb(0, 0), 24, p, a.n).status, status::kGood);
  EXPECT_EQ(b.in(0).data[7], 0);
  EXPECT_EQ(a.write().status, status::kGood);
}

TEST_F(SharedPr, Spc2ReserveIsRefused) {
  auto r = b.h.run({0x16, 0, 0, 0, 0, 0}, 0, {}, b.n);
  EXPECT_EQ(r.key, 0x5);
  EXPECT_EQ(r.asc, 0x20);
  EXPECT_EQ(b.write().status, status::kGood);
}

// The same initiator port through two gateways is two I_T nexuses: each
// gateway's group is the tag of its target port name.
TEST(GatewayPorts, EachGatewayIsItsOwnTargetPort) {
  AluaTopology t;
  t.local = {2, {2}};
  t.peers.push_back({1, {1}});
  auto dev = make_device("iqn.2019-02.lb2:odcfs2", t);
  Nexus* n = dev->attach("iqn.x:a,i,0x1", kPortA, 1, 1);
  EXPECT_EQ(n->target_port(), kPortB);
  EXPECT_EQ(n->relative_target_port(), 2);
  dev->detach(n);
  auto alone = make_device("iqn.2019-02.lb2:odcfs2");
  n = alone->attach("iqn.x:a,i,0x1", kPortA, 1, 1);
  EXPECT_EQ(n->target_port(), kPortA);
  alone->detach(n);
}

TEST(SharedPrNotify, RoundTrips) {
  PrState s;
  s.generation = 7;
  s.registrations.push_back({"iqn.x:a,i,0x1", kPortA, 1, 0xABCDEF});
  s.type = pr_type::kWriteExclusive;
  s.holder_initiator = "iqn.x:a,i,0x1";
  s.holder_target = kPortA;
  PrEffects e;
  e.attentions.push_back({"iqn.x:b,i,0x2", kPortB, 0x2A05});
  e.abort_preempted = true;
  uint64_t v = 0;
  PrState s2;
  PrEffects e2;
  ASSERT_TRUE(decode_pr_notify(encode_pr_notify(42, s, e), &v, &s2, &e2));
  EXPECT_EQ(v, 42u);
  EXPECT_EQ(s2, s);
  EXPECT_EQ(e2, e);
  EXPECT_FALSE(decode_pr_notify("sharedisk-pr-notify 1\nversion x\nstate\n", &v, &s2, &e2));
}

}  // namespace
}  // namespace sharedisk::scsi::test
