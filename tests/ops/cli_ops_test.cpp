// The sharedisk-target command line against a real daemon: strict numbers, --version,
// status --json with bytes that are not UTF-8 from a real login, --check, reload
// --dry-run, the demo's admin socket, and LUNs whose kind comes from what the path is
// (a file in /dev/shm, a loop device), served and verified through libiscsi.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>

#include "ops_support.h"

namespace ops {
namespace {

struct CliRun {
  int code;
  std::string output;  // stdout and stderr
};

// Runs sharedisk-target with `args` (bounded: 60 s) and returns its exit code and output.
CliRun target_cli(const TempDir& dir, const std::vector<std::string>& args) {
  static int n = 0;
  std::string out = dir.file("cli-" + std::to_string(n++) + ".out");
  std::vector<std::string> argv{SHAREDISK_TARGET_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t pid =
      sharedisk::test_support::spawn(argv, {.output_path = out, .cwd = "", .as_nobody = false});
  int code = sharedisk::test_support::reap(pid, std::chrono::seconds(60));
  return {code, read_file(out)};
}

// Runs a shell command line, returns its stdout (first line, no newline).
std::string shell(const std::string& command) {
  std::string out;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
    ::pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

bool valid_utf8(const std::string& s) {
  try {
    (void)nlohmann::json(s).dump();  // strict: throws type_error 316 on invalid UTF-8
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

std::vector<uint8_t> block_pattern(size_t bytes, uint8_t seed) {
  std::vector<uint8_t> v(bytes);
  for (size_t i = 0; i < bytes; ++i) v[i] = uint8_t(seed + i * 7 + (i >> 9));
  return v;
}

// WRITE(10) then READ(10) of `blocks` 512-byte blocks at `lba` through libiscsi; true when
// the data read back is the data written.
void write_read_verify(iscsi_context* c, uint32_t lba, uint32_t blocks, uint8_t seed) {
  std::vector<uint8_t> data = block_pattern(blocks * 512, seed);
  scsi_task* w =
      iscsi_write10_sync(c, 1, lba, data.data(), uint32_t(data.size()), 512, 0, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(w)) << iscsi_get_error(c);
  scsi_free_scsi_task(w);
  scsi_task* r = iscsi_read10_sync(c, 1, lba, uint32_t(data.size()), 512, 0, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(r)) << iscsi_get_error(c);
  ASSERT_EQ(r->datain.size, int(data.size()));
  EXPECT_EQ(std::memcmp(r->datain.data, data.data(), data.size()), 0);
  scsi_free_scsi_task(r);
}

// Logs in (TEST UNIT READY until the new nexus' unit attention is gone).
IscsiPtr login_ready(uint16_t port) {
  IscsiPtr c = iscsi_login(port);
  if (!c) return c;
  for (int i = 0; i < 4; ++i) {
    scsi_task* t = iscsi_testunitready_sync(c.get(), 1);
    bool ok = scsi_ok(t);
    if (t) scsi_free_scsi_task(t);
    if (ok) break;
  }
  return c;
}

class CliOps : public ::testing::Test {
 protected:
  TempDir dir;
  Daemon daemon{dir};
  uint16_t port = free_port();
  std::string lun1 = dir.file("lun1.img");
};

TEST_F(CliOps, NumbersAreStrictAndUsageErrorsExitTwo) {
  write_file(dir.file("lun.yaml"), config_yaml(port, {{1, lun1, "1M"}}));
  for (const std::vector<std::string>& bad :
       std::vector<std::vector<std::string>>{{"--threads", "x"},
                                             {"--threads=x"},
                                             {"--threads", "3x"},
                                             {"--threads", "-1"},
                                             {"--threads", "0x10"}}) {
    std::vector<std::string> args{"--config", dir.file("lun.yaml"), "--check"};
    args.insert(args.end(), bad.begin(), bad.end());
    CliRun r = target_cli(dir, args);
    EXPECT_EQ(r.code, 2) << bad[0] << "\n" << r.output;
    EXPECT_NE(r.output.find("--threads"), std::string::npos) << r.output;
  }
  // Both spellings of a value, and the same answer.
  CliRun a = target_cli(dir, {"--config", dir.file("lun.yaml"), "--threads", "3", "--check"});
  CliRun b = target_cli(dir, {"--config=" + dir.file("lun.yaml"), "--threads=3", "--check"});
  EXPECT_EQ(a.code, 0) << a.output;
  EXPECT_EQ(b.code, 0) << b.output;
  EXPECT_EQ(a.output, b.output);
  EXPECT_EQ(target_cli(dir, {"--bogus"}).code, 2);
  EXPECT_EQ(target_cli(dir, {"status", "--socket"}).code, 2);  // needs a value
  EXPECT_EQ(target_cli(dir, {"import-tgt"}).code, 2);          // needs FILE
  CliRun help = target_cli(dir, {"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.output.find("--threads"), std::string::npos) << help.output;
  EXPECT_NE(help.output.find("import-tgt"), std::string::npos) << help.output;
}

TEST_F(CliOps, VersionIsTheProjectVersion) {
  CliRun r = target_cli(dir, {"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.output, std::string("sharedisk-target ") + SHAREDISK_PROJECT_VERSION + "\n");
}

TEST_F(CliOps, CheckOpensEveryBackingAndNamesWhatIsMissing) {
  std::string missing = dir.file("no-such.img");
  std::string yaml =
      config_yaml(port, {{1, lun1, "1M"}}) + "      - number: 2\n        path: " + missing + "\n";
  write_file(dir.file("lun.yaml"), yaml);
  CliRun r = target_cli(dir, {"--config", dir.file("lun.yaml"), "--check"});
  EXPECT_EQ(r.code, 2) << r.output;
  // LUN 2 is on line 9 of the file config_yaml() writes.
  EXPECT_NE(r.output.find(dir.file("lun.yaml") + ":9: targets[0].luns[1].path: "),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(missing), std::string::npos) << r.output;
  // --check created nothing (LUN 1's file has a size: the daemon would create it).
  EXPECT_NE(::access(lun1.c_str(), F_OK), 0);

  // Once the backing is there, the same file passes.
  write_file(missing, std::string(512, 'x'));
  CliRun ok = target_cli(dir, {"--config", dir.file("lun.yaml"), "--check"});
  EXPECT_EQ(ok.code, 0) << ok.output;
  EXPECT_NE(ok.output.find("configuration OK"), std::string::npos) << ok.output;
}

TEST_F(CliOps, StatusJsonIsValidWhenTheInitiatorAliasIsNotUtf8) {
  daemon.start(config_yaml(port, {{1, lun1, "1M"}}));
  const std::string alias = "odoo\xff\xfe caf\xe9 \"x\"\x01";
  RawInitiator raw;
  ASSERT_TRUE(raw.connect(port));
  ASSERT_TRUE(raw.login(kIqn, 0x023d00000001ULL,
                        sharedisk::test_support::text_keys({{"InitiatorAlias", alias}})));
  CliRun r = target_cli(dir, {"status", "--json", "--socket", daemon.socket()});
  ASSERT_EQ(r.code, 0) << r.output;
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(r.output)) << r.output;
  ASSERT_EQ(j["targets"][0]["sessions"].size(), 1u) << r.output;
  const auto& s = j["targets"][0]["sessions"][0];
  EXPECT_EQ(s["initiator"], kInitiator);
  // Invalid bytes become U+FFFD, the rest is kept.
  EXPECT_EQ(s["initiator_alias"], "odoo\xef\xbf\xbd\xef\xbf\xbd caf\xef\xbf\xbd \"x\"\x01");
  // Python reads it too (the tool most provisioning scripts use).
  std::string file = dir.file("status.json");
  write_file(file, r.output);
  EXPECT_EQ(shell("python3 -c 'import json,sys; d=json.load(sys.stdin); "
                  "print(len(d[\"targets\"][0][\"sessions\"]))' < " +
                  file + " 2>&1"),
            "1");
  // The text status and the metrics stay readable as UTF-8 too.
  std::string metrics = daemon.admin("metrics").body;
  EXPECT_NE(metrics.find("sharedisk_sessions{target=\"iqn.2019-02.lb2:ops\"} 1"), std::string::npos)
      << metrics;
  EXPECT_TRUE(valid_utf8(metrics));
}

TEST_F(CliOps, ReloadDryRunPrintsTheChangesAndChangesNothing) {
  daemon.start(config_yaml(port, {{1, lun1, "1M"}}));
  std::string lun2 = dir.file("lun2.img");
  write_file(daemon.config_path(),
             config_yaml(port, {{1, lun1, "1M"}, {2, lun2, "2M"}}) + "log_level: debug\n");
  CliRun dry = target_cli(dir, {"reload", "--dry-run", "--socket", daemon.socket()});
  EXPECT_EQ(dry.code, 0) << dry.output;
  EXPECT_NE(dry.output.find("dry run: nothing changed"), std::string::npos) << dry.output;
  EXPECT_NE(dry.output.find("target " + std::string(kIqn) + ": add LUN 2 (" + lun2 + ")"),
            std::string::npos)
      << dry.output;
  EXPECT_NE(dry.output.find("set log_level to debug"), std::string::npos) << dry.output;
  // Nothing applied: no LUN 2, no backing created, no reload counted.
  std::string json = daemon.admin("status --json").body;
  EXPECT_EQ(json.find(R"("number":2)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("reloads_ok":0,"reloads_refused":0)"), std::string::npos) << json;
  EXPECT_NE(::access(lun2.c_str(), F_OK), 0);

  // The real reload does what the dry run said.
  CliRun real = target_cli(dir, {"reload", "--socket", daemon.socket()});
  EXPECT_EQ(real.code, 0) << real.output;
  EXPECT_NE(daemon.admin("status --json").body.find(R"("number":2)"), std::string::npos);
  EXPECT_EQ(
      target_cli(dir, {"reload", "--dry-run", "--socket", daemon.socket()}).output,
      "dry run: nothing changed; a reload of " + daemon.config_path() + " would:\n  no change\n");

  // A reload that would be refused says so, and exits 1.
  write_file(daemon.config_path(),
             config_yaml(port, {{1, lun1, "1M"}, {2, lun2, "2M"}}) +
                 "      - number: 3\n        path: " + dir.file("no-such.img") + "\n");
  CliRun refused = target_cli(dir, {"reload", "--dry-run", "--socket", daemon.socket()});
  EXPECT_EQ(refused.code, 1) << refused.output;
  EXPECT_NE(refused.output.find("a reload would be refused"), std::string::npos) << refused.output;
  write_file(daemon.config_path(), "portals: [127.0.0.1:1\n");
  CliRun bad = target_cli(dir, {"reload", "--dry-run", "--socket", daemon.socket()});
  EXPECT_EQ(bad.code, 1) << bad.output;
  EXPECT_NE(bad.output.find(daemon.config_path() + ":"), std::string::npos) << bad.output;
  EXPECT_NE(daemon.admin("status").body.find("reloads: 1 ok, 0 refused"), std::string::npos);
}

// run-demo.sh starts the daemon without flags: its admin socket lies beside the demo file.
// status and reload without --socket/--config find it there (here with the demo file in
// the test's directory, and a free port instead of 3260).
TEST_F(CliOps, StatusAndReloadReachTheDemoDaemonWithoutFlags) {
  std::string demo = dir.file("demo-lun1.img");
  pid_t pid = sharedisk::test_support::spawn(
      {SHAREDISK_TARGET_BIN, "--demo-file", demo, "--portal", "127.0.0.1:" + std::to_string(port)},
      {.output_path = dir.file("demo.log"), .cwd = "", .as_nobody = false});
  CliRun status{1, ""};
  bool up = eventually(
      [&] {
        status = target_cli(dir, {"status", "--demo-file", demo});
        return status.code == 0;
      },
      std::chrono::seconds(10));
  // The demo has no file to re-read: the daemon's own answer shows reload reached it.
  CliRun reload = target_cli(dir, {"reload", "--demo-file", demo});
  ::kill(pid, SIGTERM);
  EXPECT_EQ(sharedisk::test_support::reap(pid, std::chrono::seconds(20)), 0);
  ASSERT_TRUE(up) << status.output << read_file(dir.file("demo.log"));
  EXPECT_NE(status.output.find("config <embedded default>"), std::string::npos) << status.output;
  EXPECT_NE(status.output.find("iqn.2019-02.lb2:odcfs2"), std::string::npos) << status.output;
  EXPECT_EQ(reload.code, 1) << reload.output;
  EXPECT_NE(reload.output.find("the daemon runs the embedded demo"), std::string::npos)
      << reload.output;
  // Help names where the client looks by default, the packaged and the demo socket.
  CliRun help = target_cli(dir, {"status", "--help"});
  EXPECT_NE(help.output.find("/var/tmp/sharedisk/demo-lun1.img"), std::string::npos) << help.output;
}

// A regular file in /dev/shm is a file LUN (its size given), not a block device: this
// configuration used to be refused ("a block device's size comes from the device").
TEST_F(CliOps, ServesAFileInDevShm) {
  std::string shm = "/dev/shm/sharedisk-ops-" + std::to_string(::getpid()) + ".img";
  struct Cleanup {
    std::string path;
    ~Cleanup() { std::remove(path.c_str()); }
  } cleanup{shm};
  write_file(shm, "");
  ASSERT_EQ(::truncate(shm.c_str(), 4 << 20), 0) << shm;
  daemon.start(config_yaml(port, {{1, shm, "4M"}}));
  IscsiPtr c = login_ready(port);
  ASSERT_NE(c, nullptr);
  write_read_verify(c.get(), 100, 64, 0x5a);
  std::string json = daemon.admin("status --json").body;
  EXPECT_NE(json.find(R"("type":"file","backing":")" + shm + "\""), std::string::npos) << json;
  c.reset();
  EXPECT_EQ(daemon.stop(), 0);
  std::string bytes = read_file(shm);
  ASSERT_EQ(bytes.size(), 4u << 20);
  std::vector<uint8_t> want = block_pattern(64 * 512, 0x5a);
  EXPECT_EQ(std::memcmp(bytes.data() + 100 * 512, want.data(), want.size()), 0);
}

// A real block device: a loop device over a file. Its kind comes from stat (no `type`),
// its size from the device; data written through iSCSI is on the device's backing file.
TEST_F(CliOps, ServesALoopDevice) {
  std::string backing = dir.file("loop-backing.img");
  {
    std::ofstream f(backing, std::ios::binary);
    f.seekp((8 << 20) - 1);
    f.put('\0');
  }
  std::string loop = shell("losetup --find --show " + backing + " 2>&1");
  if (loop.rfind("/dev/loop", 0) != 0) {
    if (::geteuid() != 0) GTEST_SKIP() << "losetup needs root: " << loop;
    FAIL() << "losetup --find --show " << backing << " failed as root: " << loop;
  }
  struct Detach {
    std::string dev;
    ~Detach() { shell("losetup -d " + dev + " 2>&1"); }
  } detach{loop};
  write_file(daemon.config_path(),
             "portals: [127.0.0.1:" + std::to_string(port) + "]\ntargets:\n  - iqn: " + kIqn +
                 "\n    luns:\n      - number: 1\n        path: " + loop + "\n");
  daemon.start_existing();
  std::string json = daemon.admin("status --json").body;
  EXPECT_NE(json.find(R"("type":"block","backing":")" + loop + R"(","size_bytes":8388608)"),
            std::string::npos)
      << json;
  IscsiPtr c = login_ready(port);
  ASSERT_NE(c, nullptr);
  write_read_verify(c.get(), 2048, 128, 0x33);
  scsi_task* sync = iscsi_synchronizecache10_sync(c.get(), 1, 0, 0, 0, 0);
  EXPECT_TRUE(scsi_ok(sync));
  if (sync) scsi_free_scsi_task(sync);
  c.reset();
  EXPECT_EQ(daemon.stop(), 0);
  shell("blockdev --flushbufs " + loop + " 2>&1");
  std::string bytes = read_file(backing);
  ASSERT_EQ(bytes.size(), 8u << 20);
  std::vector<uint8_t> want = block_pattern(128 * 512, 0x33);
  EXPECT_EQ(std::memcmp(bytes.data() + 2048 * 512, want.data(), want.size()), 0);
}

}  // namespace
}  // namespace ops
