// Several sessions on one LUN: writes of one are visible to the other at
// once (no caching per session); a login with the ISID of a live session
// reinstates it (RFC 7143 §6.3.5: the old connection is closed, the new one
// works), while a different ISID is a second, independent session.
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <thread>

#include "itest_support.h"

namespace sharedisk::itest {
namespace {

constexpr const char* kIqn = "iqn.2024-01.test.sharedisk:shared";

std::string shared_yaml() {
  return preamble() +
         "targets:\n"
         "  - iqn: iqn.2024-01.test.sharedisk:shared\n"
         "    luns:\n"
         "      - number: 1\n"
         "        path: @DIR@/shared.img\n"
         "        size: 16M\n";
}

// True once the peer closed `fd` (EOF or reset), within `timeout`. Data the
// target still sends before closing is drained through libiscsi.
bool closed_by_target(Session& s, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{s.fd(), POLLIN, 0};
    if (::poll(&pfd, 1, 100) <= 0) continue;
    if (pfd.revents & (POLLHUP | POLLERR)) return true;
    char byte;
    ssize_t n = ::recv(s.fd(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return true;
    if (n < 0 && errno != EAGAIN && errno != EINTR) return true;
    if (n > 0 && iscsi_service(s.ctx(), POLLIN) < 0) return true;
  }
  return false;
}

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override { START_DAEMON(daemon_); }
  TempDir dir_;
  Daemon daemon_{dir_, shared_yaml()};
};

TEST_F(SessionTest, TwoSessionsSeeEachOthersWritesAtOnce) {
  LoginOptions a_opts, b_opts;
  b_opts.initiator = "iqn.2024-01.test.sharedisk:second-host";
  OPEN_SESSION(a, daemon_, kIqn, 1, a_opts);
  OPEN_SESSION(b, daemon_, kIqn, 1, b_opts);
  for (uint32_t round = 0; round < 20; ++round) {
    uint64_t lba = 17 + round * 97;
    uint32_t count = 1 + round % 9;
    Session& writer = round % 2 ? *a : *b;
    Session& reader = round % 2 ? *b : *a;
    // Read first so that any read cache would hold the old data.
    ASSERT_TRUE(reader.read16(lba, count * 512, 512).good());
    auto data = pattern(round + 1, lba, count, 512);
    ASSERT_TRUE(writer.write16(lba, data, 512).good());
    ScsiResult r = reader.read16(lba, count * 512, 512);
    ASSERT_TRUE(r.good());
    ASSERT_EQ(first_difference(r.data, data), -1) << "round " << round;
  }
}

TEST_F(SessionTest, SameIsidReinstatesTheSession) {
  LoginOptions o;
  o.fixed_isid = true;
  o.isid_random = 0x00abcd;
  o.isid_qualifier = 7;
  OPEN_SESSION(old_session, daemon_, kIqn, 1, o);
  ASSERT_TRUE(old_session->write16(100, pattern(1, 100, 4, 512), 512).good());

  OPEN_SESSION(fresh, daemon_, kIqn, 1, o);
  EXPECT_TRUE(closed_by_target(*old_session, std::chrono::seconds(10)))
      << "the old connection of the reinstated session stayed open\n"
      << daemon_.output();
  old_session->abandon();
  ScsiResult r = fresh->read16(100, 4 * 512, 512);
  ASSERT_TRUE(r.good()) << r.error;
  EXPECT_EQ(first_difference(r.data, pattern(1, 100, 4, 512)), -1);
  EXPECT_TRUE(fresh->write16(200, pattern(2, 200, 1, 512), 512).good());
}

TEST_F(SessionTest, DifferentIsidIsASecondSession) {
  LoginOptions first, second;
  first.fixed_isid = second.fixed_isid = true;
  first.isid_random = second.isid_random = 0x00abcd;
  first.isid_qualifier = 1;
  second.isid_qualifier = 2;
  OPEN_SESSION(a, daemon_, kIqn, 1, first);
  OPEN_SESSION(b, daemon_, kIqn, 1, second);
  EXPECT_FALSE(closed_by_target(*a, std::chrono::seconds(1)));
  EXPECT_TRUE(a->test_unit_ready().good());
  EXPECT_TRUE(b->test_unit_ready().good());
}

TEST_F(SessionTest, ManySequentialLoginsAndLogouts) {
  // Sessions are released on logout: 50 in a row stay well under any limit.
  for (int i = 0; i < 50; ++i) {
    std::string error;
    auto s = Session::open(daemon_.portal(), kIqn, 1, LoginOptions{}, &error);
    ASSERT_NE(s, nullptr) << "login " << i << ": " << error;
  }
  EXPECT_TRUE(daemon_.running());
}

}  // namespace
}  // namespace sharedisk::itest
