// status, reload and metrics against a running sharedisk-target.
#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <nlohmann/json.hpp>

#include "ops_support.h"

namespace ops {
namespace {

std::string http_get(uint16_t port, const std::string& path) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket s(io);
  s.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
  boost::asio::write(s, boost::asio::buffer(req));
  std::string out;
  boost::system::error_code ec;
  char buf[65536];
  for (;;) {
    size_t n = s.read_some(boost::asio::buffer(buf), ec);
    out.append(buf, n);
    if (ec) break;
  }
  return out;
}

class DaemonOps : public ::testing::Test {
 protected:
  TempDir dir;
  Daemon daemon{dir};
  uint16_t port = free_port();
  std::string lun1 = dir.file("lun1.img");
};

// With a `gateway:` section, status names this gateway and its peers, and
// each LUN's target port groups with the ALUA state this gateway reports.
TEST_F(DaemonOps, StatusShowsTheGatewayAndEachLunsAluaStates) {
  daemon.start(config_yaml(port, {{1, lun1, "32M"}}) +
               "gateway:\n  name: gw-a\n  group: 1\n  peers:\n    - name: gw-b\n"
               "      group: 2\n      portal: 127.0.0.1:3261\n");
  auto text = daemon.admin("status");
  ASSERT_TRUE(text.ok);
  EXPECT_NE(text.body.find("gateway gw-a: target port group 1; peers: gw-b (group 2, "
                           "127.0.0.1:3261)"),
            std::string::npos)
      << text.body;
  EXPECT_NE(text.body.find("alua: group 1 gw-a (this gateway) active/optimized; group 2 gw-b "
                           "active/non-optimized"),
            std::string::npos)
      << text.body;

  auto json = daemon.admin("status --json");
  ASSERT_TRUE(json.ok);
  auto j = nlohmann::json::parse(json.body);
  EXPECT_EQ(j["gateway"]["name"], "gw-a");
  EXPECT_EQ(j["gateway"]["peers"][0]["portal"], "127.0.0.1:3261");
  const auto& alua = j["targets"][0]["luns"][0]["alua"];
  ASSERT_EQ(alua.size(), 2u) << json.body;
  EXPECT_EQ(alua[0]["group"], 1);
  EXPECT_EQ(alua[0]["local"], true);
  EXPECT_EQ(alua[0]["state"], "active/optimized");
  EXPECT_EQ(alua[1]["gateway"], "gw-b");
  EXPECT_EQ(alua[1]["state"], "active/non-optimized");
  EXPECT_EQ(daemon.stop(), 0);
}

TEST_F(DaemonOps, StatusShowsTargetsLunsSessionsAndCounters) {
  daemon.start(config_yaml(port, {{1, lun1, "32M"}}));
  IscsiPtr s = iscsi_login(port, 1, kIqn, kInitiator, 0x123456);
  ASSERT_TRUE(s);
  std::vector<uint8_t> block(4096, 0x5a);
  for (int i = 0; i < 3; ++i) {
    scsi_task* t =
        iscsi_write16_sync(s.get(), 1, uint64_t(i) * 8, block.data(), 4096, 512, 0, 0, 0, 0, 0);
    ASSERT_TRUE(scsi_ok(t));
    scsi_free_scsi_task(t);
  }
  scsi_task* r = iscsi_read16_sync(s.get(), 1, 0, 8192, 512, 0, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(r));
  scsi_free_scsi_task(r);

  auto text = daemon.admin("status");
  ASSERT_TRUE(text.ok);
  EXPECT_NE(text.body.find("target " + std::string(kIqn)), std::string::npos) << text.body;
  EXPECT_NE(text.body.find(lun1 + "  32.0 MiB (33554432 bytes)"), std::string::npos) << text.body;
  EXPECT_NE(text.body.find(std::string(kInitiator) + " isid 0x"), std::string::npos) << text.body;
  EXPECT_NE(text.body.find("from 127.0.0.1"), std::string::npos) << text.body;
  EXPECT_NE(text.body.find("writes 3 (12.0 KiB)"), std::string::npos) << text.body;

  auto json = daemon.admin("status --json");
  ASSERT_TRUE(json.ok);
  for (const std::string& piece :
       {std::string(R"("iqn":")") + kIqn + "\"", R"("backing":")" + lun1 + "\"",
        std::string(R"("size_bytes":33554432)"),
        std::string(R"("write_ops":3,"write_bytes":12288)"), std::string(R"("read_bytes":8192)"),
        std::string(R"("initiator":")") + kInitiator + "\"",
        std::string(R"("address":"127.0.0.1")"), std::string(R"("max_burst_length":)"),
        std::string(R"("immediate_data":)"), std::string(R"("header_digest":"None")")})
    EXPECT_NE(json.body.find(piece), std::string::npos) << piece << "\n" << json.body;
  EXPECT_EQ(json.body.front(), '{');

