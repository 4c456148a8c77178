// PERSISTENT RESERVE IN/OUT between two I_T nexuses, and APTPL persistence.
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cstdio>

#include "scsi_harness.h"

namespace sharedisk::scsi::test {
namespace {

std::vector<uint8_t> prout_cdb(uint8_t sa, uint8_t type) {
  return {0x5F, sa, type, 0, 0, 0, 0, 0, 24, 0};
}
std::vector<uint8_t> prout_data(uint64_t key, uint64_t sa_key, bool aptpl = false) {
  std::vector<uint8_t> p(24, 0);
  for (int i = 0; i < 8; ++i) {
    p[i] = uint8_t(key >> (56 - 8 * i));
    p[8 + i] = uint8_t(sa_key >> (56 - 8 * i));
  }
  p[20] = aptpl ? 1 : 0;
  return p;
}

struct Pr : ::testing::Test {
  void SetUp() override {
    b = h.dev->attach("iqn.x:b,i,0x2", "iqn.2019-02.lb2:odcfs2,t,0x1", 1, 1);
    h.clear_ua();
    h.clear_ua(b);
  }
  uint8_t out(uint8_t sa, uint8_t type, uint64_t key, uint64_t sa_key, Nexus* n = nullptr) {
    return h.run(prout_cdb(sa, type), 24, prout_data(key, sa_key), n).status;
  }
  Result in(uint8_t sa, Nexus* n = nullptr) {
    return h.run({0x5E, sa, 0, 0, 0, 0, 0, 0x10, 0, 0}, 4096, {}, n);
  }
  Harness h;
  Nexus* b = nullptr;
};

TEST_F(Pr, RegisterReserveConflictsAndRelease) {
  EXPECT_EQ(out(0, 0, 0, 0xA), status::kGood);
  EXPECT_EQ(out(0, 0, 0, 0xB, b), status::kGood);
  EXPECT_EQ(out(0, 0, 5, 0xC, b), status::kReservationConflict);  // wrong key
  auto keys = in(0);
  ASSERT_EQ(keys.status, status::kGood);
  EXPECT_EQ(keys.data[7], 16);
  EXPECT_EQ(keys.data[3], 2);  // generation
  EXPECT_EQ(out(1, pr_type::kWriteExclusive, 0xA, 0), status::kGood);
  auto res = in(1);
  EXPECT_EQ(res.data[7], 16);
  EXPECT_EQ(res.data[15], 0xA);
  EXPECT_EQ(res.data[21], pr_type::kWriteExclusive);
  // WE: the other nexus may read, not write; the holder may do both.
  EXPECT_EQ(h.run(cdb10(0x28, 0, 1), 512, {}, b).status, status::kGood);
  EXPECT_EQ(h.run(cdb10(0x2A, 0, 1), 512, pattern(512, 1), b).status, status::kReservationConflict);
  EXPECT_EQ(h.run(cdb10(0x2A, 0, 1), 512, pattern(512, 1)).status, status::kGood);
  EXPECT_EQ(out(1, pr_type::kExclusiveAccess, 0xB, 0, b), status::kReservationConflict);
  // RELEASE with the wrong type, then the right one.
  EXPECT_EQ(h.run(prout_cdb(2, pr_type::kExclusiveAccess), 24, prout_data(0xA, 0)).asc, 0x26);
  EXPECT_EQ(out(2, pr_type::kWriteExclusive, 0xA, 0), status::kGood);
  EXPECT_EQ(in(1).data[7], 0);
  EXPECT_EQ(h.run(cdb10(0x2A, 0, 1), 512, pattern(512, 1), b).status, status::kGood);
}

// REGISTER with SPEC_I_PT on the local store: b's port (format 01b, its ISID
// spelled with fewer digits) and c's device (format 00b) are registered with
// the requester's key in one command; refusals change nothing.
TEST_F(Pr, SpecIPtRegistersNamedInitiators) {
  // Named as the iSCSI transport names initiator ports (12 ISID digits).
  Nexus* e = h.dev->attach("iqn.x:e,i,0x000000000005", "iqn.2019-02.lb2:odcfs2,t,0x1", 1, 1);
  Nexus* c = h.dev->attach("iqn.x:c,i,0x3", "iqn.2019-02.lb2:odcfs2,t,0x1", 1, 1);
  h.clear_ua(e);
  h.clear_ua(c);
  auto tid = [](const std::string& name, uint8_t format) {
    std::vector<uint8_t> t(4 + 20, 0);
    t[0] = uint8_t(format << 6 | 5);
    t[3] = 20;
    std::copy(name.begin(), name.end(), t.begin() + 4);
    return t;
  };
  auto spec = [&](uint64_t key, std::vector<std::vector<uint8_t>> ids, Nexus* n = nullptr,
                  uint64_t res_key = 0) {
    std::vector<uint8_t> p = prout_data(res_key, key);
    p[20] = 0x08;
    p.resize(28);
    for (auto& id : ids) p.insert(p.end(), id.begin(), id.end());
    uint32_t len = uint32_t(p.size() - 28);
    p[27] = uint8_t(len);
    std::vector<uint8_t> cdb = prout_cdb(0, 0);
    cdb[8] = uint8_t(p.size());
    return h.run(cdb, uint32_t(p.size()), p, n);
  };
  // A protocol other than iSCSI, and a missing NUL: refused, nothing registered.
  auto bad = tid("iqn.x:e,i,0x5", 1);
  bad[0] = 0x46;  // SAS
  EXPECT_EQ(spec(0xA, {bad}).asc, 0x26);
  auto unterminated = tid("iqn.x:e,i,0x00000005", 1);  // 20 bytes, no NUL
  EXPECT_EQ(spec(0xA, {unterminated}).asc, 0x26);
  EXPECT_EQ(in(0).data[7], 0);
  ASSERT_EQ(spec(0xA, {tid("iqn.x:e,i,0x5", 1), tid("iqn.x:c", 0)}).status, status::kGood);
  EXPECT_EQ(in(0).data[7], 24);  // three registrations
  // e (by port) reserves with the key; c (by device name) is a registrant.
  ASSERT_EQ(out(1, pr_type::kWriteExclusiveRegistrantsOnly, 0xA, 0, e), status::kGood);
  EXPECT_EQ(h.run(cdb10(0x2A, 0, 1), 512, pattern(512, 2), c).status, status::kGood);
  // SPEC_I_PT from a registered nexus, or naming a registered one: refused.
  EXPECT_EQ(spec(0xA, {tid("iqn.x:d,i,0x4", 1)}, e, 0xA).asc, 0x26);
  Nexus* d = h.dev->attach("iqn.x:d,i,0x4", "iqn.2019-02.lb2:odcfs2,t,0x1", 1, 1);
  h.clear_ua(d);
  EXPECT_EQ(spec(0xD, {tid("iqn.x:c,i,0x9", 1)}, d).asc, 0x26);
  EXPECT_EQ(in(0).data[7], 24);
  EXPECT_EQ(h.run(cdb10(0x2A, 0, 1), 512, pattern(512, 2), d).status, status::kReservationConflict);
  EXPECT_EQ(h.run(cdb10(0x2A, 0, 1), 512, pattern(512, 2), b).status, status::kReservationConflict);
  h.dev->detach(d);
  h.dev->detach(c);
  h.dev->detach(e);
}

TEST_F(Pr, RegistrantsOnlyAndPreemptAndClear) {
  Nexus* c = h.dev->attach("iqn.x:c,i,0x3", "iqn.2019-02.lb2:odcfs2,t,0x1", 1, 1);
  h.clear_ua(c);
  ASSERT_EQ(out(0, 0, 0, 0xA), status::kGood);
  ASSERT_EQ(out(0, 0, 0, 0xB, b), status::kGood);
  ASSERT_EQ(out(1, pr_type::kExclusiveAccessRegistrantsOnly, 0xA, 0), status::kGood);
  EXPECT_EQ(h.run(cdb10(0x28, 0, 1), 512, {}, b).status, status::kGood);  // registrant
  EXPECT_EQ(h.run(cdb10(0x28, 0, 1), 512, {}, c).status, status::kReservationConflict);
  EXPECT_EQ(h.run({0x12, 0, 0, 0, 36, 0}, 36, {}, c).status, status::kGood);
  // b preempts a: a loses its registration and gets REGISTRATIONS PREEMPTED.
  ASSERT_EQ(out(4, pr_type::kWriteExclusive, 0xB, 0xA, b), status::kGood);
  auto r = h.run(cdb10(0x28, 0, 1), 512);
  EXPECT_EQ(r.key, 0x6);
  EXPECT_EQ(r.asc, 0x2A);
  EXPECT_EQ(r.ascq, 0x05);
  auto res = in(1);
  EXPECT_EQ(res.data[15], 0xB);
  EXPECT_EQ(res.data[21], pr_type::kWriteExclusive);
  EXPECT_EQ(in(0).data[7], 8);
  // Full status names b with its TransportID.
  auto fs = in(3);
  ASSERT_GE(fs.data.size(), 8u + 24 + 20);
  EXPECT_EQ(fs.data[8 + 12] & 1, 1);
  EXPECT_EQ(fs.data[8 + 24], 0x45);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&fs.data[8 + 28])), "iqn.x:b,i,0x2");
  // CLEAR drops everything.
  ASSERT_EQ(out(3, 0, 0xB, 0, b), status::kGood);
  EXPECT_EQ(in(0).data[7], 0);
  EXPECT_EQ(in(1).data[7], 0);
  h.dev->detach(c);
}

