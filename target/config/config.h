// lun.yaml: the daemon's whole configuration, loaded and validated up front.
//
// load_file() parses with yaml-cpp and checks every rule before anything is
// opened or created; the first problem is thrown as ConfigError naming the
// file, the line and the key (docs/configuration.md lists every key).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sharedisk::config {

class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, int line, std::string key, std::string message);
  const std::string& file() const { return file_; }
  int line() const { return line_; }               // 1-based; 0 when unknown
  const std::string& key() const { return key_; }  // dotted path, e.g. targets[0].luns[1].size
  const std::string& message() const { return message_; }

 private:
  std::string file_;
  int line_;
  std::string key_;
  std::string message_;
};

struct Endpoint {
  std::string address;  // numeric IPv4 or IPv6 (no brackets), or "0.0.0.0" / "::"
  uint16_t port = 3260;
  std::string to_string() const;  // "127.0.0.1:3260", "[::1]:3260"
  bool v6() const { return address.find(':') != std::string::npos; }
};

// An IPv4 or IPv6 network in CIDR form: 192.168.55.0/24, fd00::/8, 10.0.0.1 (= /32).
struct Network {
  std::string text;  // as written
  bool v6 = false;
  uint8_t addr[16] = {};  // network address (IPv4 in the first 4 bytes)
  uint8_t prefix = 0;
  // True when `address` (numeric text, IPv4, IPv6 or v4-mapped IPv6) is inside.
  bool contains(const std::string& address) const;
};

// Parsers shared with other front ends (tgt import, reload). Each returns an
// empty string on success, else the reason, and leaves `out` filled on success.
// "a.b.c.d[:port]" or "[v6][:port]"; numeric addresses only; the address is
// stored canonical (inet_ntop). default_port 0 means the port is required.
std::string parse_endpoint(const std::string& text, uint16_t default_port, Endpoint& out);
// "a.b.c.d/len", "v6/len" or a bare address (= /32, /128); host bits must be zero.
std::string parse_network(const std::string& text, Network& out);

enum class BackingType { kFile, kBlock, kMemory, kRbd };
enum class Thin { kAuto, kOn, kOff };
const char* to_string(BackingType type);  // "file", "block", "memory", "rbd"
const char* to_string(Thin thin);         // "auto", "on", "off"

// Login authentication (CHAP, RFC 7143 section 12.1.3). Credentials live in
// Auth::secrets_file, never in lun.yaml.
enum class AuthMode { kNone, kChap, kMutual };
const char* to_string(AuthMode mode);  // "none", "chap", "mutual"

// Where a key was given, for errors found after loading (opening an RBD image).
struct KeyLocation {
  int line = 0;
  std::string key;  // dotted path, e.g. targets[0].luns[1].pool
};

// A LUN on a Ceph RBD image (type: rbd).
struct RbdBacking {
  std::string pool;
  std::string image;
  std::string ns;  // `namespace`; empty = the pool's default namespace
  std::string ceph_conf = "/etc/ceph/ceph.conf";
  std::string client = "admin";  // cephx id
  std::string keyring;           // empty: the keyring ceph.conf names
  uint32_t timeout_s = 20;       // `rbd_timeout`: an I/O unanswered this long fails
  // Keys to name when opening fails (the LUN itself where a key was not given).
  KeyLocation at_pool, at_image, at_cluster, at_auth;

  bool operator==(const RbdBacking& o) const {
    return pool == o.pool && image == o.image && ns == o.ns && ceph_conf == o.ceph_conf &&
           client == o.client && keyring == o.keyring && timeout_s == o.timeout_s;
  }
};

struct Lun {
  uint64_t number = 0;
  BackingType type = BackingType::kFile;  // without `type`: stat(path) decides (S_ISBLK)
  std::string path;                       // empty for memory and rbd
  RbdBacking rbd;                         // type rbd only
  std::optional<uint64_t> size;           // bytes; required for memory, creates a missing file
  uint32_t block_size = 512;
  bool read_only = false;
  bool write_cache = true;  // write-back (true) or write-through (false)
  bool direct = true;       // O_DIRECT; false = buffered, on I/O threads
  Thin thin = Thin::kAuto;
  // Filled from a stable hash of target IQN + LUN number when absent; an rbd
  // LUN without them is given rbd_serial()/rbd_naa() once its cluster is known.
  std::string serial;
  std::string naa;             // 16 or 32 hex digits
  bool serial_pinned = false;  // `serial:` was given
  bool naa_pinned = false;     // `naa:` was given
  std::string product;         // INQUIRY product id override (<= 16 chars); empty = default
  // Test builds only (`fault: {control: PATH}`): the fault-injecting store's
  // control file (blockdev/fault_device.h); empty = a normal LUN.
  std::string fault_control;
  int line = 0;  // where the LUN is defined, for messages
};

// `fault:` on a LUN is refused (exit 2) unless the program enabled it before
// loading: only the test build sharedisk-target-faults does.
void allow_fault_injection();
bool fault_injection_allowed();

struct Target {
  std::string iqn;
  std::string alias;
  std::vector<Lun> luns;
  // Access: an initiator may log in when both lists allow it; an empty list allows all.
  std::vector<std::string> allowed_initiators;  // IQN / EUI / NAA names
  std::vector<Network> allowed_networks;
  uint32_t queue_depth = 0;  // per session CmdSN window; 0 = iscsi.queue_depth
  AuthMode auth = AuthMode::kNone;
  // Initiators that may only read this target's LUNs (writes: DATA PROTECT).
  std::vector<std::string> read_only_initiators;
  int line = 0;
  // Both access lists at once; initiator names compare case-insensitively and
  // `address` is the peer's numeric address (IPv4, IPv6 or v4-mapped IPv6).
  bool allows(const std::string& initiator_name, const std::string& address) const;
};