  // The CLI front end prints the same through the socket.
  std::string cmd = std::string(SHAREDISK_TARGET_BIN) + " status --json --socket " +
                    daemon.socket() + " > " + dir.file("cli.json");
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_NE(read_file(dir.file("cli.json")).find(R"("write_ops":3)"), std::string::npos);
  EXPECT_FALSE(daemon.admin("bogus").ok);
}

TEST_F(DaemonOps, ReloadAddsAndRemovesWithoutDroppingOthers) {
  std::string second =
      "  - iqn: iqn.2019-02.lb2:second\n    luns:\n      - number: 1\n"
      "        type: memory\n        size: 8M\n";
  daemon.start(config_yaml(port, {{1, lun1, "32M"}}));
  IscsiPtr s = iscsi_login(port);
  ASSERT_TRUE(s);
  EXPECT_FALSE(iscsi_login(port, 1, "iqn.2019-02.lb2:second"));

  // Add a target: the first session stays.
  write_file(daemon.config_path(), config_yaml(port, {{1, lun1, "32M"}}, second));
  auto r = daemon.admin("reload");
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_NE(r.body.find("added target iqn.2019-02.lb2:second"), std::string::npos) << r.body;
  IscsiPtr s2 = iscsi_login(port, 1, "iqn.2019-02.lb2:second");
  ASSERT_TRUE(s2);
  scsi_task* t = iscsi_testunitready_sync(s.get(), 1);
  ASSERT_NE(t, nullptr) << "first session dropped by an unrelated reload";
  scsi_free_scsi_task(t);

  // Add a LUN to the second target (by SIGHUP): in place, the first target is untouched.
  std::string second2 = second + "      - number: 2\n        type: memory\n        size: 4M\n";
  write_file(daemon.config_path(), config_yaml(port, {{1, lun1, "32M"}}, second2));
  daemon.signal(SIGHUP);
  ASSERT_TRUE(eventually(
      [&] { return daemon.admin("status --json").body.find(R"("number":2)") != std::string::npos; },
      std::chrono::seconds(5)));
  EXPECT_TRUE(iscsi_login(port, 2, "iqn.2019-02.lb2:second"));
  t = iscsi_testunitready_sync(s.get(), 1);
  ASSERT_NE(t, nullptr);
  scsi_free_scsi_task(t);

  // Remove the second target again: its logins are refused, the first session goes on.
  write_file(daemon.config_path(), config_yaml(port, {{1, lun1, "32M"}}));
  r = daemon.admin("reload");
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_NE(r.body.find("removed target iqn.2019-02.lb2:second"), std::string::npos);
  EXPECT_FALSE(iscsi_login(port, 1, "iqn.2019-02.lb2:second"));
  t = iscsi_testunitready_sync(s.get(), 1);
  ASSERT_NE(t, nullptr);
  scsi_free_scsi_task(t);
  auto json = daemon.admin("status --json").body;
  EXPECT_EQ(json.find("iqn.2019-02.lb2:second"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("reloads_ok":3)"), std::string::npos) << json;
}

std::vector<uint32_t> report_luns(iscsi_context* c) {
  std::vector<uint32_t> out;
  scsi_task* t = iscsi_reportluns_sync(c, 0, 4096);
  if (t == nullptr || t->status != SCSI_STATUS_GOOD) return out;
  auto* list = static_cast<scsi_reportluns_list*>(scsi_datain_unmarshall(t));
  for (uint32_t i = 0; list != nullptr && i < list->num; ++i) out.push_back(list->luns[i]);
  scsi_free_scsi_task(t);
  return out;
}

// A tsih in `status --json` for the one session, to tell "kept" from "reconnected".
std::string session_tsih(Daemon& d) {
  std::string j = d.admin("status --json").body;
  size_t at = j.find(R"("tsih":)");
  return at == std::string::npos ? "" : j.substr(at, j.find_first_of(",}", at) - at);
}

TEST_F(DaemonOps, ReloadAddsReplacesAndRemovesLunsKeepingTheTargetsSessions) {
  std::string lun2 = dir.file("lun2.img");
  daemon.start(config_yaml(port, {{1, lun1, "32M"}}));
  IscsiPtr s = iscsi_login(port, 1);
  ASSERT_TRUE(s);
  for (int i = 0; i < 8 && tur(s.get(), 1) != "good"; ++i) {
  }
  std::string tsih = session_tsih(daemon);
  ASSERT_FALSE(tsih.empty());
  std::vector<uint8_t> one(4096), two(4096);
  for (size_t i = 0; i < one.size(); ++i) one[i] = uint8_t(i * 7 + 1), two[i] = uint8_t(i * 13 + 5);
  scsi_task* w = iscsi_write16_sync(s.get(), 1, 64, one.data(), 4096, 512, 0, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(w));
  scsi_free_scsi_task(w);

  // Add LUN 2: the logged-in initiator is told (3F/0E on LUN 1), sees it in
  // REPORT LUNS and can use it, all on the same session.
  write_file(daemon.config_path(), config_yaml(port, {{1, lun1, "32M"}, {2, lun2, "16M"}}));
  auto r = daemon.admin("reload");
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_NE(r.body.find("added LUN 2 (sessions kept)"), std::string::npos) << r.body;
  EXPECT_EQ(tur(s.get(), 1), "6/3f/0e");
  EXPECT_EQ(report_luns(s.get()), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(tur(s.get(), 1), "good");  // REPORT LUNS cleared it
  EXPECT_EQ(tur(s.get(), 2), "6/29/00");
  w = iscsi_write16_sync(s.get(), 2, 64, two.data(), 4096, 512, 0, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(w)) << outcome(w);
  scsi_free_scsi_task(w);
  scsi_task* rd = iscsi_read16_sync(s.get(), 2, 64, 4096, 512, 0, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(rd));
  EXPECT_EQ(std::memcmp(rd->datain.data, two.data(), 4096), 0);
  scsi_free_scsi_task(rd);
  rd = iscsi_read16_sync(s.get(), 1, 64, 4096, 512, 0, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(rd));
  EXPECT_EQ(std::memcmp(rd->datain.data, one.data(), 4096), 0) << "LUN 1 data changed";
  scsi_free_scsi_task(rd);
  EXPECT_EQ(session_tsih(daemon), tsih);
  EXPECT_NE(daemon.admin("status").body.find(lun2), std::string::npos);

  // Change LUN 2 (write-through now): replaced under the same number, data kept
  // (same file), the session sees a power-on attention on it only.
  write_file(daemon.config_path(), config_yaml(port, {{1, lun1, "32M"}, {2, lun2, "16M", false}}));
  r = daemon.admin("reload");
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_NE(r.body.find("replaced LUN 2"), std::string::npos) << r.body;
  EXPECT_EQ(tur(s.get(), 1), "good");
  EXPECT_EQ(tur(s.get(), 2), "6/29/00");
  rd = iscsi_read16_sync(s.get(), 2, 64, 4096, 512, 0, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(rd));
  EXPECT_EQ(std::memcmp(rd->datain.data, two.data(), 4096), 0);
  scsi_free_scsi_task(rd);

  // Remove LUN 2: commands to it fail with LOGICAL UNIT NOT SUPPORTED, LUN 1 says why.
  write_file(daemon.config_path(), config_yaml(port, {{1, lun1, "32M"}}));
  r = daemon.admin("reload");
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_NE(r.body.find("removed LUN 2 (sessions kept)"), std::string::npos) << r.body;
  EXPECT_EQ(tur(s.get(), 2), "5/25/00");
  EXPECT_EQ(tur(s.get(), 1), "6/3f/0e");
  EXPECT_EQ(report_luns(s.get()), (std::vector<uint32_t>{1}));
  EXPECT_EQ(tur(s.get(), 1), "good");
  EXPECT_EQ(session_tsih(daemon), tsih);
  auto json = daemon.admin("status --json").body;
  EXPECT_EQ(json.find(lun2), std::string::npos) << json;

  // A LUN whose backing cannot be opened refuses the whole reload.
  write_file(daemon.config_path(),
             config_yaml(port, {{1, lun1, "32M"}, {3, "/nonexistent-dir/x.img", "8M"}}));
  r = daemon.admin("reload");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.body.find("LUN 3"), std::string::npos) << r.body;
  EXPECT_EQ(tur(s.get(), 1), "good");
  EXPECT_EQ(report_luns(s.get()), (std::vector<uint32_t>{1}));
}

// Issue 11, bug 4: a reload that replaces a LUN (a key changed, same logical
// unit) used to start a fresh reservation store, silently dropping every
// registration and reservation under logged-in sessions (and with them a
// cluster's fencing); and a backing that grew never told the initiators.
TEST_F(DaemonOps, ReloadKeepsReservationsAndReportsAGrownBacking) {
  std::string grown = dir.file("grown.img");
  {
    int fd = ::open(grown.c_str(), O_CREAT | O_WRONLY, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, 8 << 20), 0);
    ::close(fd);
  }
  daemon.start(config_yaml(port, {{1, lun1, "32M"}, {2, grown, ""}}));
  IscsiPtr s = iscsi_login(port, 1);
  ASSERT_TRUE(s);
  for (int lun : {1, 2})
    for (int i = 0; i < 8 && tur(s.get(), lun) != "good"; ++i) {
    }
  scsi_persistent_reserve_out_basic reg{};
  reg.service_action_reservation_key = 0x5eed;
  scsi_task* t =
      iscsi_persistent_reserve_out_sync(s.get(), 1, SCSI_PERSISTENT_RESERVE_REGISTER, 0, 0, &reg);
  ASSERT_TRUE(scsi_ok(t)) << outcome(t);
  scsi_free_scsi_task(t);
  scsi_persistent_reserve_out_basic res{};
  res.reservation_key = 0x5eed;
  t = iscsi_persistent_reserve_out_sync(s.get(), 1, SCSI_PERSISTENT_RESERVE_RESERVE, 0,
                                        SCSI_PERSISTENT_RESERVE_TYPE_WRITE_EXCLUSIVE, &res);
  ASSERT_TRUE(scsi_ok(t)) << outcome(t);
  scsi_free_scsi_task(t);

  // LUN 1 becomes write-through (replaced in place); LUN 2's file doubles.
  ASSERT_EQ(::truncate(grown.c_str(), 16 << 20), 0);
  write_file(daemon.config_path(), config_yaml(port, {{1, lun1, "32M", false}, {2, grown, ""}}));
  auto r = daemon.admin("reload");
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_NE(r.body.find("replaced LUN 1"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("LUN 2 capacity changed"), std::string::npos) << r.body;

  EXPECT_EQ(tur(s.get(), 1), "6/29/00");
  t = iscsi_persistent_reserve_in_sync(s.get(), 1, SCSI_PERSISTENT_RESERVE_READ_KEYS, 1024);
  ASSERT_TRUE(scsi_ok(t)) << outcome(t);
  auto* keys = static_cast<scsi_persistent_reserve_in_read_keys*>(scsi_datain_unmarshall(t));
  ASSERT_NE(keys, nullptr);
  ASSERT_EQ(keys->num_keys, 1) << "the registration did not survive the reload";
  EXPECT_EQ(keys->keys[0], 0x5eedu);
  scsi_free_scsi_task(t);
  t = iscsi_persistent_reserve_in_sync(s.get(), 1, SCSI_PERSISTENT_RESERVE_READ_RESERVATION, 1024);
  ASSERT_TRUE(scsi_ok(t)) << outcome(t);
  auto* rr = static_cast<scsi_persistent_reserve_in_read_reservation*>(scsi_datain_unmarshall(t));
  ASSERT_NE(rr, nullptr);
  EXPECT_EQ(rr->reservation_key, 0x5eedu) << "the reservation did not survive the reload";
  EXPECT_EQ(rr->pr_type, SCSI_PERSISTENT_RESERVE_TYPE_WRITE_EXCLUSIVE);
  scsi_free_scsi_task(t);

  EXPECT_EQ(tur(s.get(), 2), "6/2a/09") << "CAPACITY DATA HAS CHANGED";
  t = iscsi_readcapacity16_sync(s.get(), 2);
  ASSERT_TRUE(scsi_ok(t)) << outcome(t);
  auto* cap = static_cast<scsi_readcapacity16*>(scsi_datain_unmarshall(t));
  ASSERT_NE(cap, nullptr);
  EXPECT_EQ(cap->returned_lba + 1, (16u << 20) / 512) << "READ CAPACITY after the growth";
  scsi_free_scsi_task(t);
  // The new blocks can be written and read back.
  std::vector<uint8_t> data(4096, 0x6b);
  uint64_t lba = (16u << 20) / 512 - 8;
  scsi_task* w = iscsi_write16_sync(s.get(), 2, lba, data.data(), 4096, 512, 0, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(w)) << outcome(w);
  scsi_free_scsi_task(w);
  scsi_task* rd = iscsi_read16_sync(s.get(), 2, lba, 4096, 512, 0, 0, 0, 0, 0);
  ASSERT_TRUE(scsi_ok(rd)) << outcome(rd);
  EXPECT_EQ(std::memcmp(rd->datain.data, data.data(), 4096), 0);
  scsi_free_scsi_task(rd);
}

TEST_F(DaemonOps, ReloadAccessListClosesOnlyRevokedSessions) {
  daemon.start(config_yaml(port, {{1, lun1, "32M"}}));
  IscsiPtr a = iscsi_login(port, 1, kIqn, "iqn.2026-01.test:a");
  IscsiPtr b = iscsi_login(port, 1, kIqn, "iqn.2026-01.test:b");
  ASSERT_TRUE(a && b);
  write_file(daemon.config_path(),
             config_yaml(port, {{1, lun1, "32M"}},
                         "    access:\n      initiators: [iqn.2026-01.test:a]\n"));
  auto r = daemon.admin("reload");
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_NE(r.body.find("changed access list"), std::string::npos);
  ASSERT_TRUE(eventually([&] { return count_of(daemon.admin("status").body, "session tsih") == 1; },
                         std::chrono::seconds(5)));
  scsi_task* t = iscsi_testunitready_sync(a.get(), 1);
  ASSERT_NE(t, nullptr);
  scsi_free_scsi_task(t);
  EXPECT_FALSE(iscsi_login(port, 1, kIqn, "iqn.2026-01.test:b"));
  EXPECT_TRUE(iscsi_login(port, 1, kIqn, "iqn.2026-01.test:a"));
}

TEST_F(DaemonOps, BadConfigIsRefusedAndTheRunningOneKept) {
  daemon.start(config_yaml(port, {{1, lun1, "32M"}}));
  IscsiPtr s = iscsi_login(port);
  ASSERT_TRUE(s);
  std::string before = daemon.admin("status").body;

  struct Bad {
    std::string yaml, expect;
  } cases[] = {
      {config_yaml(port, {{1, lun1, "32M"}}) + "      - number: 2\n        path: x.img\n"
                                               "        size: 1K0\n",
       "lun.yaml:11: targets[0].luns[1].size"},
      {config_yaml(port, {{1, lun1, "32M"}}) + "    bogus: 1\n", "unknown key 'bogus'"},
      {"portals: [127.0.0.1:" + std::to_string(port) + "]\ntargets: [\n", "YAML syntax error"},
      // Loads, but the new backing cannot be opened: refused before anything changes.
      {config_yaml(port, {{1, lun1, "32M"}}) +
           "  - iqn: iqn.2019-02.lb2:nobacking\n    luns:\n"
           "      - number: 1\n        path: /nonexistent/x.img\n",
       "backing does not exist"},
  };
  for (const Bad& c : cases) {
    write_file(daemon.config_path(), c.yaml);
    auto r = daemon.admin("reload");
    EXPECT_FALSE(r.ok) << c.yaml;
    EXPECT_NE(r.body.find("reload refused, running configuration kept"), std::string::npos)
        << r.body;
    EXPECT_NE(r.body.find(c.expect), std::string::npos) << r.body;
  }
  // SIGHUP with a bad file: logged with file:line: key, nothing changes.
  write_file(daemon.config_path(), cases[0].yaml);
  daemon.signal(SIGHUP);
  ASSERT_TRUE(eventually(
      [&] {
        return read_file(daemon.log_path()).find("lun.yaml:11: targets[0].luns[1].size") !=
               std::string::npos;
      },
      std::chrono::seconds(5)));
  ASSERT_TRUE(eventually(
      [&] {
        return daemon.admin("status").body.find("reloads: 0 ok, 5 refused") != std::string::npos;
      },
      std::chrono::seconds(5)));
  std::string after = daemon.admin("status").body;
  EXPECT_EQ(count_of(after, "session tsih"), 1u);
  EXPECT_EQ(count_of(after, "LUN "), count_of(before, "LUN "));
  scsi_task* t = iscsi_testunitready_sync(s.get(), 1);
  ASSERT_NE(t, nullptr);
  scsi_free_scsi_task(t);
}

TEST_F(DaemonOps, MetricsScrape) {
  uint16_t mport = free_port();
  daemon.start(config_yaml(port, {{1, lun1, "32M"}}, "",
                           "metrics:\n  listen: 127.0.0.1:" + std::to_string(mport) + "\n"));
  IscsiPtr s = iscsi_login(port);
  ASSERT_TRUE(s);
  std::vector<uint8_t> block(8192, 1);
  for (int i = 0; i < 5; ++i) {
    scsi_task* t = iscsi_write16_sync(s.get(), 1, 0, block.data(), 8192, 512, 0, 0, 0, 0, 0);
    ASSERT_TRUE(scsi_ok(t));
    scsi_free_scsi_task(t);
  }
  EXPECT_FALSE(iscsi_login(port, 1, "iqn.2019-02.lb2:nosuchtarget"));
  std::string m = http_get(mport, "/metrics");
  EXPECT_EQ(m.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << m;
  EXPECT_NE(m.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  std::string L = std::string("target=\"") + kIqn + "\",lun=\"1\"";
  EXPECT_NE(m.find("sharedisk_lun_io_ops_total{" + L + ",op=\"write\"} 5\n"), std::string::npos)
      << m;
  EXPECT_NE(m.find("sharedisk_lun_io_bytes_total{" + L + ",op=\"write\"} 40960\n"),
            std::string::npos);
  EXPECT_NE(m.find("sharedisk_sessions{target=\"" + std::string(kIqn) + "\"} 1\n"),
            std::string::npos);
  EXPECT_NE(m.find("sharedisk_login_failures_total 1\n"), std::string::npos);
  EXPECT_NE(m.find("sharedisk_lun_io_latency_seconds_bucket{" + L + ",le=\"+Inf\"}"),
            std::string::npos);
  EXPECT_EQ(http_get(mport, "/nope").rfind("HTTP/1.1 404", 0), 0u);
}

TEST_F(DaemonOps, SdNotifyReadyAndStopping) {
  // A NOTIFY_SOCKET of our own, as systemd would pass it.
  std::string path = dir.file("notify.sock");
  int fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  daemon.start(config_yaml(port, {{1, lun1, "32M"}}));
  ::unsetenv("NOTIFY_SOCKET");
  auto receive = [&] {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return std::string();
    char buf[512];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    return std::string(buf, size_t(std::max<ssize_t>(n, 0)));
  };
  std::string ready = receive();
  EXPECT_EQ(ready.rfind("READY=1\n", 0), 0u) << ready;
  EXPECT_NE(ready.find("STATUS=serving 1 target(s)"), std::string::npos) << ready;
  EXPECT_NE(ready.find("MAINPID=" + std::to_string(daemon.pid())), std::string::npos);
  ASSERT_TRUE(daemon.admin("reload").ok);
  EXPECT_EQ(receive(), "RELOADING=1");
  EXPECT_EQ(receive().rfind("READY=1", 0), 0u);
  EXPECT_EQ(daemon.stop(), 0);
  EXPECT_EQ(receive(), "STOPPING=1");
  ::close(fd);
}

}  // namespace
}  // namespace ops
