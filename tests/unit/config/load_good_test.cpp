// Configurations that must load, and what they load to.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>

#include "config/config.h"

namespace sharedisk::config {
namespace {

std::string example(const char* name) {
  return std::string(SHAREDISK_SOURCE_DIR) + "/examples/" + name;
}

TEST(LoadGood, ExampleLunYaml) {
  Config c = load_file(example("lun.yaml"));
  EXPECT_EQ(c.source, example("lun.yaml"));
  ASSERT_EQ(c.portals.size(), 2u);
  EXPECT_EQ(c.portals[0].to_string(), "127.0.0.1:3260");
  EXPECT_EQ(c.portals[1].to_string(), "[::1]:3260");
  EXPECT_EQ(c.threads, 0u);
  ASSERT_EQ(c.targets.size(), 1u);
  const Target& t = c.targets[0];
  EXPECT_EQ(t.iqn, "iqn.2019-02.lb2:odcfs2");
  ASSERT_EQ(t.luns.size(), 2u);
  EXPECT_EQ(t.luns[0].number, 1u);
  EXPECT_EQ(t.luns[0].type, BackingType::kFile);
  EXPECT_EQ(t.luns[0].size, uint64_t{1} << 30);
  EXPECT_EQ(t.luns[1].type, BackingType::kMemory);
  EXPECT_EQ(t.luns[1].block_size, 4096u);
  EXPECT_TRUE(t.luns[1].path.empty());
}

// The two-gateway pair: each names itself and the other, with disjoint groups
// and relative target ports (derived from the groups).
TEST(LoadGood, ExampleGatewayPair) {
  Config a = load_file(example("gateway-a.yaml"));
  Config b = load_file(example("gateway-b.yaml"));
  ASSERT_TRUE(a.gateway && b.gateway);
  EXPECT_EQ(a.gateway->name, "gw-a");
  EXPECT_EQ(a.gateway->group, 1);
  EXPECT_EQ(a.gateway->relative_ports, std::vector<uint16_t>{1});
  ASSERT_EQ(a.gateway->peers.size(), 1u);
  EXPECT_EQ(a.gateway->peers[0].name, "gw-b");
  EXPECT_EQ(a.gateway->peers[0].group, 2);
  EXPECT_EQ(a.gateway->peers[0].relative_ports, std::vector<uint16_t>{2});
  ASSERT_TRUE(a.gateway->peers[0].portal);
  EXPECT_EQ(a.gateway->peers[0].portal->to_string(), b.portals[0].to_string());
  EXPECT_EQ(b.gateway->name, "gw-b");
  EXPECT_EQ(b.gateway->group, 2);
  ASSERT_EQ(b.gateway->peers.size(), 1u);
  EXPECT_EQ(b.gateway->peers[0].group, 1);
  EXPECT_EQ(b.gateway->peers[0].portal->to_string(), a.portals[0].to_string());
  // The same image, identity not pinned: both derive it from the cluster.
  ASSERT_EQ(a.targets.size(), 1u);
  ASSERT_EQ(b.targets.size(), 1u);
  const Lun& la = a.targets[0].luns[0];
  const Lun& lb = b.targets[0].luns[0];
  EXPECT_EQ(la.type, BackingType::kRbd);
  EXPECT_TRUE(la.rbd == lb.rbd);
  EXPECT_FALSE(la.serial_pinned || la.naa_pinned || lb.serial_pinned || lb.naa_pinned);
}

TEST(LoadGood, GatewayExplicitPortsAndNoSection) {
  Config c = load_string(
      "portals: [127.0.0.1:3260]\ngateway:\n  name: a\n  group: 10\n  relative_ports: [3, 4]\n"
      "  peers:\n    - name: b\n      group: 20\n      relative_ports: [5]\n"
      "    - name: c\n      group: 30\n",
      "t.yaml");
  ASSERT_TRUE(c.gateway);
  EXPECT_EQ(c.gateway->relative_ports, (std::vector<uint16_t>{3, 4}));
  ASSERT_EQ(c.gateway->peers.size(), 2u);
  EXPECT_EQ(c.gateway->peers[0].relative_ports, std::vector<uint16_t>{5});
  EXPECT_EQ(c.gateway->peers[1].relative_ports, std::vector<uint16_t>{30});
  EXPECT_FALSE(c.gateway->peers[1].portal);
  EXPECT_EQ(c.gateway->lock_dwell_ms, Gateway::kDefaultLockDwellMs);
  EXPECT_FALSE(load_string("portals: [127.0.0.1:3260]\n", "t.yaml").gateway);
}

TEST(LoadGood, GatewayLockDwell) {
  auto dwell = [](const char* v) {
    return load_string(std::string("portals: [127.0.0.1:3260]\ngateway:\n  name: a\n  group: 1\n"
                                   "  lock_dwell_ms: ") +
                           v + "\n",
                       "t.yaml")
        .gateway->lock_dwell_ms;
  };
  EXPECT_EQ(dwell("0"), 0u);  // off
  EXPECT_EQ(dwell("50"), 50u);
  EXPECT_EQ(dwell("5000"), 5000u);
}

TEST(LoadGood, ExampleLb2Yaml) {
  Config c = load_file(example("lb2.yaml"));
  ASSERT_EQ(c.portals.size(), 1u);
  EXPECT_EQ(c.portals[0].address, "192.168.55.102");
  EXPECT_EQ(c.portals[0].port, 3260);
  ASSERT_EQ(c.targets.size(), 1u);
  const Target& t = c.targets[0];
  EXPECT_EQ(t.iqn, "iqn.2019-02.lb2:odcfs2");
  ASSERT_EQ(t.luns.size(), 1u);
  const Lun& l = t.luns[0];
  EXPECT_EQ(l.number, 1u);
  // A stable name: /dev/sdb can name another disk after a reboot.
  EXPECT_EQ(l.path.rfind("/dev/disk/by-id/", 0), 0u) << l.path;
  EXPECT_EQ(l.type, BackingType::kBlock);  // not there (this is not lb2): a device under /dev/
  EXPECT_FALSE(l.size.has_value());
  EXPECT_FALSE(l.read_only);
  ASSERT_EQ(t.allowed_networks.size(), 1u);
  EXPECT_TRUE(t.allows("iqn.1993-08.org.debian:01:odoo1", "192.168.55.111"));
  EXPECT_TRUE(t.allows("iqn.1993-08.org.debian:01:odoo2", "192.168.55.112"));
  EXPECT_FALSE(t.allows("iqn.1993-08.org.debian:01:odoo1", "192.168.56.111"));
  // Stable identity, and the same as the built-in default's for the same LUN.
  Config again = load_file(example("lb2.yaml"));
  EXPECT_EQ(again.targets[0].luns[0].serial, l.serial);
  EXPECT_EQ(again.targets[0].luns[0].naa, l.naa);
  Config demo = embedded_default("/tmp/x.img");
  EXPECT_EQ(demo.targets[0].luns[0].naa, l.naa);
}

TEST(LoadGood, DefaultsWhenKeysAreOmitted) {
  Config c = load_string(R"(portals: [127.0.0.1]
targets:
  - iqn: iqn.2019-02.lb2:t
    luns:
      - number: 0
        path: disk.img
)",
                         "min.yaml");
  EXPECT_EQ(c.source, "min.yaml");
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.admin_socket, "/run/sharedisk/admin.sock");
  EXPECT_FALSE(c.metrics.listen.has_value());
  EXPECT_EQ(c.iscsi.queue_depth, 128u);
  EXPECT_EQ(c.iscsi.max_recv_data_segment_length, 262144u);
  EXPECT_FALSE(c.iscsi.initial_r2t);
  EXPECT_TRUE(c.iscsi.immediate_data);
  const Target& t = c.targets[0];
  EXPECT_EQ(t.queue_depth, 0u);
  EXPECT_TRUE(t.alias.empty());
  EXPECT_TRUE(t.allowed_initiators.empty());
  EXPECT_TRUE(t.allowed_networks.empty());
  const Lun& l = t.luns[0];
  EXPECT_EQ(l.type, BackingType::kFile);
  EXPECT_FALSE(l.size.has_value());
  EXPECT_EQ(l.block_size, 512u);
  EXPECT_FALSE(l.read_only);
  EXPECT_TRUE(l.write_cache);
  EXPECT_TRUE(l.direct);
  EXPECT_EQ(l.thin, Thin::kAuto);
  EXPECT_EQ(l.serial.size(), 16u);
  EXPECT_EQ(l.naa.size(), 32u);
  EXPECT_TRUE(l.product.empty());
  EXPECT_EQ(l.line, 5);
  EXPECT_EQ(t.line, 3);
}