struct Iscsi {
  uint32_t queue_depth = 128;                      // MaxCmdSN - ExpCmdSN + 1 per session
  uint32_t max_recv_data_segment_length = 262144;  // what the target can receive per PDU
  uint32_t max_burst_length = 16776192;
  uint32_t first_burst_length = 262144;
  bool initial_r2t = false;
  bool immediate_data = true;
  uint32_t max_outstanding_r2t = 1;
  uint32_t default_time2wait = 2;
  uint32_t default_time2retain = 0;
  uint32_t nop_interval_s = 5;  // NOP-In ping of an idle initiator; 0 = never
  uint32_t nop_timeout_s = 30;  // no answer for this long: the connection is dropped
  uint32_t login_timeout_s = 15;
  bool digests = true;  // CRC32C header/data digests offered when an initiator asks

  bool operator==(const Iscsi&) const = default;
};

// Bounds on what initiators may make the daemon hold (hostile input).
struct Limits {
  uint32_t max_connections = 1024;             // all connections, logged in or not
  uint32_t max_connections_per_address = 128;  // per initiator IP address
  uint32_t max_sessions_per_initiator = 128;   // per InitiatorName, all targets
  uint32_t max_login_text = 65536;             // login key=value bytes across continued PDUs
  uint32_t max_immediate_commands = 64;        // immediate SCSI commands in flight per session
};

struct AuthSettings {
  std::string secrets_file;  // CHAP credentials; required when any auth is not none
  AuthMode discovery = AuthMode::kNone;
  int line = 0;
};

// ALUA (SPC-4 5.15) across gateways: `gateway:` names this gateway's target
// port group and relative target port identifiers and those of its peers (other
// sharedisk-target daemons exporting the same logical units). Every gateway
// lists every group in REPORT TARGET PORT GROUPS. Groups and relative target
// port identifiers are unique across all gateways of the section.
struct GatewayPeer {
  std::string name;
  uint16_t group = 0;                    // target port group, 1..65535
  std::vector<uint16_t> relative_ports;  // 1..65535; default: {group}
  std::optional<Endpoint> portal;        // where it listens (documentation, status)
  int line = 0;
};

struct Gateway {
  std::string name;
  uint16_t group = 1;
  // This gateway's target ports in order: the iSCSI portal group the daemon
  // serves (tag 1) is the first. Default: {group}.
  std::vector<uint16_t> relative_ports{1};
  std::vector<GatewayPeer> peers;
  // Owner dwell of an rbd LUN's exclusive lock (BlockDevice::set_lock_dwell):
  // a write through a gateway that does not hold the lock waits until the
  // lock last moved at least this long ago. 0: off.
  uint32_t lock_dwell_ms = kDefaultLockDwellMs;
  int line = 0;

  static constexpr uint32_t kDefaultLockDwellMs = 200;
  bool operator==(const Gateway& o) const;
};

struct Config {
  std::string source;  // file name, or "<embedded default>"
  std::vector<Endpoint> portals;
  uint32_t threads = 0;            // network event loops; 0 = one per core
  std::string log_level = "info";  // trace, debug, info, warn, error, critical, off
  Iscsi iscsi;
  std::vector<Target> targets;
  // Where persistent state lives (APTPL persistent reservations, one file per LUN).
  std::string state_dir = "/var/lib/sharedisk";
  std::string admin_socket = "/run/sharedisk/admin.sock";  // Unix socket for status/reload
  struct Metrics {
    std::optional<Endpoint> listen;  // Prometheus HTTP endpoint; absent = off
  } metrics;
  AuthSettings auth;
  Limits limits;
  // Absent: one target port group (1) with relative target port 1, no peers.
  std::optional<Gateway> gateway;
};

// Throws ConfigError. Only stat()s a backing path (to tell a block device from a file when
// `type` is not given); opens or creates nothing.
Config load_file(const std::string& path);
Config load_string(const std::string& yaml_text, const std::string& source_name);

// The README's demo: LUN 1 of iqn.2019-02.lb2:odcfs2 on 127.0.0.1:3260, a 1 GiB
// sparse file at `demo_backing_path`.
Config embedded_default(const std::string& demo_backing_path);

// RFC 3720/7143 iSCSI name rules (iqn., eui., naa.); returns an empty string
// when valid, else the reason.
std::string check_iscsi_name(const std::string& name);

// The default identity of an RBD LUN (type: rbd without serial/naa), the same
// on every gateway exporting the image: FNV-1a 64 of
// "rbd\0<fsid>\0<pool>\0<namespace>\0<image>" (fsid: rados_cluster_fsid),
// as 16 hex digits (serial) and as an NAA type 6 like the default ones.
uint64_t rbd_image_hash(const std::string& fsid, const std::string& pool, const std::string& ns,
                        const std::string& image);
std::string rbd_serial(const std::string& fsid, const std::string& pool, const std::string& ns,
                       const std::string& image);
std::string rbd_naa(const std::string& fsid, const std::string& pool, const std::string& ns,
                    const std::string& image);

// The decoded NAA bytes of a Lun::naa string (8 or 16 bytes).
std::vector<uint8_t> naa_bytes(const std::string& naa_hex);

}  // namespace sharedisk::config
