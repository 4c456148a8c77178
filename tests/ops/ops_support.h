// Shared pieces of the ops tests: a temporary directory on disk (under
// /var/tmp), a sharedisk-target child process (start, SIGTERM, SIGKILL, admin requests,
// RSS and fd counts), libiscsi sessions, and a raw-PDU initiator for the
// cases libiscsi cannot produce (a Data-Out sequence cut half-way, a session
// that stops reading, a second login with the same ISID).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

extern "C" {
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
}

#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "child_process.h"
#include "daemon/admin_socket.h"
#include "files.h"
#include "ports.h"
#include "proc_stats.h"
#include "raw_iscsi.h"
#include "temp_dir.h"

namespace ops {

// libiscsi writes without MSG_NOSIGNAL: a daemon killed or closing mid-write
// must fail the write with EPIPE, not kill the test process.
[[maybe_unused]] inline const bool kSigpipeIgnored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

using Clock = std::chrono::steady_clock;
inline constexpr const char* kIqn = "iqn.2019-02.lb2:ops";
inline constexpr const char* kInitiator = "iqn.2026-01.test:ops-initiator";

// On disk (not /dev/shm): durability tests need O_DIRECT and real files.
class TempDir : public sharedisk::test_support::TempDir {
 public:
  TempDir() : sharedisk::test_support::TempDir("/var/tmp", "sd-ops-") {}
};

using sharedisk::test_support::free_port;
using sharedisk::test_support::read_file;
using sharedisk::test_support::write_file;

class Daemon {
 public:
  // `binary`: sharedisk-target, or its test build sharedisk-target-faults.
  explicit Daemon(const TempDir& dir, std::string binary = SHAREDISK_TARGET_BIN)
      : dir_(dir), binary_(std::move(binary)), socket_(dir.file("admin.sock")) {}
  ~Daemon() { stop(); }

  const std::string& socket() const { return socket_; }
  std::string config_path() const { return dir_.file("lun.yaml"); }
  std::string log_path() const { return dir_.file("daemon.log"); }
  pid_t pid() const { return pid_; }

  // Writes lun.yaml, starts the daemon and waits (<= 10 s) for its admin socket.
  void start(const std::string& yaml, unsigned threads = 2) {
    write_file(config_path(), yaml);
    start_existing(threads);
  }
  void start_existing(unsigned threads = 2) {
    pid_ =
        sharedisk::test_support::spawn({binary_, "--config", config_path(), "--threads",
                                        std::to_string(threads), "--admin-socket", socket_},
                                       {.output_path = log_path(), .cwd = "", .as_nobody = false});
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
      sharedisk::daemon::AdminAnswer a;
      std::string err;
      if (sharedisk::daemon::admin_request(socket_, "ping", &a, &err, 500)) return;
      int status;
      if (sharedisk::test_support::has_exited(pid_, &status)) {
        pid_ = -1;
        throw std::runtime_error("daemon exited at start-up:\n" + read_file(log_path()));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("daemon did not come up:\n" + read_file(log_path()));
  }

  // SIGTERM, then SIGKILL after 20 s. Returns the exit status (or -signal).
  int stop() {
    if (pid_ <= 0) return 0;
    ::kill(pid_, SIGTERM);
    return reap(std::chrono::seconds(20));
  }
  void kill9() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    reap(std::chrono::seconds(10));
  }
  void signal(int signo) { ::kill(pid_, signo); }

  sharedisk::daemon::AdminAnswer admin(const std::string& request) {
    sharedisk::daemon::AdminAnswer a;
    std::string err;
    if (!sharedisk::daemon::admin_request(socket_, request, &a, &err, 30000))
      throw std::runtime_error("admin request failed: " + err);
    return a;
  }

  long rss_kb() const { return sharedisk::test_support::rss_kib(pid_); }
  int fd_count() const { return sharedisk::test_support::fd_count(pid_); }