TEST(LoadGood, EveryKeyGiven) {
  Config c = load_string(R"(threads: 4
log_level: debug
admin_socket: /tmp/sd.sock
metrics:
  listen: "[::1]:9100"
portals:
  - 0.0.0.0:3260
  - "[::]:3260"
  - 127.0.0.1:3261
iscsi:
  queue_depth: 32
  max_recv_data_segment_length: 8192
  max_burst_length: 1048576
  first_burst_length: 65536
  initial_r2t: yes
  immediate_data: no
  max_outstanding_r2t: 4
  default_time2wait: 0
  default_time2retain: 20
  nop_interval: 0
  nop_timeout: 10
  login_timeout: 5
targets:
  - iqn: eui.02004567A425678D
    alias: "Odoo shared disk é"
    queue_depth: 16
    access:
      initiators: [iqn.1993-08.org.debian:01:odoo1, iqn.1993-08.org.debian:01:odoo2]
      networks: [192.168.55.0/24, "fd00:55::/64", 10.1.2.3]
    luns:
      - number: 16383
        type: file
        path: /dev/shm/disk.img
        size: 2GiB
        block_size: 4096
        read_only: true
        write_cache: false
        direct: false
        thin: off
        serial: "SD-0001"
        naa: 5000C500ABCDEF01
        product: "ODOO DISK"
      - number: 0
        type: block
        path: /srv/nbd0
      - number: 7
        type: memory
        size: 1048576
        thin: on
)",
                         "full.yaml");
  EXPECT_EQ(c.threads, 4u);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.admin_socket, "/tmp/sd.sock");
  ASSERT_TRUE(c.metrics.listen.has_value());
  EXPECT_EQ(c.metrics.listen->to_string(), "[::1]:9100");
  ASSERT_EQ(c.portals.size(), 3u);
  EXPECT_EQ(c.portals[1].address, "::");
  EXPECT_EQ(c.iscsi.queue_depth, 32u);
  EXPECT_EQ(c.iscsi.max_recv_data_segment_length, 8192u);
  EXPECT_EQ(c.iscsi.max_burst_length, 1048576u);
  EXPECT_EQ(c.iscsi.first_burst_length, 65536u);
  EXPECT_TRUE(c.iscsi.initial_r2t);
  EXPECT_FALSE(c.iscsi.immediate_data);
  EXPECT_EQ(c.iscsi.max_outstanding_r2t, 4u);
  EXPECT_EQ(c.iscsi.default_time2wait, 0u);
  EXPECT_EQ(c.iscsi.default_time2retain, 20u);
  EXPECT_EQ(c.iscsi.nop_interval_s, 0u);
  EXPECT_EQ(c.iscsi.nop_timeout_s, 10u);
  EXPECT_EQ(c.iscsi.login_timeout_s, 5u);
  const Target& t = c.targets[0];
  EXPECT_EQ(t.alias, "Odoo shared disk \xc3\xa9");
  EXPECT_EQ(t.queue_depth, 16u);
  EXPECT_EQ(t.allowed_initiators.size(), 2u);
  ASSERT_EQ(t.allowed_networks.size(), 3u);
  EXPECT_EQ(t.allowed_networks[2].prefix, 32);
  ASSERT_EQ(t.luns.size(), 3u);
  const Lun& a = t.luns[0];
  EXPECT_EQ(a.number, 16383u);
  EXPECT_EQ(a.type, BackingType::kFile);  // explicit type beats the /dev/ guess
  EXPECT_EQ(a.size, 2ull << 30);
  EXPECT_EQ(a.block_size, 4096u);
  EXPECT_TRUE(a.read_only);
  EXPECT_FALSE(a.write_cache);
  EXPECT_FALSE(a.direct);
  EXPECT_EQ(a.thin, Thin::kOff);
  EXPECT_EQ(a.serial, "SD-0001");
  EXPECT_EQ(a.naa, "5000c500abcdef01");  // normalized to lowercase
  EXPECT_EQ(naa_bytes(a.naa).size(), 8u);
  EXPECT_EQ(a.product, "ODOO DISK");
  EXPECT_EQ(t.luns[1].type, BackingType::kBlock);
  EXPECT_EQ(t.luns[2].type, BackingType::kMemory);
  EXPECT_EQ(t.luns[2].thin, Thin::kOn);
  EXPECT_NE(t.luns[1].serial, t.luns[2].serial);
  EXPECT_NE(t.luns[1].naa, t.luns[2].naa);
}