// A transport stand-in: records what PREEMPT AND ABORT asks to abort and
// finishes the abort later on the loop, as a real transport would.
struct FakeAborter : TaskAborter {
  explicit FakeAborter(Harness& harness) : h(harness) {}
  void abort_nexus_tasks(const std::vector<Nexus*>& v, uint64_t l, Task& by,
                         std::function<void()> done) override {
    victims = v;
    lun = l;
    by_tag = by.tag;
    completed_before = h.completed;
    boost::asio::post(h.io, [this, done] {
      still_pending = h.completed == completed_before;
      done();
    });
  }
  Harness& h;
  std::vector<Nexus*> victims;
  uint64_t lun = 0;
  uint32_t by_tag = 1;
  int completed_before = -1;
  bool still_pending = false;
};

TEST_F(Pr, PreemptAndAbortHasTheTransportAbortThePreemptedNexus) {
  FakeAborter aborter(h);
  h.dev->set_task_aborter(&aborter);
  Nexus* c = h.dev->attach("iqn.x:c,i,0x3", "iqn.2019-02.lb2:odcfs2,t,0x1", 1, 1);
  h.clear_ua(c);
  ASSERT_EQ(out(0, 0, 0, 0xA), status::kGood);
  ASSERT_EQ(out(0, 0, 0, 0xB, b), status::kGood);
  ASSERT_EQ(out(0, 0, 0, 0xC, c), status::kGood);
  ASSERT_EQ(out(1, 1, 0xB, 0, b), status::kGood);  // b holds WE
  // PREEMPT (plain) aborts nothing.
  ASSERT_EQ(out(4, 1, 0xA, 0xC), status::kGood);
  EXPECT_TRUE(aborter.victims.empty());
  // PREEMPT AND ABORT of b's key: only b's tasks, on LUN 1, and the command
  // completes after the transport's done().
  ASSERT_EQ(out(5, 1, 0xA, 0xB), status::kGood);
  ASSERT_EQ(aborter.victims.size(), 1u);
  EXPECT_EQ(aborter.victims[0], b);
  EXPECT_EQ(aborter.lun, 1u);
  EXPECT_TRUE(aborter.still_pending);
  auto r = h.run({0x00, 0, 0, 0, 0, 0}, 0, {}, b);
  EXPECT_EQ(r.asc, 0x2A);
  EXPECT_EQ(r.ascq, 0x05);
  h.dev->detach(c);
  h.dev->set_task_aborter(nullptr);
}

