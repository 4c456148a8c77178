// The daemon as a process (issue 2 items 2 and 8): bad configurations fail
// before anything is opened or created with FILE:LINE: KEY in the message;
// --check validates only; a port in use, a missing backing file and an
// unreadable one fail cleanly without creating anything; SIGTERM while writes
// are in flight exits 0 and every acknowledged write is there after a restart.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "itest_support.h"

namespace sharedisk::itest {
namespace {

using namespace std::chrono_literals;

struct BadConfig {
  const char* name;
  std::string lun_lines;  // lines 8.. of the file (inside luns[0])
  std::string expected;   // "LINE: KEY"
};

// Lines 1-7 are fixed so that the expected line numbers are easy to read.
std::string bad_config_text(const TempDir& dir, int port, const std::string& lun_lines) {
  return "log_level: info\n"  // 1
         "admin_socket: " +
         dir.file("admin.sock") + "\n" +                          // 2
         "portals: [127.0.0.1:" + std::to_string(port) + "]\n" +  // 3
         "targets:\n"                                             // 4
         "  - iqn: iqn.2024-01.test.sharedisk:cfg\n"              // 5
         "    luns:\n"                                            // 6
         "      - number: 1\n"                                    // 7
         "        path: " +
         dir.file("never-created.img") + "\n" +  // 8
         "        size: 4M\n" +                  // 9
         lun_lines;                              // 10..
}

TEST(DaemonConfig, BadConfigsNameFileLineAndKeyAndCreateNothing) {
  const BadConfig cases[] = {
      {"block_size", "        block_size: 1024\n", ":10: targets[0].luns[0].block_size"},
      {"unknown_key", "        blocksize: 512\n", ":10: targets[0].luns[0].blocksize"},
      {"bad_bool", "        read_only: maybe\n", ":10: targets[0].luns[0].read_only"},
      {"serial_with_space", "        block_size: 4096\n        serial: \"has space\"\n",
       ":11: targets[0].luns[0].serial"},
      {"network_host_bits", "    access:\n      networks: [192.168.55.1/24]\n",
       ":11: targets[0].access.networks[0]"},
  };
  for (const BadConfig& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir dir;
    std::string path = dir.file("bad.yaml");
    int port = free_port();
    write_file(path, bad_config_text(dir, port, c.lun_lines));
    for (bool check : {false, true}) {
      std::vector<std::string> args = {"--config", path};
      if (check) args.push_back("--check");
      RunResult r = run_daemon(args);
      EXPECT_FALSE(r.timed_out);
      EXPECT_NE(r.exit_code, 0) << r.output;
      EXPECT_NE(r.output.find(path + c.expected), std::string::npos)
          << "expected '" << path << c.expected << "' in:\n"
          << r.output;
    }
    EXPECT_FALSE(file_exists(dir.file("never-created.img")));
    EXPECT_FALSE(can_connect(port));
  }
}

TEST(DaemonConfig, YamlSyntaxErrorNamesFileAndLine) {
  TempDir dir;
  std::string path = dir.file("syntax.yaml");
  write_file(path, "portals: [127.0.0.1:3261\ntargets: []\n");
  RunResult r = run_daemon({"--config", path});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find(path + ":"), std::string::npos) << r.output;
}

TEST(DaemonConfig, MissingConfigFile) {
  TempDir dir;
  RunResult r = run_daemon({"--config", dir.file("absent.yaml")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find(dir.file("absent.yaml")), std::string::npos) << r.output;
}

TEST(DaemonConfig, CheckValidatesWithoutCreatingOrListening) {
  TempDir dir;
  std::string path = dir.file("good.yaml");
  int port = free_port();
  write_file(path, bad_config_text(dir, port, ""));
  RunResult r = run_daemon({"--config", path, "--check"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("OK"), std::string::npos) << r.output;
  EXPECT_FALSE(file_exists(dir.file("never-created.img")));
  EXPECT_FALSE(can_connect(port));
}

TEST(DaemonStartup, PortInUseFailsAndCreatesNothing) {
  TempDir dir;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  int port = ntohs(sa.sin_port);

  std::string path = dir.file("lun.yaml");
  write_file(path, bad_config_text(dir, port, ""));
  RunResult r = run_daemon({"--config", path});
  ::close(fd);
  EXPECT_FALSE(r.timed_out);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("in use"), std::string::npos) << r.output;
  EXPECT_FALSE(file_exists(dir.file("never-created.img")));
}

TEST(DaemonStartup, MissingBackingWithoutSizeFailsAndCreatesNothing) {
  TempDir dir;
  std::string path = dir.file("lun.yaml");
  int port = free_port();
  write_file(path, bad_config_text(dir, port,
                                   "      - number: 2\n"
                                   "        path: " +
                                       dir.file("missing.img") + "\n"));
  RunResult r = run_daemon({"--config", path});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find(dir.file("missing.img")), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("does not exist"), std::string::npos) << r.output;
  EXPECT_FALSE(file_exists(dir.file("missing.img")));
  EXPECT_FALSE(file_exists(dir.file("never-created.img")))
      << "LUN 1 was created before LUN 2 failed";
  EXPECT_FALSE(can_connect(port));
}

TEST(DaemonStartup, UnreadableBackingFailsAndCreatesNothing) {
  TempDir dir;
  // The daemon runs unprivileged (as nobody when the tests run as root), so
  // that the file mode really keeps it out.
  std::string pub = dir.file("pub");
  ASSERT_EQ(::mkdir(pub.c_str(), 0777), 0);
  ::chmod(pub.c_str(), 0777);
  std::string secret = dir.file("secret.img");
  write_file(secret, std::string(1 << 20, '\0'));
  ASSERT_EQ(::chmod(secret.c_str(), ::geteuid() == 0 ? 0600 : 0000), 0);
  std::string path = dir.file("lun.yaml");
  int port = free_port();
  write_file(path, "admin_socket: " + pub + "/admin.sock\n" +
                       "portals: [127.0.0.1:" + std::to_string(port) + "]\n" +
                       "targets:\n"
                       "  - iqn: iqn.2024-01.test.sharedisk:perm\n"
                       "    luns:\n"
                       "      - number: 1\n"
                       "        path: " +
                       pub + "/new.img\n" +
                       "        size: 4M\n"
                       "      - number: 2\n"
                       "        path: " +
                       secret + "\n");
  RunOptions o;
  o.as_nobody = true;
  RunResult r = run_daemon({"--config", path}, o);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(secret), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Permission denied"), std::string::npos) << r.output;
  EXPECT_FALSE(file_exists(pub + "/new.img"));
  EXPECT_FALSE(can_connect(port));
}

std::string restart_yaml() {
  return preamble() +
         "targets:\n"
         "  - iqn: iqn.2024-01.test.sharedisk:stop\n"
         "    luns:\n"
         "      - number: 1\n"
         "        path: @DIR@/stop.img\n"
         "        size: 64M\n";
}

void sigterm_with_io_in_flight(int signo) {
  constexpr const char* kIqn = "iqn.2024-01.test.sharedisk:stop";
  TempDir dir;
  struct Write {
    uint64_t lba;
    uint32_t count;
    uint32_t seed;
  };
  std::vector<Write> acked;
  {
    Daemon daemon(dir, restart_yaml());
    START_DAEMON(daemon);
    OPEN_SESSION(s, daemon, kIqn, 1, LoginOptions{});
    AsyncRunner runner(*s, 32);
    size_t completions = 0;
    bool signalled = false;
    uint64_t lba = 0;
    for (uint32_t i = 0; i < 3000; ++i) {
      uint32_t count = 8 + i % 57;
      if (lba + count > (64u << 20) / 512) break;
      Write w{lba, count, i + 1};
      runner.write16(lba, pattern(w.seed, lba, count, 512), 512, [&, w](const ScsiResult& r) {
        if (r.good()) acked.push_back(w);
        if (++completions == 200 && !signalled) {
          signalled = true;
          ::kill(daemon.pid(), signo);  // with 32 writes in flight
        }
      });
      lba += count;
    }
    std::string error;
    runner.run(60s, &error);  // ends early when the daemon closes the connection
    ASSERT_TRUE(signalled);
    s->abandon();
    s.reset();
    int code = daemon.wait_exit(40s);
    EXPECT_EQ(code, 0) << daemon.output();
  }
  ASSERT_GE(acked.size(), 200u);
  std::printf("signal %d: %zu writes acknowledged before the daemon stopped\n", signo,
              acked.size());

  Daemon again(dir, restart_yaml());
  START_DAEMON(again);
  OPEN_SESSION(s, again, kIqn, 1, LoginOptions{});
  size_t bad = 0;
  for (const Write& w : acked) {
    ScsiResult r = s->read16(w.lba, w.count * 512, 512);
    ASSERT_TRUE(r.good());
    if (first_difference(r.data, pattern(w.seed, w.lba, w.count, 512)) != -1) ++bad;
  }
  EXPECT_EQ(bad, 0u) << "of " << acked.size() << " acknowledged writes";
}

TEST(DaemonShutdown, SigtermWithWritesInFlightExitsZeroAndKeepsAcknowledgedData) {
  sigterm_with_io_in_flight(SIGTERM);
}

TEST(DaemonShutdown, SigintExitsZeroToo) {
  sigterm_with_io_in_flight(SIGINT);
}

}  // namespace
}  // namespace sharedisk::itest