TEST(LoadGood, ThreadsAutoAndEmptyTargets) {
  Config c = load_string("threads: auto\nportals: [\"[fe80::1]:3260\"]\ntargets: []\n", "x.yaml");
  EXPECT_EQ(c.threads, 0u);
  EXPECT_TRUE(c.targets.empty());
  Config d = load_string("portals: [127.0.0.1]\n", "y.yaml");
  EXPECT_TRUE(d.targets.empty());
}

TEST(LoadGood, SameLunNumberInTwoTargets) {
  Config c = load_string(R"(portals: [127.0.0.1]
targets:
  - iqn: iqn.2019-02.lb2:a
    luns: [{number: 1, path: a.img, size: 1M}]
  - iqn: iqn.2019-02.lb2:b
    luns: [{number: 1, path: b.img, size: 1M}]
)",
                         "two.yaml");
  ASSERT_EQ(c.targets.size(), 2u);
  EXPECT_NE(c.targets[0].luns[0].serial, c.targets[1].luns[0].serial);
  EXPECT_NE(c.targets[0].luns[0].naa, c.targets[1].luns[0].naa);
}

TEST(EmbeddedDefault, IsTheReadmeDemo) {
  Config c = embedded_default("/var/tmp/demo.img");
  EXPECT_EQ(c.source, "<embedded default>");
  ASSERT_EQ(c.portals.size(), 1u);
  EXPECT_EQ(c.portals[0].to_string(), "127.0.0.1:3260");
  ASSERT_EQ(c.targets.size(), 1u);
  EXPECT_EQ(c.targets[0].iqn, "iqn.2019-02.lb2:odcfs2");
  EXPECT_TRUE(c.targets[0].allowed_initiators.empty());
  EXPECT_TRUE(c.targets[0].allowed_networks.empty());
  ASSERT_EQ(c.targets[0].luns.size(), 1u);
  const Lun& l = c.targets[0].luns[0];
  EXPECT_EQ(l.number, 1u);
  EXPECT_EQ(l.type, BackingType::kFile);
  EXPECT_EQ(l.path, "/var/tmp/demo.img");
  EXPECT_EQ(l.size, uint64_t{1} << 30);
  EXPECT_EQ(l.block_size, 512u);
  EXPECT_FALSE(l.serial.empty());
  EXPECT_EQ(naa_bytes(l.naa).size(), 16u);
  // The same LUN written as YAML gets the same identity.
  Config y = load_string(R"(portals: [127.0.0.1]
targets:
  - iqn: iqn.2019-02.lb2:odcfs2
    luns: [{number: 1, path: /var/tmp/demo.img, size: 1G}]
)",
                         "demo.yaml");
  EXPECT_EQ(y.targets[0].luns[0].serial, l.serial);
  EXPECT_EQ(y.targets[0].luns[0].naa, l.naa);
}

