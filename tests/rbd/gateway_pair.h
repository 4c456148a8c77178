// Two gateways of one RBD image on this machine, for the tests: the example
// pair examples/gateway-{a,b}.yaml made runnable here, and REPORT TARGET PORT
// GROUPS decoded.
#pragma once

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "ops_support.h"

namespace ops {

inline std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

// An example gateway file made runnable here: free ports, the test cluster,
// state and admin socket in the test's folder, `image` instead of shared1.
inline std::string example_gateway(const char* name, uint16_t port_a, uint16_t port_b,
                                   const std::string& conf, const TempDir& dir,
                                   const std::string& image = "shared1") {
  std::string y = read_file(std::string(SHAREDISK_SOURCE_DIR) + "/examples/" + name);
  y = replace_all(y, "127.0.0.1:3260", "127.0.0.1:" + std::to_string(port_a));
  y = replace_all(y, "127.0.0.1:3261", "127.0.0.1:" + std::to_string(port_b));
  y = replace_all(y, "/etc/ceph/ceph.conf", conf);
  y = replace_all(y, "/var/lib/sharedisk/gw-a", dir.file("state"));
  y = replace_all(y, "/var/lib/sharedisk/gw-b", dir.file("state"));
  y = replace_all(y, "/run/sharedisk/gw-a.sock", dir.file("admin.sock"));
  y = replace_all(y, "/run/sharedisk/gw-b.sock", dir.file("admin.sock"));
  y = replace_all(y, "image: shared1", "image: " + image);
  return y;
}

constexpr const char* kGatewayIqn = "iqn.2019-02.lb2:odcfs2";

inline std::vector<uint8_t> data_of(scsi_task* t) {
  if (t == nullptr || t->datain.data == nullptr) return {};
  return {t->datain.data, t->datain.data + t->datain.size};
}

struct Group {
  uint8_t state;
  uint16_t id;
  std::vector<uint16_t> ports;
  bool operator==(const Group&) const = default;
  bool operator<(const Group& o) const { return id < o.id; }
};

inline uint16_t be16(const std::vector<uint8_t>& v, size_t at) {
  return uint16_t(v[at] << 8 | v[at + 1]);
}

// REPORT TARGET PORT GROUPS as this path lists them (each gateway its own
// group first). A unit attention (the states changed: 2A/06) is consumed
// and the command sent again; empty when it fails otherwise.
inline std::vector<Group> report_groups(iscsi_context* s) {
  std::vector<uint8_t> d;
  for (int attempt = 0; attempt < 4; ++attempt) {
    unsigned char cdb[12] = {0xA3, 0x0A, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
    scsi_task* t = scsi_create_task(12, cdb, SCSI_XFER_READ, 256);
    t = iscsi_scsi_command_sync(s, 1, t, nullptr);
    if (t == nullptr) return {};
    const bool ok = t->status == SCSI_STATUS_GOOD;
    const bool ua =
        t->status == SCSI_STATUS_CHECK_CONDITION && t->sense.key == SCSI_SENSE_UNIT_ATTENTION;
    if (ok) d = data_of(t);
    scsi_free_scsi_task(t);
    if (!ua) break;
  }
  std::vector<Group> out;
  for (size_t at = 4; at + 8 <= d.size();) {
    Group g{uint8_t(d[at] & 0x0F), be16(d, at + 2), {}};
    for (int i = 0; i < d[at + 7] && at + 12 + 4 * i <= d.size(); ++i)
      g.ports.push_back(be16(d, at + 8 + 4 * i + 2));
    at += 8 + 4 * g.ports.size();
    out.push_back(g);
  }
  return out;
}

// The same, ordered by group id: what must be equal on every path.
inline std::vector<Group> sorted_groups(iscsi_context* s) {
  std::vector<Group> g = report_groups(s);
  std::sort(g.begin(), g.end());
  return g;
}

// Waits (<= `limit`) until every path in `paths` reports `want` (ordered by
// id); what the last path reported otherwise.
inline std::vector<Group> await_groups(const std::vector<iscsi_context*>& paths,
                                       const std::vector<Group>& want,
                                       std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  for (;;) {
    std::vector<Group> seen;
    bool all = true;
    for (iscsi_context* s : paths) {
      seen = sorted_groups(s);
      all = all && seen == want;
    }
    if (all || Clock::now() >= deadline) return seen;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// Gateways A and B of the example pair exporting `image` of the cluster of
// `conf`, started (each in its own folder, on free ports).
// `lock_dwell_ms` >= 0: gateway.lock_dwell_ms on both (else the default).
struct GatewayPair {
  GatewayPair(const std::string& conf, const std::string& image, int lock_dwell_ms = -1) {
    auto yaml = [&](const char* name, const TempDir& dir) {
      std::string y = example_gateway(name, port_a, port_b, conf, dir, image);
      if (lock_dwell_ms >= 0)
        y = replace_all(y, "\ngateway:\n",
                        "\ngateway:\n  lock_dwell_ms: " + std::to_string(lock_dwell_ms) + "\n");
      return y;
    };
    a.start(yaml("gateway-a.yaml", dir_a));
    b.start(yaml("gateway-b.yaml", dir_b));
  }
  // SIGTERM to both; each must exit cleanly.
  void stop() {
    EXPECT_EQ(a.stop(), 0) << read_file(a.log_path());
    EXPECT_EQ(b.stop(), 0) << read_file(b.log_path());
  }
  TempDir dir_a, dir_b;
  uint16_t port_a = uint16_t(free_port()), port_b = uint16_t(free_port());
  Daemon a{dir_a}, b{dir_b};
};

}  // namespace ops
