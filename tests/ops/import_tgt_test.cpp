// import-tgt: tgt configurations in, lun.yaml out. Golden files in data/
// (FILE.conf -> FILE.yaml and the notes FILE.notes), refusals with file:line, and a round trip
// through a real tgtd + `tgt-admin --dump` when tgt is installed and we may run it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "config/config.h"
#include "daemon/import_tgt.h"

namespace {

using sharedisk::daemon::import_tgt_file;
using sharedisk::daemon::import_tgt_text;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs in data/ so that file names (and the notes quoting them) are relative.
class ImportTgt : public ::testing::Test {
 protected:
  void SetUp() override {
    old_ = std::filesystem::current_path();
    std::filesystem::current_path(OPS_DATA_DIR);
  }
  void TearDown() override { std::filesystem::current_path(old_); }
  std::filesystem::path old_;
};

class Golden : public ImportTgt, public ::testing::WithParamInterface<const char*> {};

TEST_P(Golden, MatchesExpectedYaml) {
  std::string name = GetParam();
  auto result = import_tgt_file(name + ".conf");
  EXPECT_EQ(result.yaml, slurp(name + ".yaml"));
  std::string notes;  // as the CLI prints them on stderr
  for (const std::string& n : result.notes) notes += "note: " + n + "\n";
  EXPECT_EQ(notes, slurp(name + ".notes"));
  // And the daemon loads it with the same rules.
  sharedisk::config::Config c = sharedisk::config::load_string(result.yaml, name);
  EXPECT_FALSE(c.targets.empty());
}

INSTANTIATE_TEST_SUITE_P(Files, Golden,
                         ::testing::Values("lb2-dump", "lb2-shareddisk", "targets-full"));

TEST_F(ImportTgt, Lb2BecomesOneTargetOneLunOneNetwork) {
  auto c = sharedisk::config::load_string(import_tgt_file("lb2-shareddisk.conf").yaml, "x");
  ASSERT_EQ(c.targets.size(), 1u);
  const auto& t = c.targets[0];
  EXPECT_EQ(t.iqn, "iqn.2019-02.lb2:odcfs2");
  ASSERT_EQ(t.luns.size(), 1u);
  EXPECT_EQ(t.luns[0].number, 1u);
  EXPECT_EQ(t.luns[0].path, "/dev/sdb");
  EXPECT_EQ(t.luns[0].type, sharedisk::config::BackingType::kBlock);
  ASSERT_EQ(t.allowed_networks.size(), 1u);
  EXPECT_EQ(t.allowed_networks[0].text, "192.168.55.0/24");
  EXPECT_TRUE(t.allows("iqn.x:any", "192.168.55.7"));
  EXPECT_FALSE(t.allows("iqn.x:any", "192.168.56.7"));
}

TEST_F(ImportTgt, LunNumberingFollowsTgt) {
  auto c = sharedisk::config::load_string(import_tgt_file("targets-full.conf").yaml, "x");
  ASSERT_EQ(c.targets.size(), 4u);
  // Included file first (its include line comes first); backing-stores before direct-stores.
  EXPECT_EQ(c.targets[0].luns[0].path, "/dev/sde");
  EXPECT_EQ(c.targets[0].luns[1].path, "/dev/sdc");
  const auto& t5 = c.targets[1];
  ASSERT_EQ(t5.luns.size(), 3u);
  EXPECT_EQ(t5.luns[0].number, 1u);  // explicit lun 1 (direct-store)
  EXPECT_EQ(t5.luns[1].number, 2u);  // first free
  EXPECT_EQ(t5.luns[2].number, 15u);
  EXPECT_FALSE(t5.luns[2].write_cache);
  EXPECT_EQ(t5.luns[2].serial, "SCRATCH-0002");
  for (const auto& l : t5.luns) EXPECT_TRUE(l.read_only);
  EXPECT_EQ(t5.allowed_initiators, std::vector<std::string>{"iqn.1993-08.org.debian:01:odoo1"});
  EXPECT_EQ(c.targets[2].luns[0].type, sharedisk::config::BackingType::kFile);  // /dev/shm file
  EXPECT_EQ(c.targets[3].luns[0].number, 10u);
  EXPECT_EQ(c.targets[3].luns[0].block_size, 4096u);
  EXPECT_TRUE(c.targets[3].allowed_networks.empty());  // ALL
}

TEST_F(ImportTgt, ChapUsersBecomeNotesWithoutPasswords) {
  auto r = import_tgt_file("targets-full.conf");
  EXPECT_EQ(r.yaml.find("secretpass"), std::string::npos);
  bool user1 = false;
  for (const auto& n : r.notes) user1 |= n.find("incominguser user1") != std::string::npos;
  EXPECT_TRUE(user1);
}

TEST_F(ImportTgt, RefusalsNameFileAndLine) {
  struct Case {
    const char* file;
    const char* expect;
  } cases[] = {
      {"bad-unclosed.conf", "bad-unclosed.conf: <target iqn.2019-02.lb2:odcfs2> is not closed"},
      {"bad-directive.conf", "bad-directive.conf:3: unknown tgt directive 'frobnicate'"},
      {"bad-duplicate-path.conf", "already used by targets[0].luns[0].path"},
  };
  for (const Case& c : cases) {
    try {
      import_tgt_file(c.file);
      ADD_FAILURE() << c.file << " was accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(c.expect), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(
      import_tgt_text("<target iqn.2019-02.lb2:x>\nlun 0\nbacking-store /a\n</target>\n", "t"),
      std::runtime_error);
  EXPECT_THROW(import_tgt_text("<target NOT-A-NAME>\n</target>\n", "t"), std::runtime_error);
  EXPECT_THROW(import_tgt_text("default-driver iser\n", "t"), std::runtime_error);
}

TEST_F(ImportTgt, PortalOption) {
  sharedisk::daemon::ImportOptions o;
  o.portals = {"192.168.55.102:3260"};
  auto c = sharedisk::config::load_string(import_tgt_file("lb2-dump.conf", o).yaml, "x");
  ASSERT_EQ(c.portals.size(), 1u);
  EXPECT_EQ(c.portals[0].to_string(), "192.168.55.102:3260");
}

// A real tgtd configured with tgtadm, dumped by tgt-admin, converted.
TEST(ImportTgtReal, TgtAdminDumpOfARunningTgtd) {
  if (::geteuid() != 0 || ::access("/usr/sbin/tgtd", X_OK) != 0 ||
      ::access("/usr/sbin/tgt-admin", X_OK) != 0)
    GTEST_SKIP() << "needs root and tgt installed";
  char tmpl[] = "/var/tmp/sd-tgt-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::string img1 = dir + "/t1.img", img2 = dir + "/t2.img";
  std::ofstream(img1).close();
  std::filesystem::resize_file(img1, 16 << 20);
  std::ofstream(img2).close();
  std::filesystem::resize_file(img2, 16 << 20);
  int control = 200 + int(::getpid() % 500);
  std::string c = std::to_string(control);
  pid_t tgtd = ::fork();
  if (tgtd == 0) {
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::execl("/usr/sbin/tgtd", "tgtd", "-f", "--iscsi", "portal=127.0.0.1:0", "-C", c.c_str(),
            (char*)nullptr);
    ::_exit(127);
  }
  auto run = [&](const std::string& cmd) {
    return std::system((cmd + " >/dev/null 2>&1").c_str());
  };
  std::string adm = "tgtadm -C " + c + " --lld iscsi ";
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    up = run(adm + "--op show --mode target") == 0;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(up) << "tgtd did not start";
  EXPECT_EQ(run(adm + "--op new --mode target --tid 1 -T iqn.2019-02.lb2:odcfs2"), 0);
  EXPECT_EQ(run(adm + "--op new --mode logicalunit --tid 1 --lun 1 -b " + img1), 0);
  EXPECT_EQ(run(adm + "--op bind --mode target --tid 1 -I 192.168.55.0/24"), 0);
  EXPECT_EQ(run(adm + "--op new --mode target --tid 2 -T iqn.2019-02.lb2:scratch"), 0);
  EXPECT_EQ(run(adm + "--op new --mode logicalunit --tid 2 --lun 1 -b " + img2), 0);
  EXPECT_EQ(run(adm + "--op bind --mode target --tid 2 -I 10.0.0.5"), 0);
  EXPECT_EQ(run(adm + "--op bind --mode target --tid 2 -Q iqn.1993-08.org.debian:01:odoo1"), 0);
  std::string dump = dir + "/dump.conf";
  EXPECT_EQ(std::system(("tgt-admin -C " + c + " --dump > " + dump).c_str()), 0);
  // tgtd ignores SIGTERM: ask it to exit, and SIGKILL it if it has not within 5 s.
  run(adm + "--op delete --mode system");
  int status;
  pid_t done = 0;
  for (int i = 0; i < 100 && done == 0; ++i) {
    done = ::waitpid(tgtd, &status, WNOHANG);
    if (done == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (done == 0) {
    ::kill(tgtd, SIGKILL);
    ::waitpid(tgtd, &status, 0);
  }

  auto r = import_tgt_file(dump);
  auto cfg = sharedisk::config::load_string(r.yaml, "x");
  ASSERT_EQ(cfg.targets.size(), 2u) << r.yaml;
  for (const auto& t : cfg.targets) {
    ASSERT_EQ(t.luns.size(), 1u);
    if (t.iqn == "iqn.2019-02.lb2:odcfs2") {
      EXPECT_EQ(t.luns[0].path, img1);
      ASSERT_EQ(t.allowed_networks.size(), 1u);
      EXPECT_EQ(t.allowed_networks[0].text, "192.168.55.0/24");
    } else {
      EXPECT_EQ(t.iqn, "iqn.2019-02.lb2:scratch");
      EXPECT_EQ(t.luns[0].path, img2);
      EXPECT_TRUE(t.allows("iqn.1993-08.org.debian:01:odoo1", "10.0.0.5"));
      EXPECT_FALSE(t.allows("iqn.1993-08.org.debian:01:odoo2", "10.0.0.5"));
      EXPECT_FALSE(t.allows("iqn.1993-08.org.debian:01:odoo1", "10.0.0.6"));
    }
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
