// Broken configurations: each must fail with the right file, line, key and reason.
#include <gtest/gtest.h>

#include "config/config.h"

namespace sharedisk::config {
namespace {

struct Broken {
  const char* name;
  const char* yaml;
  int line;
  const char* key;
  const char* fragment;
};

// A valid head used by most cases: lines 1-3, then a target at line 4.
#define HEAD "portals: [127.0.0.1:3260]\ntargets:\n  - iqn: iqn.2019-02.lb2:odcfs2\n"

const Broken kBroken[] = {
    // YAML itself.
    {"syntax", "portals: [127.0.0.1\ntargets:\n", 2, "", "YAML syntax error"},
    {"bad indent", "portals: [127.0.0.1]\n  targets: []\n", 2, "", "YAML syntax error"},
    {"empty file", "", 0, "", "is empty"},
    {"comment only", "# nothing\n", 0, "", "is empty"},
    {"two documents", "portals: [127.0.0.1]\n---\nportals: [127.0.0.2]\n", 3, "",
     "one YAML document"},
    {"root is a list", "- 1\n- 2\n", 1, "", "must be a mapping"},
    // Top level.
    {"unknown key with hint", "portals: [127.0.0.1]\nlog_levle: info\n", 2, "log_levle",
     "did you mean 'log_level'?"},
    {"unknown key, no hint", "portals: [127.0.0.1]\ncolour: blue\n", 2, "colour",
     "valid keys: threads, log_level"},
    {"duplicate key", "portals: [127.0.0.1]\nthreads: 1\nthreads: 2\n", 3, "threads",
     "duplicate key (first given on line 2)"},
    {"portals missing", "threads: 2\n", 1, "portals", "is required"},
    {"portals empty", "portals: []\n", 1, "portals", "at least one portal"},
    {"portals not a list", "portals: 127.0.0.1\n", 1, "portals", "must be a list"},
    {"portal host name", "portals:\n  - 127.0.0.1\n  - lb2:3260\n", 3, "portals[1]",
     "'lb2' is not a numeric IPv4"},
    {"portal bare ipv6", "portals:\n  - ::1\n", 2, "portals[0]", "brackets"},
    {"portal port range", "portals: [\"127.0.0.1:70000\"]\n", 1, "portals[0]",
     "between 1 and 65535"},
    {"portal duplicate", "portals:\n  - 127.0.0.1\n  - 127.0.0.1:3260\n", 3, "portals[1]",
     "already listed as portals[0]"},
    {"portal duplicate v6 spelling", "portals:\n  - \"[::1]\"\n  - \"[0::1]:3260\"\n", 3,
     "portals[1]", "already listed"},
    {"portal wildcard overlap", "portals:\n  - 0.0.0.0:3260\n  - 192.168.55.102:3260\n", 3,
     "portals[1]", "wildcard"},
    {"threads range", "portals: [127.0.0.1]\nthreads: 5000\n", 2, "threads",
     "must be between 0 and 1024 (got 5000)"},
    {"threads negative", "portals: [127.0.0.1]\nthreads: -1\n", 2, "threads", "not a whole number"},
    {"log level", "portals: [127.0.0.1]\nlog_level: loud\n", 2, "log_level", "must be one of"},
    {"admin socket too long",
     "portals: [127.0.0.1]\nadmin_socket: "
     "/run/"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaa.sock\n",
     2, "admin_socket", "at most 107 bytes"},
    {"metrics without port", "portals: [127.0.0.1]\nmetrics:\n  listen: 127.0.0.1\n", 3,
     "metrics.listen", "port is required"},
    {"metrics on a portal", "portals: [127.0.0.1]\nmetrics:\n  listen: 127.0.0.1:3260\n", 3,
     "metrics.listen", "also portals[0]"},
    {"metrics unknown key", "portals: [127.0.0.1]\nmetrics:\n  lisen: 127.0.0.1:9100\n", 3,
     "metrics.lisen", "did you mean 'listen'?"},
    // iscsi section (RFC 7143 section 13 ranges).
    {"mrdsl too small", "portals: [127.0.0.1]\niscsi:\n  max_recv_data_segment_length: 511\n", 3,
     "iscsi.max_recv_data_segment_length", "between 512 and 16777215 (got 511)"},
    {"burst too large", "portals: [127.0.0.1]\niscsi:\n  max_burst_length: 16777216\n", 3,
     "iscsi.max_burst_length", "between 512 and 16777215"},
    {"first burst over max",
     "portals: [127.0.0.1]\niscsi:\n  max_burst_length: 65536\n  first_burst_length: 131072\n", 4,
     "iscsi.first_burst_length", "must not exceed max_burst_length (65536)"},
    {"first burst over default max", "portals: [127.0.0.1]\niscsi:\n  max_burst_length: 4096\n", 3,
     "iscsi.max_burst_length", "first_burst_length (262144) must not exceed"},
    {"outstanding r2t zero", "portals: [127.0.0.1]\niscsi:\n  max_outstanding_r2t: 0\n", 3,
     "iscsi.max_outstanding_r2t", "between 1 and 65535"},
    {"time2wait", "portals: [127.0.0.1]\niscsi:\n  default_time2wait: 3601\n", 3,
     "iscsi.default_time2wait", "between 0 and 3600"},
    {"bool", "portals: [127.0.0.1]\niscsi:\n  initial_r2t: maybe\n", 3, "iscsi.initial_r2t",
     "must be true or false (got 'maybe')"},
    {"queue depth zero", "portals: [127.0.0.1]\niscsi:\n  queue_depth: 0\n", 3, "iscsi.queue_depth",
     "between 1 and 4096"},
    {"iscsi typo", "portals: [127.0.0.1]\niscsi:\n  immediatedata: true\n", 3,
     "iscsi.immediatedata", "did you mean 'immediate_data'?"},
    {"iscsi is a list", "portals: [127.0.0.1]\niscsi: [1]\n", 2, "iscsi", "must be a mapping"},
    // Targets.
    {"targets not a list", "portals: [127.0.0.1]\ntargets:\n  iqn: iqn.2019-02.lb2:x\n", 3,
     "targets", "must be a list"},
    {"iqn missing", "portals: [127.0.0.1]\ntargets:\n  - alias: x\n    luns: []\n", 3,
     "targets[0].iqn", "is required"},
    {"iqn uppercase",
     "portals: [127.0.0.1]\ntargets:\n  - iqn: iqn.2019-02.LB2:odcfs2\n    luns: []\n", 3,
     "targets[0].iqn", "must be lowercase"},
    {"iqn bad date", "portals: [127.0.0.1]\ntargets:\n  - iqn: iqn.2019-2.lb2:x\n    luns: []\n", 3,
     "targets[0].iqn", "iqn.yyyy-mm"},
    {"iqn empty value", "portals: [127.0.0.1]\ntargets:\n  - iqn:\n    luns: []\n", 3,
     "targets[0].iqn", "needs a value"},
    {"duplicate target", HEAD "    luns: []\n  - iqn: iqn.2019-02.lb2:odcfs2\n    luns: []\n", 5,
     "targets[1].iqn", "already used by targets[0].iqn"},
    {"luns missing", HEAD "    alias: a\n", 3, "targets[0].luns", "is required"},
    {"alias control char", HEAD "    alias: \"a\\tb\"\n    luns: []\n", 4, "targets[0].alias",
     "control characters"},
    {"alias not utf-8", HEAD "    alias: caf\xe9\n    luns: []\n", 4, "targets[0].alias",
     "valid UTF-8"},
    {"alias truncated utf-8", HEAD "    alias: caf\xc3\n    luns: []\n", 4, "targets[0].alias",
     "valid UTF-8"},
    {"target queue depth", HEAD "    queue_depth: 99999\n    luns: []\n", 4,
     "targets[0].queue_depth", "between 1 and 4096"},
    {"target typo", HEAD "    lun:\n      - number: 1\n", 4, "targets[0].lun",
     "did you mean 'luns'?"},
    // Access lists.
    {"bad initiator", HEAD "    luns: []\n    access:\n      initiators: [odoo1]\n", 6,
     "targets[0].access.initiators[0]", "must start with 'iqn.'"},
    {"duplicate initiator",
     HEAD "    luns: []\n    access:\n      initiators:\n        - iqn.1993-08.org.debian:01:a\n"
          "        - iqn.1993-08.org.debian:01:A\n",
     8, "targets[0].access.initiators[1]", "must be lowercase"},
    {"network host bits", HEAD "    luns: []\n    access:\n      networks: [192.168.55.1/24]\n", 6,
     "targets[0].access.networks[0]", "host bits set; the network is 192.168.55.0/24"},
    {"network v6 prefix", HEAD "    luns: []\n    access:\n      networks:\n        - fd00::/200\n",
     7, "targets[0].access.networks[0]", "0..128"},
    {"network name", HEAD "    luns: []\n    access:\n      networks: [lan]\n", 6,
     "targets[0].access.networks[0]", "not a numeric"},
    {"duplicate network",
     HEAD
     "    luns: []\n    access:\n      networks:\n        - 10.0.0.0/8\n        - 10.0.0.0/08\n",
     8, "targets[0].access.networks[1]", "already used by targets[0].access.networks[0]"},
    {"access typo", HEAD "    luns: []\n    access:\n      network: [10.0.0.0/8]\n", 6,
     "targets[0].access.network", "did you mean 'networks'?"},
    // LUNs.
    {"lun number missing", HEAD "    luns:\n      - path: a.img\n", 5, "targets[0].luns[0].number",
     "is required"},
    {"lun number range", HEAD "    luns:\n      - number: 16384\n        path: a.img\n", 5,
     "targets[0].luns[0].number", "between 0 and 16383"},
    {"lun number duplicate",
     HEAD
     "    luns:\n      - number: 1\n        path: a.img\n      - number: 1\n        path: b.img\n",
     7, "targets[0].luns[1].number", "LUN '1' is already used by targets[0].luns[0].number"},
    {"block size",
     HEAD "    luns:\n      - number: 1\n        path: a.img\n        block_size: 1024\n", 7,
     "targets[0].luns[0].block_size", "must be 512 or 4096 (got 1024)"},
    {"lun typo",
     HEAD "    luns:\n      - number: 1\n        path: a.img\n        blocksize: 4096\n", 7,
     "targets[0].luns[0].blocksize", "did you mean 'block_size'?"},
    {"path missing", HEAD "    luns:\n      - number: 1\n        size: 1G\n", 5,
     "targets[0].luns[0].path", "is required for a file LUN"},
    {"path empty", HEAD "    luns:\n      - number: 1\n        path: \"\"\n", 6,
     "targets[0].luns[0].path", "must not be empty"},
    {"type unknown", HEAD "    luns:\n      - number: 1\n        path: a.img\n        type: disk\n",
     7, "targets[0].luns[0].type", "must be file, block, memory or rbd (got 'disk')"},
    {"memory with path",
     HEAD
     "    luns:\n      - number: 1\n        type: memory\n        path: a.img\n        size: 1M\n",
     7, "targets[0].luns[0].path", "memory LUN has no backing path"},
    // The fault-injecting store exists only in the daemon's test build.
    {"fault injection outside the test build",
     HEAD "    luns:\n      - number: 1\n        path: a.img\n        size: 1M\n"
          "        fault: {control: /tmp/f}\n",
     8, "targets[0].luns[0].fault", "fault injection is for tests only"},
    {"memory without size", HEAD "    luns:\n      - number: 1\n        type: memory\n", 5,
     "targets[0].luns[0].size", "is required for a memory LUN"},
    {"block with size",
     HEAD "    luns:\n      - number: 1\n        path: /dev/sdb\n        size: 1G\n", 7,
     "targets[0].luns[0].size", "comes from the device"},
    {"size zero", HEAD "    luns:\n      - number: 1\n        path: a.img\n        size: 0\n", 7,
     "targets[0].luns[0].size", "greater than 0"},
    {"size suffix", HEAD "    luns:\n      - number: 1\n        path: a.img\n        size: 1GB\n",
     7, "targets[0].luns[0].size", "unknown size suffix 'GB'"},
    {"size not multiple",
     HEAD "    luns:\n      - number: 1\n        path: a.img\n        block_size: 4096\n        "
          "size: 6K\n",
     8, "targets[0].luns[0].size", "multiple of block_size 4096 (got 6144)"},
    {"read_only not bool",
     HEAD "    luns:\n      - number: 1\n        path: a.img\n        read_only: 2\n", 7,
     "targets[0].luns[0].read_only", "true or false"},
    {"thin bad", HEAD "    luns:\n      - number: 1\n        path: a.img\n        thin: sparse\n",
     7, "targets[0].luns[0].thin", "auto, on or off"},
    {"serial with space",
     HEAD "    luns:\n      - number: 1\n        path: a.img\n        serial: a b\n", 7,
     "targets[0].luns[0].serial", "without spaces"},
    {"serial too long",
     HEAD "    luns:\n      - number: 1\n        path: a.img\n        serial: "
          "abcdefghijklmnopqrstuvwxyz0123456\n",
     7, "targets[0].luns[0].serial", "1 to 32"},
    {"serial duplicate",
     HEAD
     "    luns:\n      - number: 1\n        path: a.img\n        serial: S1\n      - number: 2\n"
     "        path: b.img\n        serial: S1\n",
     10, "targets[0].luns[1].serial", "serial 'S1' is already used by targets[0].luns[0].serial"},
    {"naa type",
     HEAD "    luns:\n      - number: 1\n        path: a.img\n        naa: 1000000000000001\n", 7,
     "targets[0].luns[0].naa", "must be 2, 3, 5 or 6"},
    {"naa length",
     HEAD "    luns:\n      - number: 1\n        path: a.img\n        naa: 6001405000000001\n", 7,
     "targets[0].luns[0].naa", "needs 32 hex digits"},
    {"naa duplicate",
     HEAD "    luns:\n      - number: 1\n        path: a.img\n        naa: 5000c500abcdef01\n"
          "      - number: 2\n        path: b.img\n        naa: 5000C500ABCDEF01\n",
     10, "targets[0].luns[1].naa", "already used by targets[0].luns[0].naa"},
    {"product too long",
     HEAD "    luns:\n      - number: 1\n        path: a.img\n        product: ABCDEFGHIJKLMNOPQ\n",
     7, "targets[0].luns[0].product", "1 to 16"},
    {"same backing twice",
     HEAD "    luns:\n      - number: 1\n        path: /dev/sdb\n  - iqn: iqn.2019-02.lb2:other\n"
          "    luns:\n      - number: 1\n        path: /dev/sdb\n",
     10, "targets[1].luns[0].path", "already used by targets[0].luns[0].path"},
    // gateway: two gateways may not claim one group or relative target port.
    {"gateway group clash",
     "portals: [127.0.0.1:3260]\ngateway:\n  name: a\n  group: 1\n  peers:\n    - name: b\n"
     "      group: 1\n",
     7, "gateway.peers[0].group",
     "target port group 1 is already claimed by gateway 'a' (gateway.group)"},
    {"gateway peers clash",
     "portals: [127.0.0.1:3260]\ngateway:\n  name: a\n  group: 1\n  peers:\n    - name: b\n"
     "      group: 2\n    - name: c\n      group: 2\n",
     9, "gateway.peers[1].group",
     "target port group 2 is already claimed by gateway 'b' (gateway.peers[0].group)"},
    {"gateway port clash",
     "portals: [127.0.0.1:3260]\ngateway:\n  name: a\n  group: 1\n  relative_ports: [1, 5]\n"
     "  peers:\n    - name: b\n      group: 2\n      relative_ports: [5]\n",
     9, "gateway.peers[0].relative_ports[0]",
     "relative target port 5 is already claimed by gateway 'a' (gateway.relative_ports[1])"},
    {"gateway derived port clash",
     "portals: [127.0.0.1:3260]\ngateway:\n  name: a\n  group: 1\n  relative_ports: [2]\n"
     "  peers:\n    - name: b\n      group: 2\n",
     8, "gateway.peers[0].group",
     "relative target port 2 is already claimed by gateway 'a' (gateway.relative_ports[0])"},
    {"gateway name clash",
     "portals: [127.0.0.1:3260]\ngateway:\n  name: a\n  group: 1\n  peers:\n    - name: a\n"
     "      group: 2\n",
     6, "gateway.peers[0].name", "gateway name 'a' is already used by gateway.name"},
    {"gateway group zero", "portals: [127.0.0.1:3260]\ngateway:\n  name: a\n  group: 0\n", 4,
     "gateway.group", "65535"},
    {"gateway without group", "portals: [127.0.0.1:3260]\ngateway:\n  name: a\n", 3,
     "gateway.group", "required"},
    {"gateway dwell too long",
     "portals: [127.0.0.1:3260]\ngateway:\n  name: a\n  group: 1\n  lock_dwell_ms: 5001\n", 5,
     "gateway.lock_dwell_ms", "must be between 0 and 5000 (got 5001)"},
    {"gateway dwell not a number",
     "portals: [127.0.0.1:3260]\ngateway:\n  name: a\n  group: 1\n  lock_dwell_ms: 0.2s\n", 5,
     "gateway.lock_dwell_ms", ""},
    {"gateway peer portal",
     "portals: [127.0.0.1:3260]\ngateway:\n  name: a\n  group: 1\n  peers:\n    - name: b\n"
     "      group: 2\n      portal: somewhere\n",
     8, "gateway.peers[0].portal", ""},
    {"lun is a scalar", HEAD "    luns:\n      - 1\n", 5, "targets[0].luns[0]",
     "must be a mapping"},
    {"value is a list", HEAD "    luns:\n      - number: [1]\n        path: a.img\n", 5,
     "targets[0].luns[0].number", "must be a single value, not a list"},
};

TEST(LoadErrors, EachBrokenConfigNamesFileLineAndKey) {
  for (const Broken& b : kBroken) {
    SCOPED_TRACE(b.name);
    try {
      load_string(b.yaml, "lun.yaml");
      ADD_FAILURE() << "loaded without error: " << b.name;
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.file(), "lun.yaml");
      EXPECT_EQ(e.line(), b.line) << e.what();
      EXPECT_EQ(e.key(), b.key) << e.what();
      EXPECT_NE(e.message().find(b.fragment), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(b.fragment), std::string::npos);
    }
  }
}

TEST(LoadErrors, WhatIsFileLineKeyMessage) {
  try {
    load_string(HEAD
                "    luns:\n      - number: 1\n        path: a.img\n        block_size: 1024\n",
                "lun.yaml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "lun.yaml:7: targets[0].luns[0].block_size: must be 512 or 4096 (got 1024)");
  }
}

TEST(LoadErrors, FormatWithoutLineOrKey) {
  EXPECT_STREQ(ConfigError("a.yaml", 0, "", "cannot read").what(), "a.yaml: cannot read");
  EXPECT_STREQ(ConfigError("a.yaml", 3, "", "bad").what(), "a.yaml:3: bad");
  EXPECT_STREQ(ConfigError("a.yaml", 0, "k", "bad").what(), "a.yaml: k: bad");
}

}  // namespace
}  // namespace sharedisk::config