TEST_F(Pr, ReportCapabilitiesAndBadRequests) {
  auto cap = in(2);
  ASSERT_EQ(cap.status, status::kGood);
  EXPECT_EQ(cap.data[1], 8);
  EXPECT_EQ(cap.data[2] & 0x01, 0);  // no APTPL file configured
  EXPECT_EQ(cap.data[4], 0xEA);
  EXPECT_EQ(cap.data[5], 0x01);
  auto r = h.run(prout_cdb(0, 0), 24, prout_data(0, 1, true));
  EXPECT_EQ(r.asc, 0x26);
  r = h.run({0x5F, 0, 0, 0, 0, 0, 0, 0, 20, 0}, 20, std::vector<uint8_t>(20, 0));
  EXPECT_EQ(r.asc, 0x1A);
  EXPECT_EQ(in(9).asc, 0x24);
}

TEST(PrAptpl, SurvivesRestart) {
  char dir[] = "/tmp/scsi-pr-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/lun1.pr";
  {
    Harness h(64, 512, false, false, path);
    h.clear_ua();
    ASSERT_EQ(h.run(prout_cdb(0, 0), 24, prout_data(0, 0x1234, true)).status, status::kGood);
    ASSERT_EQ(h.run(prout_cdb(1, pr_type::kExclusiveAccess), 24, prout_data(0x1234, 0)).status,
              status::kGood);
    EXPECT_EQ(access(path.c_str(), F_OK), 0);
  }
  {
    Harness h(64, 512, false, false, path);
    h.clear_ua();
    auto keys = h.run({0x5E, 0, 0, 0, 0, 0, 0, 0x10, 0, 0}, 4096);
    EXPECT_EQ(keys.data[7], 8);
    EXPECT_EQ(keys.data[14], 0x12);
    auto res = h.run({0x5E, 1, 0, 0, 0, 0, 0, 0x10, 0, 0}, 4096);
    EXPECT_EQ(res.data[21], pr_type::kExclusiveAccess);
    auto cap = h.run({0x5E, 2, 0, 0, 0, 0, 0, 0x10, 0, 0}, 4096);
    EXPECT_EQ(cap.data[3] & 1, 1);  // PTPL_A
    // Unregistering with APTPL off removes the file.
    ASSERT_EQ(h.run(prout_cdb(0, 0), 24, prout_data(0x1234, 0)).status, status::kGood);
    EXPECT_NE(access(path.c_str(), F_OK), 0);
  }
  rmdir(dir);
}

TEST(PrState, SerializeRoundTrip) {
  PrState s;
  s.generation = 7;
  s.aptpl = true;
  s.type = pr_type::kWriteExclusiveRegistrantsOnly;
  s.holder_initiator = "iqn.a,i,0x1";
  s.holder_target = "iqn.t,t,0x1";
  s.registrations.push_back({"iqn.a,i,0x1", "iqn.t,t,0x1", 1, 0xDEADBEEFull});
  PrState back;
  ASSERT_TRUE(parse_pr_state(serialize_pr_state(s), &back));
  EXPECT_EQ(back, s);
  EXPECT_FALSE(parse_pr_state("sharedisk-pr 1\ngeneration x\n", &back));
}

}  // namespace
}  // namespace sharedisk::scsi::test