 private:
  int reap(std::chrono::seconds limit) {
    int code = sharedisk::test_support::reap(pid_, limit);
    pid_ = -1;
    return code;
  }
  const TempDir& dir_;
  std::string binary_;
  std::string socket_;
  pid_t pid_ = -1;
};

// A minimal lun.yaml: one target, one file LUN per entry of `luns` (number, path, size).
struct LunSpec {
  int number;
  std::string path;
  std::string size;
  bool write_cache = true;
};
inline std::string config_yaml(uint16_t port, const std::vector<LunSpec>& luns,
                               const std::string& extra_target = "",
                               const std::string& extra_top = "") {
  std::string y = "portals: [127.0.0.1:" + std::to_string(port) + "]\n" + extra_top +
                  "targets:\n  - iqn: " + kIqn + "\n    luns:\n";
  for (const LunSpec& l : luns)
    y += "      - number: " + std::to_string(l.number) + "\n        path: " + l.path +
         (l.size.empty() ? std::string() : "\n        size: " + l.size) +  // empty: the whole file
         "\n        write_cache: " + (l.write_cache ? "true" : "false") + "\n";
  return y + extra_target;
}

// ------------------------------------------------------------ libiscsi

struct IscsiDeleter {
  void operator()(iscsi_context* c) const {
    if (c != nullptr) iscsi_destroy_context(c);
  }
};
using IscsiPtr = std::unique_ptr<iscsi_context, IscsiDeleter>;

inline IscsiPtr iscsi_login(uint16_t port, int lun = 1, const std::string& target = kIqn,
                            const std::string& initiator = kInitiator, uint32_t isid = 0) {
  IscsiPtr c(iscsi_create_context(initiator.c_str()));
  if (!c) return nullptr;
  iscsi_set_targetname(c.get(), target.c_str());
  iscsi_set_session_type(c.get(), ISCSI_SESSION_NORMAL);
  iscsi_set_header_digest(c.get(), ISCSI_HEADER_DIGEST_NONE);
  iscsi_set_noautoreconnect(c.get(), 1);
  if (isid != 0) iscsi_set_isid_random(c.get(), isid, 0);
  std::string portal = "127.0.0.1:" + std::to_string(port);
  if (iscsi_full_connect_sync(c.get(), portal.c_str(), lun) != 0) return nullptr;
  return c;
}

inline bool scsi_ok(scsi_task* t) {
  return t != nullptr && t->status == SCSI_STATUS_GOOD;
}

// The sense of a CHECK CONDITION as "key/asc/ascq", or "good".
inline std::string outcome(scsi_task* t) {
  if (t == nullptr) return "no answer";
  if (t->status == SCSI_STATUS_GOOD) return "good";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%x/%02x/%02x", t->sense.key, t->sense.ascq >> 8,
                t->sense.ascq & 0xFF);
  return buf;
}

inline std::string tur(iscsi_context* c, int lun) {
  scsi_task* t = iscsi_testunitready_sync(c, lun);
  std::string out = outcome(t);
  if (t != nullptr) scsi_free_scsi_task(t);
  return out;
}

// Runs `c` until `done()` or the deadline; false on a connection error or timeout.
template <typename Done>
bool service_until(iscsi_context* c, Done done, std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    pollfd p{iscsi_get_fd(c), short(iscsi_which_events(c)), 0};
    if (::poll(&p, 1, 100) < 0) return false;
    if (iscsi_service(c, p.revents) < 0) return false;
  }
  return true;
}

// ------------------------------------------------------------ raw PDUs

using sharedisk::test_support::Pdu;
using sharedisk::test_support::store_be24;
using sharedisk::test_support::store_be32;

// The shared raw client with what these tests do on it: login, one WRITE
// with R2T-solicited data, and misbehaving on purpose. Every read is bounded
// by 5 s, also a test's own recv() on fd().
class RawInitiator : public sharedisk::test_support::RawIscsiConnection {
 public:
  static constexpr std::chrono::seconds kWait{5};

  bool connect(uint16_t port) {
    if (!RawIscsiConnection::connect(port)) return false;
    set_receive_timeout(kWait);
    return true;
  }
  bool recv_pdu(Pdu* pdu) { return receive(pdu, kWait) == Got::kPdu; }