TEST(LoadGood, TouchesNoBackingPath) {
  // Missing directories and devices are the daemon's problem; loading neither
  // checks nor creates them.
  std::string missing = ::testing::TempDir() + "sharedisk-config-no-such-dir/lun1.img";
  Config c = load_string(
      "portals: [127.0.0.1]\ntargets:\n  - iqn: iqn.2019-02.lb2:t\n"
      "    luns:\n      - {number: 1, path: " +
          missing + ", size: 1M}\n      - {number: 2, path: /dev/sharedisk-no-such-dev}\n",
      "t.yaml");
  ASSERT_EQ(c.targets[0].luns.size(), 2u);
  EXPECT_EQ(c.targets[0].luns[0].path, missing);
  EXPECT_EQ(c.targets[0].luns[1].type, BackingType::kBlock);
  std::FILE* f = std::fopen(missing.c_str(), "r");
  EXPECT_EQ(f, nullptr);
  if (f) std::fclose(f);
}

// Without `type`, what the path is decides, not its name: a regular file under /dev/shm is a
// file LUN (and may have a size), /dev/null (a character device) is not taken for a disk.
TEST(LoadGood, KindComesFromWhatThePathIs) {
  std::string shm = "/dev/shm/sharedisk-config-kind-" + std::to_string(::getpid()) + ".img";
  std::FILE* f = std::fopen(shm.c_str(), "w");
  ASSERT_NE(f, nullptr) << shm;
  std::fclose(f);
  std::string yaml =
      "portals: [127.0.0.1]\ntargets:\n  - iqn: iqn.2019-02.lb2:t\n    luns:\n"
      "      - {number: 1, path: " +
      shm +
      ", size: 1M}\n"
      "      - {number: 2, path: /dev/shm/sharedisk-config-kind-missing.img, size: 1M}\n"
      "      - {number: 3, path: /dev/null}\n";
  Config c;
  try {
    c = load_string(yaml, "t.yaml");
  } catch (const ConfigError& e) {
    std::remove(shm.c_str());
    FAIL() << e.what();
  }
  std::remove(shm.c_str());
  ASSERT_EQ(c.targets[0].luns.size(), 3u);
  EXPECT_EQ(c.targets[0].luns[0].type, BackingType::kFile);
  EXPECT_EQ(c.targets[0].luns[0].size, uint64_t{1} << 20);
  EXPECT_EQ(c.targets[0].luns[1].type, BackingType::kFile);  // missing, /dev/shm: created
  EXPECT_EQ(c.targets[0].luns[2].type, BackingType::kFile);  // exists, not S_ISBLK
}

TEST(LoadFile, MissingFileNamesItAndTheReason) {
  try {
    load_file("/nonexistent/sharedisk/lun.yaml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.file(), "/nonexistent/sharedisk/lun.yaml");
    EXPECT_EQ(e.line(), 0);
    EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sharedisk::config