  // Operational-stage login straight to full feature phase (no security stage).
  bool login(const std::string& target, uint64_t isid, const std::string& extra_keys = "") {
    std::string keys =
        sharedisk::test_support::text_keys({{"InitiatorName", kInitiator},
                                            {"TargetName", target},
                                            {"SessionType", "Normal"},
                                            {"HeaderDigest", "None"},
                                            {"DataDigest", "None"},
                                            {"MaxRecvDataSegmentLength", "262144"}}) +
        extra_keys;
    sharedisk::test_support::LoginHeader h{
        .isid = isid, .itt = itt_++, .cmdsn = cmdsn_, .exp_statsn = expstatsn_};
    Pdu r;
    if (!sharedisk::test_support::login_stage(*this, &h, keys, kWait, 4, &r)) return false;
    expstatsn_ = h.exp_statsn;
    return r.opcode() == 0x23 && r.bhs[36] == 0 && (r.bhs[1] & 0x80) && (r.bhs[1] & 3) == 3;
  }

  // TEST UNIT READY until GOOD (a new nexus first reports its unit attention).
  bool tur() {
    for (int attempt = 0; attempt < 4; ++attempt) {
      uint8_t b[48] = {};
      b[0] = 0x01;
      b[1] = 0x80 | 0x01;  // F, SIMPLE, no data
      b[9] = 1;
      store_be32(b + 16, itt_++);
      store_be32(b + 24, cmdsn_++);
      store_be32(b + 28, expstatsn_);
      if (!send_pdu(b, "")) return false;
      Pdu r;
      if (!recv_pdu(&r) || r.opcode() != 0x21) return false;
      expstatsn_ = r.u32(24) + 1;
      if (r.bhs[3] == 0) return true;
    }
    return false;
  }

  // WRITE(16) of `blocks` 512-byte blocks at `lba` with no immediate data;
  // returns the first R2T (TTT, offset, length) the target sends.
  bool write_command(uint64_t lba, uint32_t blocks, uint32_t* itt, Pdu* r2t) {
    uint8_t b[48] = {};
    b[0] = 0x01;
    b[1] = 0x80 | 0x20 | 0x01;  // F, W, SIMPLE
    b[9] = 1;                   // LUN 1
    *itt = itt_++;
    store_be32(b + 16, *itt);
    store_be32(b + 20, blocks * 512);
    store_be32(b + 24, cmdsn_++);
    store_be32(b + 28, expstatsn_);
    uint8_t* cdb = b + 32;
    cdb[0] = 0x8a;
    for (int i = 0; i < 8; ++i) cdb[2 + i] = uint8_t(lba >> (56 - 8 * i));
    store_be32(cdb + 10, blocks);
    if (!send_pdu(b, "")) return false;
    for (int i = 0; i < 8; ++i) {
      if (!recv_pdu(r2t)) return false;
      if (r2t->opcode() == 0x31) return true;
    }
    return false;
  }

  // Data-Out header (and `data`, possibly only part of the announced length).
  bool data_out(uint32_t itt, uint32_t ttt, uint32_t datasn, uint32_t offset, uint32_t length,
                const uint8_t* data, uint32_t send_bytes, bool final) {
    uint8_t b[48] = {};
    b[0] = 0x05;
    b[1] = final ? 0x80 : 0;
    b[9] = 1;
    store_be24(b + 5, length);
    store_be32(b + 16, itt);
    store_be32(b + 20, ttt);
    store_be32(b + 28, expstatsn_);
    store_be32(b + 36, datasn);
    store_be32(b + 40, offset);
    return send_all(b, 48) && (send_bytes == 0 || send_all(data, send_bytes));
  }

 private:
  uint32_t itt_ = 1;
  uint32_t cmdsn_ = 1;
  uint32_t expstatsn_ = 0;
};

// Counts `needle` in `hay`.
inline size_t count_of(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

// Polls `pred` every 50 ms for at most `limit`.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

}  // namespace ops
