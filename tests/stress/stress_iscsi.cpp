// Seeded stress test of the target's failure paths (issue 11): N sessions of
// hand-built PDUs (tests/support/raw_iscsi) against a real sharedisk-target,
// mixing WRITEs whose every 512-byte block is stamped (session, write id, LBA,
// generation, CRC32C), verified READs, ABORT TASK, LOGICAL UNIT RESET, two
// TMFs in one segment, session reinstatement with commands in flight,
// PERSISTENT RESERVE OUT PREEMPT AND ABORT, and large R2T-driven writes left
// half-sent (a Data-Out PDU cut in the middle of its payload) while other
// sessions reset the LU, then finished, aborted, or cut off by a connection
// reset and a reinstating login.
//
// One thread drives every session (poll on all sockets), so the order of what
// the client sends is a function of the seed and of what the target answered;
// each session draws its choices from its own generator seeded from --seed.
//
// The model: each block may hold the content of the writes that touched it
// (or zeros, the initial content). A write's content stops being allowed once
// an acknowledged (GOOD) write to the block was issued after the first write
// had settled (its response arrived, a TMF covering it was answered, or the
// session was reinstated) and acknowledged before the read was sent. A write
// that got RESERVATION CONFLICT, UNIT ATTENTION, BUSY or TASK SET FULL never
// happened. Every READ that returns GOOD is checked block by block; a torn
// block (bad CRC), a block of another LBA or a write id outside the allowed set
// fails the run with the seed, the op log tail and the stamp decoded.
// Also failures: a TMF unanswered within --tmf-timeout, a command unanswered
// without another session's reset or preempt to explain it, a PDU for a task
// the target already declared finished, a dropped connection, a daemon crash
// or a non-zero exit. Commands left without any answer after another session's
// LU reset / PREEMPT AND ABORT (Task Aborted Status off) are counted and fail
// the run unless --allow-silent-aborts.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "child_process.h"
#include "files.h"
#include "ports.h"
#include "raw_iscsi.h"
#include "temp_dir.h"
#include "util/crc32c.h"

namespace {

using namespace sharedisk::test_support;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr uint32_t kBlock = 512;
constexpr uint64_t kNever = ~uint64_t(0);
constexpr const char* kIqn = "iqn.2026-12.test.sharedisk:stress";
constexpr uint8_t kPrType = 7;  // Write Exclusive - All Registrants

// ------------------------------------------------------------ options

struct Options {
  uint64_t seed = 1;
  int seconds = 20;
  int sessions = 4;
  int threads = 2;
  uint64_t lun_mib = 16;
  // "file" (a sparse file in a private directory under /var/tmp, opened with
  // O_DIRECT: completions take real time, which the reinstatement race
  // needs), "memory", a file path, or "yaml:KEY: V;KEY: V" (LUN keys other
  // than number and size, e.g. a fault-injecting backing store).
  std::string backing = "file";
  int cmd_timeout_ms = 5000;
  int tmf_timeout_ms = 10000;
  int max_outstanding = 6;
  bool allow_silent_aborts = false;
  bool strict_atomicity = false;  // a block mixing two concurrent writes fails too
  std::string daemon = SHAREDISK_TARGET_BINARY;
  std::string log_file;  // full op log
  bool verbose = false;
  std::string command;  // argv as given, for the rerun line
  // Operations left out (--without), to tell which one a failure needs.
  std::set<std::string> without;
  bool on(const char* op) const { return !without.count(op); }
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "stress_iscsi: %s\n"
               "usage: stress_iscsi [--seed N] [--seconds N] [--sessions N] [--threads N]\n"
               "       [--lun-mib N] [--backing file|memory|PATH|'yaml:KEY: V;...']\n"
               "       [--cmd-timeout-ms N]\n"
               "       [--tmf-timeout-ms N] [--max-outstanding N] [--allow-silent-aborts]\n"
               "       [--strict-atomicity]\n"
               "       [--daemon PATH] [--log FILE] [--verbose]\n"
               "       [--without abort,reset,double-tmf,reinstate,preempt,half-sent]\n",
               why);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 0; i < argc; ++i) o.command += (i ? " " : "") + std::string(argv[i]);
  bool seeded = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value after " + a).c_str());
      return argv[++i];
    };
    auto number = [&](uint64_t lo, uint64_t hi) -> uint64_t {
      std::string v = value();
      char* end = nullptr;
      unsigned long long n = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < lo || n > hi)
        usage((a + ": expected a number in " + std::to_string(lo) + ".." + std::to_string(hi) +
               ", got '" + v + "'")
                  .c_str());
      return n;
    };
    if (a == "--seed") {
      o.seed = number(0, ~0ull);
      seeded = true;
    } else if (a == "--seconds")
      o.seconds = int(number(1, 86400));
    else if (a == "--sessions")
      o.sessions = int(number(2, 16));
    else if (a == "--threads")
      o.threads = int(number(1, 64));
    else if (a == "--lun-mib")
      o.lun_mib = number(1, 1024);
    else if (a == "--backing")
      o.backing = value();
    else if (a == "--cmd-timeout-ms")
      o.cmd_timeout_ms = int(number(100, 600000));
    else if (a == "--tmf-timeout-ms")
      o.tmf_timeout_ms = int(number(100, 600000));
    else if (a == "--max-outstanding")
      o.max_outstanding = int(number(1, 64));
    else if (a == "--allow-silent-aborts")
      o.allow_silent_aborts = true;
    else if (a == "--strict-atomicity")
      o.strict_atomicity = true;
    else if (a == "--daemon")
      o.daemon = value();
    else if (a == "--log")
      o.log_file = value();
    else if (a == "--verbose")
      o.verbose = true;
    else if (a == "--without") {
      std::string list = value() + ",";
      for (size_t p; (p = list.find(',')) != std::string::npos; list.erase(0, p + 1)) {
        std::string op = list.substr(0, p);
        static const std::set<std::string> known{"abort",     "reset",   "double-tmf",
                                                 "reinstate", "preempt", "half-sent"};
        if (!known.count(op))
          usage(("--without: unknown operation '" + op +
                 "' (abort, reset, double-tmf, reinstate, preempt, half-sent)")
                    .c_str());
        o.without.insert(op);
      }
    } else
      usage(("unknown argument " + a).c_str());
  }
  if (!seeded) o.command += " --seed " + std::to_string(o.seed);
  return o;
}

// ------------------------------------------------------------ helpers

void be64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = uint8_t(v >> (56 - 8 * i));
}
uint64_t ld64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}

uint64_t splitmix(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%" PRIx64, v);
  return b;
}

const char* tmf_name(uint8_t f) {
  switch (f) {
    case 1:
      return "ABORT TASK";
    case 5:
      return "LOGICAL UNIT RESET";
    default:
      return "TMF";
  }
}

// ------------------------------------------------------------ the model

struct WriteRec {
  uint32_t id = 0;
  int session = -1;
  uint32_t gen = 0;
  uint64_t lba = 0;
  uint32_t blocks = 0;
  uint64_t issue = 0, ack = kNever, settle = kNever;
  enum State { kPending, kAcked, kNotDone, kUnknown } state = kPending;
  std::string how;  // how it settled
};

const char* state_name(WriteRec::State s) {
  switch (s) {
    case WriteRec::kPending:
      return "pending";
    case WriteRec::kAcked:
      return "acked";
    case WriteRec::kNotDone:
      return "not done";
    case WriteRec::kUnknown:
      return "unknown outcome";
  }
  return "?";
}

struct Stamp {
  bool zero = false, magic = false, crc_ok = false;
  uint32_t session = 0, id = 0, gen = 0, seed32 = 0;
  uint64_t lba = 0;
};

class Model {
 public:
  Model(uint64_t seed, uint64_t blocks) : seed_(seed), writers_(blocks), poisoned_(blocks) {
    WriteRec initial;
    initial.state = WriteRec::kAcked;
    initial.ack = initial.settle = 0;
    initial.how = "initial zeros";
    writes_.push_back(initial);
  }

  uint64_t blocks() const { return writers_.size(); }
  WriteRec& write(uint32_t id) { return writes_[id]; }
  const std::vector<WriteRec>& writes() const { return writes_; }

  uint32_t add_write(int session, uint32_t gen, uint64_t lba, uint32_t blocks, uint64_t tick) {
    WriteRec w;
    w.id = uint32_t(writes_.size());
    w.session = session;
    w.gen = gen;
    w.lba = lba;
    w.blocks = blocks;
    w.issue = tick;
    writes_.push_back(w);
    for (uint64_t b = lba; b < lba + blocks; ++b) writers_[b].push_back(w.id);
    return w.id;
  }

  void fill(uint8_t* p, uint32_t id, uint64_t lba) const {
    const WriteRec& w = writes_[id];
    std::memcpy(p, "SDSTRESS", 8);
    store_be32(p + 8, uint32_t(w.session));
    store_be32(p + 12, id);
    be64(p + 16, lba);
    store_be32(p + 24, w.gen);
    store_be32(p + 28, uint32_t(seed_));
    uint64_t x = seed_ ^ (uint64_t(id) << 24) ^ (lba * 0x100000001b3ull);
    for (size_t i = 32; i < 508; i += 4) store_be32(p + i, uint32_t(splitmix(x)));
    store_be32(p + 508, sharedisk::util::crc32c(p, 508));
  }

  static Stamp decode(const uint8_t* p) {
    Stamp s;
    s.zero = std::all_of(p, p + kBlock, [](uint8_t c) { return c == 0; });
    s.magic = std::memcmp(p, "SDSTRESS", 8) == 0;
    s.crc_ok = load_be32(p + 508) == sharedisk::util::crc32c(p, 508);
    s.session = load_be32(p + 8);
    s.id = load_be32(p + 12);
    s.lba = ld64(p + 16);
    s.gen = load_be32(p + 24);
    s.seed32 = load_be32(p + 28);
    return s;
  }

  std::string describe_stamp(const Stamp& s) const {
    if (s.zero) return "all zeros (initial content)";
    std::ostringstream o;
    if (!s.magic) o << "no stamp magic (garbage), ";
    o << "stamp: session " << s.session << " write " << s.id << " lba " << s.lba << " gen " << s.gen
      << ", crc " << (s.crc_ok ? "ok" : "BAD (torn or foreign bytes)");
    return o.str();
  }

  std::string describe_write(uint32_t id) const {
    const WriteRec& w = writes_[id];
    std::ostringstream o;
    if (id == 0) return "write 0 (initial zeros)";
    o << "write " << id << " (s" << w.session << " gen " << w.gen << ", lba " << w.lba << "+"
      << w.blocks << ", issued #" << w.issue << ", " << state_name(w.state);
    if (w.ack != kNever) o << " acked #" << w.ack;
    if (w.settle != kNever) o << " settled #" << w.settle;
    if (!w.how.empty()) o << ": " << w.how;
    o << ")";
    return o.str();
  }

  // The write ids a block may hold for a read sent at `r_issue` and answered
  // at `r_done`.
  std::vector<uint32_t> allowed(uint64_t lba, uint64_t r_issue, uint64_t r_done) const {
    std::vector<uint32_t> cands{0};
    for (uint32_t id : writers_[lba]) {
      const WriteRec& w = writes_[id];
      if (w.state == WriteRec::kNotDone || w.issue > r_done) continue;
      cands.push_back(id);
    }
    std::vector<uint32_t> out;
    for (uint32_t c : cands) {
      uint64_t settle = writes_[c].settle;
      bool dominated = false;
      if (settle != kNever) {
        for (uint32_t id : writers_[lba]) {
          const WriteRec& w2 = writes_[id];
          if (id != c && w2.state == WriteRec::kAcked && w2.ack < r_issue && w2.issue > settle) {
            dominated = true;
            break;
          }
        }
      }
      if (!dominated) out.push_back(c);
    }
    return out;
  }

  // A block already reported bad is not checked again until an acknowledged
  // write issued after the report replaced it, so that one incident is
  // reported once.
  void poison(uint64_t lba, uint64_t tick) { poisoned_[lba] = tick; }
  bool poisoned(uint64_t lba, uint64_t r_issue) const {
    if (poisoned_[lba] == 0) return false;
    for (uint32_t id : writers_[lba]) {
      const WriteRec& w = writes_[id];
      if (w.state == WriteRec::kAcked && w.issue > poisoned_[lba] && w.ack < r_issue) return false;
    }
    return true;
  }

  // Forgets writes no read can see any more: those dominated for any read
  // sent after `oldest_read_issue`.
  void prune(uint64_t lba, uint64_t oldest_read_issue) {
    auto& v = writers_[lba];
    if (v.size() < 12) return;
    std::vector<uint32_t> keep;
    for (uint32_t c : v) {
      const WriteRec& w = writes_[c];
      bool drop = w.state == WriteRec::kNotDone;
      if (!drop && w.settle != kNever) {
        for (uint32_t id : v) {
          const WriteRec& w2 = writes_[id];
          if (id != c && w2.state == WriteRec::kAcked && w2.ack < oldest_read_issue &&
              w2.issue > w.settle) {
            drop = true;
            break;
          }
        }
      }
      if (!drop) keep.push_back(c);
    }
    v = std::move(keep);
  }

 private:
  uint64_t seed_;
  std::vector<WriteRec> writes_;
  std::vector<std::vector<uint32_t>> writers_;
  std::vector<uint64_t> poisoned_;  // tick a mismatch was reported, 0 = never
};

// ------------------------------------------------------------ daemon

class Daemon {
 public:
  Daemon(const Options& o, const TempDir& dir) : o_(o), dir_(dir) {}
  ~Daemon() {
    if (pid_ > 0) kill_and_reap(pid_);
  }
  bool start(std::string* error) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = free_port();
      std::string lun;
      if (o_.backing == "memory") {
        lun = "        type: memory\n";
      } else if (o_.backing.rfind("yaml:", 0) == 0) {
        // Literal LUN keys (';' separates lines), e.g. a fault-injecting backing.
        std::string keys = o_.backing.substr(5);
        for (size_t p; (p = keys.find(';')) != std::string::npos;) {
          lun += "        " + keys.substr(0, p) + "\n";
          keys.erase(0, p + 1);
        }
        if (!keys.empty()) lun += "        " + keys + "\n";
      } else {
        std::string path = o_.backing == "file" ? disk_dir_.file("stress.img") : o_.backing;
        lun = "        type: file\n        path: " + path + "\n";
      }
      std::string yaml = "log_level: info\nthreads: " + std::to_string(o_.threads) +
                         "\nadmin_socket: " + dir_.file("admin.sock") +
                         "\nstate_dir: " + dir_.path() +
                         "\nportals: [127.0.0.1:" + std::to_string(port_) +
                         "]\ntargets:\n  - iqn: " + kIqn + "\n    luns:\n      - number: 1\n" +
                         lun + "        size: " + std::to_string(o_.lun_mib) + "M\n";
      write_file(dir_.file("lun.yaml"), yaml);
      pid_ = spawn({o_.daemon, "--config", dir_.file("lun.yaml")}, {log(), dir_.path(), false});
      auto deadline = Clock::now() + std::chrono::seconds(30);
      int status = 0;
      while (Clock::now() < deadline) {
        if (has_exited(pid_, &status)) break;
        if (can_connect(port_)) return true;
        std::this_thread::sleep_for(milliseconds(20));
      }
      bool exited = has_exited(pid_, &status);
      if (!exited) kill_and_reap(pid_);
      pid_ = -1;
      std::string out = read_file(log());
      if (exited && out.find("in use") != std::string::npos) continue;
      *error = "daemon did not start:\n" + out;
      return false;
    }
    *error = "no free port";
    return false;
  }
  bool running() {
    int status;
    if (pid_ > 0 && has_exited(pid_, &status)) {
      exit_ = exit_code(status);
      pid_ = -1;
    }
    return pid_ > 0;
  }
  int stop() {
    if (pid_ <= 0) return exit_;
    ::kill(pid_, SIGTERM);
    exit_ = reap(pid_, std::chrono::seconds(60));
    pid_ = -1;
    return exit_;
  }
  int port() const { return port_; }
  std::string log() const { return dir_.file("daemon.log"); }
  std::string tail(size_t lines) const {
    std::string all = read_file(log());
    size_t pos = all.size();
    for (size_t n = 0; n <= lines && pos > 0; ++n) {
      size_t p = all.rfind('\n', pos - 1);
      if (p == std::string::npos) return all;
      pos = p;
    }
    return all.substr(pos + 1);
  }

 private:
  const Options& o_;
  const TempDir& dir_;
  TempDir disk_dir_{"/var/tmp", "sd-stress-"};  // on disk: tmpfs has no O_DIRECT
  pid_t pid_ = -1;
  int port_ = 0;
  int exit_ = 0;
};

// ------------------------------------------------------------ sessions

struct Cmd {
  enum Kind { kWrite, kRead, kPrOut, kTur } kind = kTur;
  uint32_t itt = 0, cmdsn = 0;
  uint64_t lba = 0;
  uint32_t blocks = 0;
  uint32_t wid = 0;       // kWrite
  std::string data;       // write payload, or read data
  uint32_t edtl = 0;      // expected data transfer length
  uint32_t received = 0;  // Data-In bytes
  uint64_t issue = 0;
  Clock::time_point sent_at, last_activity;
  bool abort_requested = false;  // an own TMF covers it
  bool timed_out = false;
  // A write to be left half-sent at its first R2T.
  enum Stall { kNoStall, kMidPdu, kBoundaryAbort, kBoundaryReset } stall = kNoStall;
  bool followup = false;    // read the range back once acknowledged
  uint32_t recheck_of = 0;  // see Intent
  // kPrOut
  uint8_t pr_sa = 0;
  uint64_t pr_key = 0;
  int pr_victim = -1;
  size_t disruption = ~size_t(0);  // index into disruptions_ (PREEMPT AND ABORT)
};

struct Tmf {
  uint32_t itt = 0;
  uint8_t function = 0;
  uint32_t ref = 0;
  uint64_t issue = 0;
  Clock::time_point deadline;
  std::vector<uint32_t> covered;
  size_t disruption = ~size_t(0);
};

struct Intent {
  bool write;
  uint64_t lba;
  uint32_t blocks;
  uint32_t recheck_of = 0;  // a READ re-reading what READ itt `recheck_of` found bad
};

struct Session {
  int idx = 0;
  std::string initiator;
  uint64_t isid = 0;
  std::unique_ptr<RawIscsiConnection> conn;
  uint32_t gen = 0;
  uint32_t cmdsn = 1, maxcmdsn = 1, expstatsn = 0, next_itt = 1;
  uint32_t target_mrdsl = 8192, first_burst = 0, max_burst = 262144;
  bool immediate_data = false;
  std::map<uint32_t, Cmd> cmds;
  std::map<uint32_t, Tmf> tmfs;
  std::set<uint32_t> dead_itts;  // declared finished by a TMF response or reinstatement
  std::deque<Intent> intents;
  std::mt19937_64 rng;
  // Half-sent Data-Out PDU: `owed` payload bytes still to send.
  bool stalled = false;
  uint32_t stall_itt = 0, stall_ttt = 0, stall_offset = 0, stall_length = 0, stall_sent = 0;
  uint32_t stall_burst_end = 0;
  std::string stall_payload;  // the cut PDU's remaining payload
  Clock::time_point stall_until;
  bool stall_reset = false;  // resolve by a connection reset + reinstatement
  enum Reg { kNo, kYes, kUnknown } reg = kNo;
  uint64_t key = 0;
};

struct Disruption {
  int session;
  uint64_t issue, answered = kNever;
  bool effective = true;
};

class Stress {
 public:
  explicit Stress(const Options& o, Daemon& d)
      : o_(o), d_(d), model_(o.seed, o.lun_mib * 1024 * 1024 / kBlock), rng_(o.seed) {}

  int run();

 private:
  // --- logging and failures
  void oplog(const std::string& line) {
    std::string l =
        "[" + std::to_string(ms_since_start()) + "ms #" + std::to_string(tick_) + "] " + line;
    if (o_.verbose) std::fprintf(stderr, "%s\n", l.c_str());
    if (logf_) *logf_ << l << "\n";
    ring_.push_back(std::move(l));
    if (ring_.size() > 400) ring_.pop_front();
  }
  long ms_since_start() const {
    return long(std::chrono::duration_cast<milliseconds>(Clock::now() - start_).count());
  }
  void fail(const std::string& category, const std::string& detail, bool with_log = false) {
    failure_counts_[category]++;
    oplog("FAILURE " + category + ": " + detail.substr(0, detail.find('\n')));
    if (failure_counts_[category] <= 3 && failures_.size() < 20) {
      std::string f = "FAILURE [" + category + "] at " + std::to_string(ms_since_start()) +
                      " ms (seed " + std::to_string(o_.seed) + "):\n" + detail + "\n";
      if (with_log && failure_counts_[category] == 1) {
        f += "--- op log tail (last 80 of the client's operations) ---\n";
        size_t from = ring_.size() > 80 ? ring_.size() - 80 : 0;
        for (size_t i = from; i < ring_.size(); ++i) f += "  " + ring_[i] + "\n";
        f += "--- end of op log tail ---\n";
      }
      failures_.push_back(f);
      std::fprintf(stderr, "%s", f.c_str());
    }
  }

  // --- session plumbing
  bool login(Session& s, std::string* error);
  bool send(Session& s, const uint8_t* bhs, const std::string& data);
  uint32_t issue_scsi(Session& s, Cmd cmd, const uint8_t* cdb, uint8_t cdb_len, uint32_t immediate);
  void issue_write(Session& s, uint64_t lba, uint32_t blocks, Cmd::Stall stall, bool followup);
  void issue_read(Session& s, uint64_t lba, uint32_t blocks, uint32_t recheck_of = 0);
  void issue_tur(Session& s);
  void issue_pr_out(Session& s, uint8_t sa, uint64_t key, uint64_t sa_key, int victim);
  uint32_t send_tmf(Session& s, uint8_t function, uint32_t ref, std::string* batch);
  void abort_task(Session& s, uint32_t itt, const char* why);
  void lun_reset(Session& s, bool with_abort);
  void reinstate(Session& s, bool rst, const char* why);
  void send_data_out(Session& s, Cmd& c, uint32_t ttt, uint32_t offset, uint32_t length,
                     uint32_t burst_end, uint32_t datasn);
  void resolve_stall(Session& s);

  // --- receive side
  void pump(int timeout_ms);
  void on_pdu(Session& s, const Pdu& p);
  void complete(Session& s, Cmd& c, uint8_t status, const std::string& sense_data);
  void settle_unknown(Session& s, uint32_t itt, const std::string& how);
  void verify_read(Session& s, const Cmd& c);
  std::string torn_map(uint64_t lba, const uint8_t* p);
  bool torn_by_allowed(uint64_t lba, const uint8_t* p, const std::vector<uint32_t>& allowed);
  void check_timeouts();

  // --- the workload
  void act(Session& s);
  bool can_issue(const Session& s) const {
    return !s.stalled && s.conn && int(s.cmds.size()) < o_.max_outstanding &&
           int32_t(s.maxcmdsn - s.cmdsn) >= 0;
  }
  uint64_t pick_lba(Session& s, uint32_t blocks) {
    uint64_t space = model_.blocks();
    // Most I/O goes to a hot 1 MiB at the start, so that writes overlap often.
    uint64_t hot = std::min<uint64_t>(space, 2048);
    uint64_t range = (s.rng() % 10 < 7 ? hot : space);
    if (range < blocks) range = blocks;
    return s.rng() % (range - blocks + 1);
  }
  bool drain(std::chrono::seconds limit);
  void final_check();
  uint64_t oldest_read_issue() const;
  bool overlapping_disruption(const Session& s, uint64_t issue) const {
    for (const Disruption& d : disruptions_)
      if (d.session != s.idx && d.effective && d.answered > issue) return true;
    return false;
  }

  const Options& o_;
  Daemon& d_;
  Model model_;
  std::mt19937_64 rng_;
  std::vector<std::unique_ptr<Session>> sessions_;
  std::vector<Disruption> disruptions_;
  uint64_t tick_ = 1;
  Clock::time_point start_ = Clock::now();
  std::deque<std::string> ring_;
  std::unique_ptr<std::ofstream> logf_;
  std::vector<std::string> failures_;
  std::map<std::string, int> failure_counts_;
  int total_failures() const {
    int n = 0;
    for (auto& [k, v] : failure_counts_) n += v;
    return n;
  }
  bool pr_busy_ = false;
  uint64_t key_counter_ = 0;
  std::map<std::string, uint64_t> stats_;
};

// ------------------------------------------------------------ login

std::map<std::string, std::string> parse_keys(const std::string& data) {
  std::map<std::string, std::string> kv;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t end = data.find('\0', pos);
    if (end == std::string::npos) end = data.size();
    std::string item = data.substr(pos, end - pos);
    size_t eq = item.find('=');
    if (eq != std::string::npos) kv[item.substr(0, eq)] = item.substr(eq + 1);
    pos = end + 1;
  }
  return kv;
}

bool Stress::login(Session& s, std::string* error) {
  auto conn = std::make_unique<RawIscsiConnection>();
  if (!conn->connect(d_.port())) {
    *error = "connect refused";
    return false;
  }
  conn->set_send_timeout(std::chrono::seconds(10));
  std::string keys = text_keys({{"InitiatorName", s.initiator},
                                {"TargetName", kIqn},
                                {"SessionType", "Normal"},
                                {"HeaderDigest", "None"},
                                {"DataDigest", "None"},
                                {"MaxRecvDataSegmentLength", "262144"},
                                {"ImmediateData", "Yes"},
                                {"InitialR2T", "No"},
                                {"FirstBurstLength", "65536"},
                                {"MaxBurstLength", "262144"},
                                {"ErrorRecoveryLevel", "0"}});
  LoginHeader h{.isid = s.isid, .itt = s.next_itt++, .cmdsn = s.cmdsn, .exp_statsn = 0};
  Pdu r;
  if (!login_stage(*conn, &h, keys, std::chrono::seconds(10), 4, &r)) {
    *error = "no login response within 10 s";
    return false;
  }
  if (r.opcode() != 0x23 || r.bhs[36] != 0 || (r.bhs[1] & 0x83) != 0x83) {
    *error = "login refused, status " + hex(login_status(r));
    return false;
  }
  auto kv = parse_keys(r.data);
  s.target_mrdsl = kv.count("MaxRecvDataSegmentLength")
                       ? uint32_t(std::stoul(kv["MaxRecvDataSegmentLength"]))
                       : 8192;
  s.first_burst =
      kv.count("FirstBurstLength") ? uint32_t(std::stoul(kv["FirstBurstLength"])) : 65536;
  s.max_burst = kv.count("MaxBurstLength") ? uint32_t(std::stoul(kv["MaxBurstLength"])) : 262144;
  s.immediate_data = kv.count("ImmediateData") ? kv["ImmediateData"] == "Yes" : true;
  s.expstatsn = h.exp_statsn;
  s.cmdsn = r.u32(28);
  s.maxcmdsn = r.u32(32);
  s.conn = std::move(conn);
  return true;
}

bool Stress::send(Session& s, const uint8_t* bhs, const std::string& data) {
  ++tick_;
  if (!s.conn->send_pdu(bhs, data)) {
    fail("connection", "s" + std::to_string(s.idx) + ": send failed (target closed or stalled " +
                           "the connection for 10 s)");
    return false;
  }
  return true;
}

// ------------------------------------------------------------ commands

uint32_t Stress::issue_scsi(Session& s, Cmd cmd, const uint8_t* cdb, uint8_t cdb_len,
                            uint32_t immediate) {
  uint8_t b[48] = {};
  b[0] = 0x01;
  bool write = cmd.kind == Cmd::kWrite || cmd.kind == Cmd::kPrOut;
  bool read = cmd.kind == Cmd::kRead;
  b[1] = uint8_t(0x80 | (read ? 0x40 : 0) | (write ? 0x20 : 0) | 0x01);  // F, R/W, SIMPLE
  b[9] = 1;                                                              // LUN 1
  cmd.itt = s.next_itt++;
  cmd.cmdsn = s.cmdsn++;
  store_be32(b + 16, cmd.itt);
  store_be32(b + 20, cmd.edtl);
  store_be32(b + 24, cmd.cmdsn);
  store_be32(b + 28, s.expstatsn);
  std::memcpy(b + 32, cdb, cdb_len);
  store_be24(b + 5, immediate);
  cmd.issue = tick_ + 1;
  cmd.sent_at = cmd.last_activity = Clock::now();
  uint32_t itt = cmd.itt;
  std::string imm = write ? cmd.data.substr(0, immediate) : std::string();
  auto& stored = s.cmds[itt] = std::move(cmd);
  if (stored.kind == Cmd::kWrite) model_.write(stored.wid).issue = stored.issue;
  send(s, b, imm);
  return itt;
}

void Stress::issue_write(Session& s, uint64_t lba, uint32_t blocks, Cmd::Stall stall,
                         bool followup) {
  Cmd c;
  c.kind = Cmd::kWrite;
  c.lba = lba;
  c.blocks = blocks;
  c.edtl = blocks * kBlock;
  c.stall = stall;
  c.followup = followup;
  c.wid = model_.add_write(s.idx, s.gen, lba, blocks, tick_ + 1);
  c.data.resize(c.edtl);
  for (uint32_t i = 0; i < blocks; ++i)
    model_.fill(reinterpret_cast<uint8_t*>(c.data.data()) + i * kBlock, c.wid, lba + i);
  uint8_t cdb[16] = {0x8a};
  be64(cdb + 2, lba);
  store_be32(cdb + 10, blocks);
  uint32_t immediate = 0;
  if (stall == Cmd::kNoStall && s.immediate_data && s.rng() % 2 == 0)
    immediate = std::min({c.edtl, s.first_burst, s.target_mrdsl, uint32_t(16384)});
  oplog("s" + std::to_string(s.idx) + "." + std::to_string(s.gen) + " WRITE " +
        model_.describe_write(c.wid) + " itt " + std::to_string(s.next_itt) + " cmdsn " +
        std::to_string(s.cmdsn) + (immediate ? " +imm " + std::to_string(immediate) : "") +
        (stall == Cmd::kMidPdu          ? " [to be cut mid Data-Out]"
         : stall == Cmd::kBoundaryAbort ? " [to be aborted half-sent]"
         : stall == Cmd::kBoundaryReset ? " [connection reset half-sent]"
                                        : ""));
  stats_["writes"]++;
  issue_scsi(s, std::move(c), cdb, 16, immediate);
}

void Stress::issue_read(Session& s, uint64_t lba, uint32_t blocks, uint32_t recheck_of) {
  Cmd c;
  c.kind = Cmd::kRead;
  c.recheck_of = recheck_of;
  c.lba = lba;
  c.blocks = blocks;
  c.edtl = blocks * kBlock;
  c.data.assign(c.edtl, '\0');
  uint8_t cdb[16] = {0x88};
  be64(cdb + 2, lba);
  store_be32(cdb + 10, blocks);
  oplog("s" + std::to_string(s.idx) + "." + std::to_string(s.gen) + " READ lba " +
        std::to_string(lba) + "+" + std::to_string(blocks) + " itt " + std::to_string(s.next_itt) +
        (recheck_of ? " (re-read of what READ itt " + std::to_string(recheck_of) + " found bad)"
                    : ""));
  stats_["reads"]++;
  issue_scsi(s, std::move(c), cdb, 16, 0);
}

void Stress::issue_tur(Session& s) {
  Cmd c;
  c.kind = Cmd::kTur;
  uint8_t cdb[6] = {0x00};
  issue_scsi(s, std::move(c), cdb, 6, 0);
}

void Stress::issue_pr_out(Session& s, uint8_t sa, uint64_t key, uint64_t sa_key, int victim) {
  Cmd c;
  c.kind = Cmd::kPrOut;
  c.pr_sa = sa;
  c.pr_key = sa_key;
  c.pr_victim = victim;
  c.edtl = 24;
  c.data.assign(24, '\0');
  auto* p = reinterpret_cast<uint8_t*>(c.data.data());
  be64(p, key);
  be64(p + 8, sa_key);
  uint8_t cdb[10] = {0x5f, sa, uint8_t(sa == 1 || sa == 5 ? kPrType : 0)};
  store_be32(cdb + 5, 24);
  if (sa == 5) {
    disruptions_.push_back({s.idx, tick_ + 1});
    c.disruption = disruptions_.size() - 1;
    stats_["preempt_and_abort"]++;
  }
  const char* name = sa == 6   ? "REGISTER AND IGNORE EXISTING KEY"
                     : sa == 1 ? "RESERVE"
                     : sa == 5 ? "PREEMPT AND ABORT"
                               : "PR OUT";
  oplog("s" + std::to_string(s.idx) + "." + std::to_string(s.gen) + " PERSISTENT RESERVE OUT " +
        name + " key " + hex(key) + " sa_key " + hex(sa_key) +
        (victim >= 0 ? " (victim s" + std::to_string(victim) + ")" : "") + " itt " +
        std::to_string(s.next_itt));
  pr_busy_ = true;
  issue_scsi(s, std::move(c), cdb, 10, s.immediate_data ? 24 : 0);
}

uint32_t Stress::send_tmf(Session& s, uint8_t function, uint32_t ref, std::string* batch) {
  uint8_t b[48] = {};
  b[0] = 0x40 | 0x02;  // immediate TMF request
  b[1] = uint8_t(0x80 | function);
  b[9] = 1;
  Tmf t;
  t.itt = s.next_itt++;
  t.function = function;
  t.ref = ref;
  store_be32(b + 16, t.itt);
  store_be32(b + 20, function == 1 ? ref : 0xffffffff);
  store_be32(b + 24, s.cmdsn);
  store_be32(b + 28, s.expstatsn);
  if (function == 1) {
    auto it = s.cmds.find(ref);
    store_be32(b + 32, it != s.cmds.end() ? it->second.cmdsn : s.cmdsn);  // RefCmdSN
    if (it != s.cmds.end()) {
      it->second.abort_requested = true;
      t.covered.push_back(ref);
    }
  } else {
    for (auto& [itt, c] : s.cmds) {
      c.abort_requested = true;
      t.covered.push_back(itt);
    }
    disruptions_.push_back({s.idx, tick_ + 1});
    t.disruption = disruptions_.size() - 1;
  }
  ++tick_;
  t.issue = tick_;
  t.deadline = Clock::now() + milliseconds(o_.tmf_timeout_ms);
  batch->append(reinterpret_cast<const char*>(b), 48);
  s.tmfs[t.itt] = t;
  return t.itt;
}

void Stress::abort_task(Session& s, uint32_t itt, const char* why) {
  std::string batch;
  uint32_t t = send_tmf(s, 1, itt, &batch);
  oplog("s" + std::to_string(s.idx) + "." + std::to_string(s.gen) + " ABORT TASK itt " +
        std::to_string(itt) + " (" + why + ") tmf itt " + std::to_string(t));
  stats_["abort_task"]++;
  if (!s.conn->send_all(batch.data(), batch.size()))
    fail("connection", "s" + std::to_string(s.idx) + ": send of ABORT TASK failed");
}

void Stress::lun_reset(Session& s, bool with_abort) {
  std::string batch;
  uint32_t t = send_tmf(s, 5, 0, &batch);
  std::string line = "s" + std::to_string(s.idx) + "." + std::to_string(s.gen) +
                     " LOGICAL UNIT RESET tmf itt " + std::to_string(t);
  stats_["lun_reset"]++;
  if (with_abort) {
    // A second TMF in the same segment, as QEMU's libiscsi and the Linux error
    // handler can produce: both must be answered.
    uint32_t ref = s.cmds.empty() ? 0x7ffffff0u : s.cmds.begin()->first;
    uint32_t t2 = send_tmf(s, 1, ref, &batch);
    line += " + ABORT TASK itt " + std::to_string(ref) + " tmf itt " + std::to_string(t2) +
            " in one segment";
    stats_["double_tmf"]++;
  }
  oplog(line);
  if (!s.conn->send_all(batch.data(), batch.size()))
    fail("connection", "s" + std::to_string(s.idx) + ": send of LOGICAL UNIT RESET failed");
}

// Data-Out PDUs for [offset, offset + length) of an R2T's burst that ends at
// `burst_end` (the PDU reaching it carries the F bit).
void Stress::send_data_out(Session& s, Cmd& c, uint32_t ttt, uint32_t offset, uint32_t length,
                           uint32_t burst_end, uint32_t datasn) {
  uint32_t pdu_max = std::min<uint32_t>(s.target_mrdsl, 65536);
  for (uint32_t done = 0; done < length;) {
    uint32_t n = std::min(pdu_max, length - done);
    uint8_t b[48] = {};
    b[0] = 0x05;
    b[1] = offset + done + n == burst_end ? 0x80 : 0;
    b[9] = 1;
    store_be24(b + 5, n);
    store_be32(b + 16, c.itt);
    store_be32(b + 20, ttt);
    store_be32(b + 28, s.expstatsn);
    store_be32(b + 36, datasn++);
    store_be32(b + 40, offset + done);
    if (!send(s, b, c.data.substr(offset + done, n))) return;
    done += n;
  }
}

// A session left mid Data-Out PDU: cut the connection (and reinstate), or
// send the rest of the PDU and of the burst, whatever happened meanwhile: the
// target must drop data of a task it aborted, never put it anywhere else.
void Stress::resolve_stall(Session& s) {
  std::string who = "s" + std::to_string(s.idx) + "." + std::to_string(s.gen);
  if (s.stall_reset) {
    oplog(who + " half-sent write itt " + std::to_string(s.stall_itt) +
          ": connection reset (RST) with the Data-Out PDU cut");
    s.stalled = false;
    reinstate(s, true, "after a connection reset mid Data-Out");
    return;
  }
  oplog(who + " half-sent write itt " + std::to_string(s.stall_itt) + ": sending the last " +
        std::to_string(s.stall_payload.size()) +
        " bytes of the cut Data-Out PDU and the rest of the burst");
  s.stalled = false;
  ++tick_;
  std::string payload = s.stall_payload + std::string((4 - s.stall_length % 4) % 4, '\0');
  if (!s.conn->send_all(payload.data(), payload.size())) {
    fail("connection", who + ": finishing a cut Data-Out PDU failed");
    return;
  }
  auto it = s.cmds.find(s.stall_itt);
  if (it == s.cmds.end()) return;  // answered meanwhile (TASK ABORTED)
  Cmd& c = it->second;
  c.last_activity = Clock::now();
  uint32_t next = s.stall_offset + s.stall_length;
  if (next < s.stall_burst_end)
    send_data_out(s, c, s.stall_ttt, next, s.stall_burst_end - next, s.stall_burst_end, 1);
}

void Stress::reinstate(Session& s, bool rst, const char* why) {
  std::string who = "s" + std::to_string(s.idx);
  std::unique_ptr<RawIscsiConnection> old = std::move(s.conn);
  if (rst && old) old->reset();
  size_t in_flight = s.cmds.size();
  oplog(who + "." + std::to_string(s.gen) + " REINSTATEMENT login (same InitiatorName + ISID " +
        hex(s.isid) + ") " + why + ", " + std::to_string(in_flight) + " commands in flight");
  stats_["reinstatements"]++;
  s.stalled = false;
  std::string error;
  bool ok = false;
  for (int attempt = 0; attempt < 3 && !ok; ++attempt) {
    s.cmdsn = 1;
    ok = login(s, &error);
    if (!ok) std::this_thread::sleep_for(milliseconds(200));
  }
  ++tick_;
  old.reset();  // closes the old connection if it was still open
  if (!ok) {
    fail("reinstatement", who + ": the reinstating login failed: " + error + "\n" + d_.tail(20));
    return;
  }
  s.gen++;
  oplog(who + "." + std::to_string(s.gen) + " reinstated: old session's commands settle here");
  // RFC 7143 6.3.5: the old session's tasks are terminated before the new
  // login is answered, so none of them may act after this point.
  std::vector<Intent> redo;
  for (auto& [itt, c] : s.cmds) {
    if (c.kind == Cmd::kWrite && s.rng() % 10 < 8) redo.push_back({true, c.lba, c.blocks});
  }
  for (auto& [itt, t] : s.tmfs)
    if (t.disruption != ~size_t(0)) disruptions_[t.disruption].answered = tick_;
  std::vector<uint32_t> itts;
  for (auto& [itt, c] : s.cmds) itts.push_back(itt);
  for (uint32_t itt : itts) settle_unknown(s, itt, "its session was reinstated");
  s.tmfs.clear();
  // Overwrite what the old session had in flight, then read it back: an old
  // write landing late shows as its content over the newer acknowledged one.
  for (const Intent& i : redo) s.intents.push_back(i);
}

void Stress::settle_unknown(Session& s, uint32_t itt, const std::string& how) {
  auto it = s.cmds.find(itt);
  if (it == s.cmds.end()) return;
  Cmd& c = it->second;
  if (c.kind == Cmd::kWrite) {
    WriteRec& w = model_.write(c.wid);
    w.state = WriteRec::kUnknown;
    w.settle = tick_;
    w.how = how;
    stats_["writes_unknown"]++;
  }
  if (c.kind == Cmd::kPrOut) {
    pr_busy_ = false;
    Session& me = s;
    if (c.pr_sa == 6) me.reg = Session::kUnknown;
    if (c.pr_victim >= 0) sessions_[size_t(c.pr_victim)]->reg = Session::kUnknown;
    if (c.disruption != ~size_t(0)) disruptions_[c.disruption].answered = tick_;
  }
  s.dead_itts.insert(itt);
  s.cmds.erase(it);
}

// ------------------------------------------------------------ receive

void Stress::pump(int timeout_ms) {
  std::vector<pollfd> fds;
  std::vector<Session*> owners;
  for (auto& s : sessions_) {
    if (!s->conn) continue;
    fds.push_back({s->conn->fd(), POLLIN, 0});
    owners.push_back(s.get());
  }
  if (fds.empty()) return;
  if (::poll(fds.data(), fds.size(), timeout_ms) <= 0) return;
  for (size_t i = 0; i < fds.size(); ++i) {
    if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    Session& s = *owners[i];
    // Every PDU already here; a PDU that has begun must complete within 10 s.
    for (int n = 0; n < 64 && s.conn; ++n) {
      pollfd p{s.conn->fd(), POLLIN, 0};
      if (n > 0 && ::poll(&p, 1, 0) <= 0) break;
      Pdu pdu;
      auto got = s.conn->receive(&pdu, std::chrono::seconds(10));
      if (got != RawIscsiConnection::Got::kPdu) {
        fail("connection",
             "s" + std::to_string(s.idx) + "." + std::to_string(s.gen) +
                 ": the target closed the connection (or sent a partial PDU), " +
                 std::to_string(s.cmds.size()) + " commands in flight; daemon log tail:\n" +
                 d_.tail(15),
             true);
        reinstate(s, false, "after the target dropped the connection");
        break;
      }
      ++tick_;
      on_pdu(s, pdu);
    }
  }
}

void Stress::on_pdu(Session& s, const Pdu& p) {
  std::string who = "s" + std::to_string(s.idx) + "." + std::to_string(s.gen);
  uint8_t op = p.opcode();
  uint32_t itt = p.u32(16);
  auto sn = [&](bool status) {
    if (status) s.expstatsn = std::max<uint32_t>(s.expstatsn, p.u32(24) + 1);
    uint32_t max = p.u32(32);
    if (int32_t(max - s.maxcmdsn) > 0) s.maxcmdsn = max;
  };
  auto stray = [&](const char* what) {
    if (s.dead_itts.count(itt))
      fail("late PDU",
           who + ": " + what + " for itt " + std::to_string(itt) +
               " after the target had declared that task finished (TMF response or "
               "reinstatement)",
           true);
    else
      fail("protocol", who + ": " + what + " for unknown itt " + std::to_string(itt), true);
  };
  switch (op) {
    case 0x20: {  // NOP-In
      sn(false);
      if (p.u32(20) != 0xffffffff) {
        uint8_t b[48] = {};
        b[0] = 0x40;
        b[1] = 0x80;
        store_be32(b + 16, 0xffffffff);
        store_be32(b + 20, p.u32(20));
        store_be32(b + 24, s.cmdsn);
        store_be32(b + 28, s.expstatsn);
        if (!s.stalled) send(s, b, "");
      }
      return;
    }
    case 0x21: {  // SCSI Response
      sn(true);
      auto it = s.cmds.find(itt);
      if (it == s.cmds.end()) return stray("SCSI Response");
      uint8_t response = p.bhs[2], status = p.bhs[3];
      if (response != 0) {
        fail("protocol", who + ": SCSI Response with iSCSI response " + hex(response));
        status = 0xff;
      }
      if (status == 0 && it->second.kind == Cmd::kRead && it->second.received != it->second.edtl)
        fail("protocol", who + ": READ itt " + std::to_string(itt) + " GOOD with " +
                             std::to_string(it->second.received) + " of " +
                             std::to_string(it->second.edtl) + " bytes");
      complete(s, it->second, status, p.data);
      return;
    }
    case 0x25: {  // Data-In
      auto it = s.cmds.find(itt);
      if (it == s.cmds.end()) return stray("Data-In");
      Cmd& c = it->second;
      c.last_activity = Clock::now();
      uint32_t offset = p.u32(40);
      if (c.kind != Cmd::kRead || offset + p.data.size() > c.data.size()) {
        fail("protocol", who + ": Data-In out of range for itt " + std::to_string(itt));
      } else {
        std::memcpy(c.data.data() + offset, p.data.data(), p.data.size());
        c.received += uint32_t(p.data.size());
      }
      if (p.bhs[1] & 0x01) {
        sn(true);
        if (p.bhs[3] == 0 && c.received != c.edtl)
          fail("protocol", who + ": READ itt " + std::to_string(itt) + " GOOD with " +
                               std::to_string(c.received) + " of " + std::to_string(c.edtl) +
                               " bytes");
        complete(s, c, p.bhs[3], "");
      } else {
        sn(false);
      }
      return;
    }
    case 0x31: {  // R2T
      sn(false);
      auto it = s.cmds.find(itt);
      if (it == s.cmds.end()) return stray("R2T");
      Cmd& c = it->second;
      c.last_activity = Clock::now();
      uint32_t ttt = p.u32(20), offset = p.u32(40), length = p.u32(44);
      if (c.abort_requested || s.stalled) return;  // an own TMF is on its way
      if (offset + length > c.data.size()) {
        fail("protocol", who + ": R2T beyond the write's length");
        return;
      }
      uint32_t pdu_max = std::min<uint32_t>(s.target_mrdsl, 65536);
      if (c.stall == Cmd::kMidPdu && length > 1024) {
        c.stall = Cmd::kNoStall;
        uint32_t n = std::min(pdu_max, length);
        uint32_t part = 1 + uint32_t(s.rng() % (n - 1));
        uint8_t b[48] = {};
        b[0] = 0x05;
        b[1] = n == length ? 0x80 : 0;
        b[9] = 1;
        store_be24(b + 5, n);
        store_be32(b + 16, c.itt);
        store_be32(b + 20, ttt);
        store_be32(b + 28, s.expstatsn);
        store_be32(b + 40, offset);
        send(s, b, "");
        // Only part of the payload: the target is left mid-PDU.
        if (!s.conn->send_all(c.data.data() + offset, part)) return;
        s.stalled = true;
        s.stall_itt = itt;
        s.stall_ttt = ttt;
        s.stall_offset = offset;
        s.stall_length = n;
        s.stall_sent = part;
        s.stall_burst_end = offset + length;
        s.stall_payload.assign(c.data, offset + part, n - part);
        s.stall_reset = s.rng() % 3 == 0;
        s.stall_until = Clock::now() + milliseconds(30 + s.rng() % 400);
        stats_["half_sent"]++;
        oplog(who + " R2T for itt " + std::to_string(itt) + " offset " + std::to_string(offset) +
              " length " + std::to_string(length) + ": Data-Out PDU of " + std::to_string(n) +
              " bytes cut after " + std::to_string(part) + " (resolve by " +
              (s.stall_reset ? "connection reset" : "finishing it") + ")");
        // Let another session reset the LU or preempt this one meanwhile.
        Session& other =
            *sessions_[(size_t(s.idx) + 1 + s.rng() % (sessions_.size() - 1)) % sessions_.size()];
        if (s.rng() % 10 < 7 && !other.stalled && other.conn) {
          bool preempt = s.rng() % 3 == 0 || !o_.on("reset");
          if (!o_.on("preempt") && !o_.on("reset")) {
            // neither: the other sessions just keep writing and reading
          } else if (preempt && o_.on("preempt") && !pr_busy_ && other.reg == Session::kYes &&
                     s.reg == Session::kYes && int32_t(other.maxcmdsn - other.cmdsn) >= 0) {
            issue_pr_out(other, 5, other.key, s.key, s.idx);
            s.reg = Session::kNo;  // if it succeeds; a failure marks it unknown
          } else if (o_.on("reset")) {
            lun_reset(other, false);
          }
        }
        return;
      }
      if ((c.stall == Cmd::kBoundaryAbort || c.stall == Cmd::kBoundaryReset) && length > pdu_max) {
        bool reset = c.stall == Cmd::kBoundaryReset;
        c.stall = Cmd::kNoStall;
        uint32_t pdus = (length + pdu_max - 1) / pdu_max;
        uint32_t send_pdus = 1 + uint32_t(s.rng() % (pdus - 1));
        send_data_out(s, c, ttt, offset, send_pdus * pdu_max, offset + length, 0);
        stats_["half_sent"]++;
        oplog(who + " write itt " + std::to_string(itt) + ": " + std::to_string(send_pdus) +
              " of " + std::to_string(pdus) + " Data-Out PDUs sent, then " +
              (reset ? "connection reset" : "ABORT TASK"));
        if (reset)
          reinstate(s, true, "after a connection reset between Data-Out PDUs");
        else
          abort_task(s, itt, "half-sent write");
        return;
      }
      send_data_out(s, c, ttt, offset, length, offset + length, 0);
      return;
    }
    case 0x22: {  // TMF response
      sn(true);
      auto it = s.tmfs.find(itt);
      if (it == s.tmfs.end()) {
        fail("protocol", who + ": TMF response for unknown itt " + std::to_string(itt));
        return;
      }
      Tmf t = it->second;
      s.tmfs.erase(it);
      uint8_t r = p.bhs[2];
      long waited = long(std::chrono::duration_cast<milliseconds>(
                             Clock::now() - (t.deadline - milliseconds(o_.tmf_timeout_ms)))
                             .count());
      oplog(who + " " + tmf_name(t.function) + " tmf itt " + std::to_string(itt) + " answered " +
            std::to_string(r) + " after " + std::to_string(waited) + " ms");
      stats_["tmf_max_ms"] = std::max<uint64_t>(stats_["tmf_max_ms"], uint64_t(waited));
      bool ok = t.function == 1 ? (r == 0 || r == 1) : r == 0;
      if (!ok)
        fail("TMF",
             who + ": " + tmf_name(t.function) + " answered with response " + std::to_string(r));
      if (t.disruption != ~size_t(0)) disruptions_[t.disruption].answered = tick_;
      for (uint32_t c : t.covered) {
        if (s.stalled && s.stall_itt == c) continue;
        settle_unknown(s, c, std::string("aborted by own ") + tmf_name(t.function));
      }
      return;
    }
    case 0x3f:  // Reject
      sn(true);
      if (p.data.size() >= 48 && (uint8_t(p.data[0]) & 0x3f) == 0x05) {
        // Data-Out for a task the target had aborted (maybe without telling
        // us yet): dropping or rejecting it are both safe.
        stats_["rejected_data_out_of_aborted_task"]++;
        return;
      }
      fail("protocol",
           who + ": Reject reason " + hex(p.bhs[2]) + " of a PDU with opcode " +
               hex(p.data.size() >= 1 ? uint8_t(p.data[0]) & 0x3f : 0),
           true);
      return;
    case 0x32:  // Async message
      sn(true);
      oplog(who + " Async Message event " + std::to_string(p.bhs[36]));
      return;
    default:
      fail("protocol", who + ": unexpected PDU opcode " + hex(op));
      return;
  }
}

void Stress::complete(Session& s, Cmd& c, uint8_t status, const std::string& sense_data) {
  std::string who = "s" + std::to_string(s.idx) + "." + std::to_string(s.gen);
  uint8_t key = 0, asc = 0, ascq = 0;
  if (sense_data.size() >= 2 + 14) {
    const auto* d = reinterpret_cast<const uint8_t*>(sense_data.data()) + 2;
    if ((d[0] & 0x7f) >= 0x72) {
      key = d[1] & 0x0f;
      asc = d[2];
      ascq = d[3];
    } else {
      key = d[2] & 0x0f;
      asc = d[12];
      ascq = d[13];
    }
  }
  bool not_done = (status == 2 && key == 6) || status == 0x18 || status == 0x08 || status == 0x28;
  char sb[64];
  std::snprintf(sb, sizeof sb, "status 0x%02x sense %x/%02x/%02x", status, key, asc, ascq);
  if (status == 2 && key == 6) stats_["unit_attentions"]++;
  if (status == 0x18) stats_["reservation_conflicts"]++;
  if (status == 0x40) stats_["task_aborted_status"]++;
  if (status == 2 && key != 6) stats_[std::string("check_condition ") + (sb + 12)]++;
  uint32_t itt = c.itt;
  uint64_t waited =
      uint64_t(std::chrono::duration_cast<milliseconds>(Clock::now() - c.sent_at).count());
  stats_["command_max_ms"] = std::max(stats_["command_max_ms"], waited);
  switch (c.kind) {
    case Cmd::kWrite: {
      WriteRec& w = model_.write(c.wid);
      w.settle = tick_;
      if (status == 0) {
        w.state = WriteRec::kAcked;
        w.ack = tick_;
        w.how = "GOOD";
        stats_["writes_acked"]++;
        if (c.followup || s.rng() % 4 == 0) s.intents.push_back({false, c.lba, c.blocks});
        for (uint64_t b = c.lba; b < c.lba + c.blocks; ++b) model_.prune(b, oldest_read_issue());
      } else if (not_done) {
        w.state = WriteRec::kNotDone;
        w.how = sb;
        stats_["writes_not_done"]++;
        if (status == 0x18 && s.reg == Session::kYes) s.reg = Session::kUnknown;
        if (c.followup) s.intents.push_back({true, c.lba, c.blocks});
      } else {
        w.state = WriteRec::kUnknown;
        w.how = sb;
        stats_["writes_unknown"]++;
      }
      oplog(who + " write " + std::to_string(c.wid) + " itt " + std::to_string(itt) + " " +
            (status == 0 ? "GOOD" : sb));
      break;
    }
    case Cmd::kRead:
      if (status == 0) {
        verify_read(s, c);
      } else {
        oplog(who + " read itt " + std::to_string(itt) + " " + sb);
      }
      break;
    case Cmd::kPrOut: {
      pr_busy_ = false;
      oplog(who + " PR OUT sa " + std::to_string(c.pr_sa) + " itt " + std::to_string(itt) + " " +
            (status == 0 ? "GOOD" : sb));
      if (c.disruption != ~size_t(0)) {
        disruptions_[c.disruption].answered = tick_;
        if (status != 0 && status != 0x40) disruptions_[c.disruption].effective = false;
      }
      if (c.pr_sa == 6) {
        s.reg = status == 0 ? Session::kYes : Session::kUnknown;
        if (status == 0) s.key = c.pr_key;
      } else if (c.pr_sa == 5) {
        Session& v = *sessions_[size_t(c.pr_victim)];
        if (status == 0) {
          v.reg = Session::kNo;
        } else {
          v.reg = Session::kUnknown;
          if (status == 0x18) s.reg = Session::kUnknown;
        }
      }
      break;
    }
    case Cmd::kTur:
      break;
  }
  s.dead_itts.insert(itt);
  s.cmds.erase(itt);
}

uint64_t Stress::oldest_read_issue() const {
  uint64_t oldest = tick_;
  for (auto& s : sessions_)
    for (auto& [itt, c] : s->cmds)
      if (c.kind == Cmd::kRead) oldest = std::min(oldest, c.issue);
  return oldest;
}

// Which write each 32-byte piece of a bad block matches, for a torn block:
// "0-255 w12, 256-511 ?" (? = no write this run made for this LBA).
std::string Stress::torn_map(uint64_t lba, const uint8_t* p) {
  std::vector<uint32_t> cands{0};
  for (uint32_t id = 1; id < model_.writes().size(); ++id) {
    const WriteRec& w = model_.write(id);
    if (lba >= w.lba && lba < w.lba + w.blocks) cands.push_back(id);
  }
  std::string out;
  std::string prev;
  size_t run_start = 0;
  uint8_t expect[kBlock];
  for (size_t piece = 0; piece <= kBlock / 32; ++piece) {
    std::string who = "?";
    if (piece < kBlock / 32) {
      for (auto it = cands.rbegin(); it != cands.rend(); ++it) {
        if (*it == 0)
          std::memset(expect, 0, kBlock);
        else
          model_.fill(expect, *it, lba);
        if (std::memcmp(expect + piece * 32, p + piece * 32, 32) == 0) {
          who = *it == 0 ? "zeros" : "w" + std::to_string(*it);
          break;
        }
      }
    }
    if (piece == kBlock / 32 || (piece > 0 && who != prev)) {
      out += (out.empty() ? "" : ", ") + std::to_string(run_start) + "-" +
             std::to_string(piece * 32 - 1) + " " + prev;
      run_start = piece * 32;
    }
    prev = who;
  }
  return out + " (? = bytes of no write made for this LBA)";
}

bool Stress::torn_by_allowed(uint64_t lba, const uint8_t* p, const std::vector<uint32_t>& allowed) {
  std::vector<std::vector<uint8_t>> images;
  for (uint32_t id : allowed) {
    images.emplace_back(kBlock, 0);
    if (id != 0) model_.fill(images.back().data(), id, lba);
  }
  for (size_t piece = 0; piece < kBlock / 32; ++piece) {
    bool found = false;
    for (const auto& img : images)
      found = found || std::memcmp(img.data() + piece * 32, p + piece * 32, 32) == 0;
    if (!found) return false;
  }
  return true;
}

void Stress::verify_read(Session& s, const Cmd& c) {
  stats_["reads_verified"]++;
  struct Bad {
    uint64_t lba;
    std::string why;
    Stamp st;
  };
  std::vector<Bad> bad;
  for (uint32_t i = 0; i < c.blocks; ++i) {
    uint64_t lba = c.lba + i;
    if (c.recheck_of == 0 && model_.poisoned(lba, c.issue)) {
      stats_["blocks_skipped_reported_bad"]++;
      continue;
    }
    const auto* p = reinterpret_cast<const uint8_t*>(c.data.data()) + i * kBlock;
    Stamp st = Model::decode(p);
    std::vector<uint32_t> allowed = model_.allowed(lba, c.issue, tick_);
    bool ok = false;
    std::string why;
    if (st.zero) {
      ok = std::find(allowed.begin(), allowed.end(), 0u) != allowed.end();
      why = "zeros (initial content), replaced by an acknowledged write before";
    } else if ((!st.magic || !st.crc_ok) && torn_by_allowed(lba, p, allowed)) {
      // Every piece is from a write this block may hold: two overlapping
      // writes (or a read and a write) ran at once and the backing store
      // copied them without making 512 bytes atomic.
      stats_["torn_by_concurrent_io"]++;
      if (!o_.strict_atomicity) {
        if (stats_["torn_by_concurrent_io"] == 1) {
          std::string note = "NOTE (not a failure without --strict-atomicity): s" +
                             std::to_string(s.idx) + " READ itt " + std::to_string(c.itt) +
                             ": block " + std::to_string(lba) +
                             " mixes writes that were in flight together: " + torn_map(lba, p);
          oplog(note);
          std::fprintf(stderr, "%s\n", note.c_str());
        }
        continue;
      }
      why = "torn between concurrent writes (block not written atomically)";
    } else if (!st.magic || !st.crc_ok) {
      why = "torn or foreign block";
    } else if (st.lba != lba) {
      why = "data written for another LBA";
    } else if (st.id >= model_.writes().size() || st.seed32 != uint32_t(o_.seed)) {
      why = "stamp of a write this run never issued";
    } else if (std::find(allowed.begin(), allowed.end(), st.id) == allowed.end()) {
      const WriteRec& w = model_.write(st.id);
      why = w.state == WriteRec::kNotDone
                ? "content of a write the target refused (never executed)"
                : "content of a write that a newer acknowledged write had replaced";
    } else {
      uint8_t expect[kBlock];
      model_.fill(expect, st.id, lba);
      ok = std::memcmp(expect, p, kBlock) == 0;
      why = "right stamp, wrong bytes";
    }
    stats_["blocks_verified"]++;
    if (!ok) bad.push_back({lba, why, st});
  }
  if (c.recheck_of != 0) {
    std::string line =
        "re-read of the range READ itt " + std::to_string(c.recheck_of) + " found bad: " +
        (bad.empty()
             ? std::string("all blocks good now, so only that READ's data "
                           "was wrong (its buffer, not the medium)")
             : std::to_string(bad.size()) + " blocks bad again: the corruption is on the medium");
    oplog(line);
    std::fprintf(stderr, "  (%s)\n", line.c_str());
    for (uint32_t i = 0; i < c.blocks; ++i) model_.poison(c.lba + i, tick_);
    return;
  }
  if (bad.empty()) return;
  stats_["mismatched_blocks"] += bad.size();
  std::ostringstream d;
  d << "s" << s.idx << "." << s.gen << " READ itt " << c.itt << " lba " << c.lba << "+" << c.blocks
    << " (sent #" << c.issue << ", GOOD #" << tick_ << "): " << bad.size() << " bad blocks";
  // Runs of consecutive bad blocks with the same diagnosis and source write.
  int runs = 0;
  for (size_t i = 0; i < bad.size(); ++runs) {
    size_t j = i + 1;
    while (j < bad.size() && bad[j].lba == bad[j - 1].lba + 1 && bad[j].why == bad[i].why &&
           bad[j].st.id == bad[i].st.id && bad[j].st.magic == bad[i].st.magic)
      ++j;
    d << "\n  blocks " << bad[i].lba << "-" << bad[j - 1].lba << ": " << bad[i].why;
    if (bad[i].st.magic && !bad[i].st.zero)
      d << ", stamped write " << bad[i].st.id << " lba " << bad[i].st.lba << ".."
        << bad[j - 1].st.lba;
    if (runs < 3) {
      const Bad& b = bad[i];
      const auto* p = reinterpret_cast<const uint8_t*>(c.data.data()) + (b.lba - c.lba) * kBlock;
      d << "\n    first block " << b.lba << " found: " << model_.describe_stamp(b.st);
      if (b.st.magic && b.st.id < model_.writes().size() && b.st.id != 0)
        d << "\n      that is " << model_.describe_write(b.st.id);
      if (!b.st.crc_ok && !b.st.zero) d << "\n      bytes: " << torn_map(b.lba, p);
      d << "\n      allowed here:";
      for (uint32_t a : model_.allowed(b.lba, c.issue, tick_))
        d << "\n        " << model_.describe_write(a);
    }
    i = j;
  }
  fail("DATA MISMATCH", d.str(), true);
  // Read the range again: tells a corrupted read buffer from corrupted blocks.
  for (const Bad& b : bad) model_.poison(b.lba, tick_);
  s.intents.push_front({false, c.lba, c.blocks, c.itt});
}

void Stress::check_timeouts() {
  auto now = Clock::now();
  for (auto& sp : sessions_) {
    Session& s = *sp;
    if (!s.conn) continue;
    bool lost_tmf = false;
    for (auto& [itt, t] : s.tmfs) {
      if (now < t.deadline) continue;
      fail("TMF NO RESPONSE",
           "s" + std::to_string(s.idx) + "." + std::to_string(s.gen) + ": " + tmf_name(t.function) +
               " tmf itt " + std::to_string(itt) + " got no response within " +
               std::to_string(o_.tmf_timeout_ms) + " ms",
           true);
      lost_tmf = true;
    }
    if (lost_tmf) {
      reinstate(s, false, "after an unanswered TMF");
      continue;
    }
    if (s.stalled) continue;
    std::vector<uint32_t> late;
    for (auto& [itt, c] : s.cmds)
      if (!c.abort_requested && now - c.last_activity > milliseconds(o_.cmd_timeout_ms))
        late.push_back(itt);
    for (uint32_t itt : late) {
      Cmd& c = s.cmds[itt];
      std::string what = std::string(c.kind == Cmd::kWrite   ? "WRITE"
                                     : c.kind == Cmd::kRead  ? "READ"
                                     : c.kind == Cmd::kPrOut ? "PR OUT"
                                                             : "TUR") +
                         " itt " + std::to_string(itt);
      if (overlapping_disruption(s, c.issue)) {
        stats_["silent_aborts"]++;
        oplog("s" + std::to_string(s.idx) + " " + what + ": no response in " +
              std::to_string(o_.cmd_timeout_ms) +
              " ms after another session's LU reset / PREEMPT AND ABORT (no TASK ABORTED "
              "status)");
      } else {
        fail("COMMAND NO RESPONSE",
             "s" + std::to_string(s.idx) + "." + std::to_string(s.gen) + ": " + what +
                 " got no response within " + std::to_string(o_.cmd_timeout_ms) +
                 " ms and no other session reset the LU or preempted meanwhile",
             true);
      }
      abort_task(s, itt, "command timeout");
    }
  }
}

// ------------------------------------------------------------ workload

void Stress::act(Session& s) {
  if (!s.intents.empty()) {
    Intent i = s.intents.front();
    s.intents.pop_front();
    if (i.write)
      issue_write(s, i.lba, i.blocks, Cmd::kNoStall, true);
    else
      issue_read(s, i.lba, i.blocks, i.recheck_of);
    return;
  }
  if (s.reg != Session::kYes && !pr_busy_) {
    uint64_t key = (uint64_t(s.idx + 1) << 32) | ++key_counter_;
    issue_pr_out(s, 6, 0, key, -1);
    return;
  }
  unsigned roll = unsigned(s.rng() % 1000);
  // A left-out operation becomes a READ (the choices stay the same otherwise).
  auto off = [&](const char* op) { return !o_.on(op); };
  if ((roll >= 720 && roll < 780 && off("half-sent")) ||
      (roll >= 780 && roll < 850 && off("abort")) || (roll >= 850 && roll < 880 && off("reset")) ||
      (roll >= 880 && roll < 900 && off("double-tmf")) ||
      (roll >= 900 && roll < 915 && off("reinstate")) ||
      (roll >= 915 && roll < 930 && off("preempt")) || (roll >= 930 && roll < 945 && off("abort")))
    roll = 700;
  auto small = [&] { return uint32_t(1 + s.rng() % 16); };
  auto large = [&] { return uint32_t(256 + s.rng() % 257); };  // 128..256 KiB
  if (roll < 400) {
    uint32_t n = s.rng() % 8 == 0 ? uint32_t(32 + s.rng() % 97) : small();
    issue_write(s, pick_lba(s, n), n, Cmd::kNoStall, false);
  } else if (roll < 720) {
    uint32_t n = s.rng() % 8 == 0 ? uint32_t(32 + s.rng() % 481) : small();
    issue_read(s, pick_lba(s, n), n);
  } else if (roll < 780) {
    uint32_t n = large();
    Cmd::Stall kind = s.rng() % 2 == 0   ? Cmd::kMidPdu
                      : s.rng() % 2 == 0 ? Cmd::kBoundaryAbort
                                         : Cmd::kBoundaryReset;
    issue_write(s, pick_lba(s, n), n, kind, false);
  } else if (roll < 850) {
    if (s.cmds.empty()) return;
    auto it = s.cmds.begin();
    std::advance(it, long(s.rng() % s.cmds.size()));
    if (it->second.abort_requested) return;
    abort_task(s, it->first, "random");
  } else if (roll < 880) {
    lun_reset(s, false);
  } else if (roll < 900) {
    lun_reset(s, true);
  } else if (roll < 915) {
    if (s.cmds.empty() && s.rng() % 2 == 0) {
      // Pipeline a few writes first so that the old session has work in flight.
      for (int i = 0; i < 3 && can_issue(s); ++i) {
        uint32_t n = small();
        issue_write(s, pick_lba(s, n), n, Cmd::kNoStall, false);
      }
    }
    reinstate(s, s.rng() % 2 == 0, "with commands in flight");
  } else if (roll < 930) {
    if (pr_busy_ || s.reg != Session::kYes) return;
    std::vector<int> victims;
    for (auto& v : sessions_)
      if (v->idx != s.idx && v->reg == Session::kYes) victims.push_back(v->idx);
    if (victims.empty()) return;
    int v = victims[s.rng() % victims.size()];
    issue_pr_out(s, 5, s.key, sessions_[size_t(v)]->key, v);
  } else if (roll < 945) {
    abort_task(s, 0x7fff0000u + uint32_t(s.rng() % 1000), "an ITT never used");
  } else {
    issue_tur(s);
  }
}

bool Stress::drain(std::chrono::seconds limit) {
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    bool busy = false;
    for (auto& s : sessions_) {
      if (s->stalled) {
        s->stall_reset = false;
        resolve_stall(*s);
      }
      if (!s->cmds.empty() || !s->tmfs.empty()) busy = true;
    }
    if (!busy) return true;
    pump(20);
    check_timeouts();
  }
  return false;
}

void Stress::final_check() {
  // Every block once more, read by one session after everything settled.
  auto live = std::find_if(sessions_.begin(), sessions_.end(), [](auto& x) { return !!x->conn; });
  if (live == sessions_.end()) {
    fail("connection", "no session left for the final read-back");
    return;
  }
  Session& s = **live;
  uint32_t chunk = 256;
  for (uint64_t lba = 0; lba < model_.blocks(); lba += chunk) {
    for (int attempt = 0; attempt < 4; ++attempt) {
      issue_read(s, lba, uint32_t(std::min<uint64_t>(chunk, model_.blocks() - lba)));
      uint64_t reads_before = stats_["reads_verified"];
      auto deadline = Clock::now() + std::chrono::seconds(10);
      while (!s.cmds.empty() && Clock::now() < deadline) pump(20);
      if (!s.cmds.empty()) {
        fail("COMMAND NO RESPONSE", "final read of lba " + std::to_string(lba) + " unanswered");
        return;
      }
      if (stats_["reads_verified"] > reads_before) break;
    }
  }
}

int Stress::run() {
  if (!o_.log_file.empty()) logf_ = std::make_unique<std::ofstream>(o_.log_file);
  ::signal(SIGPIPE, SIG_IGN);
  for (int i = 0; i < o_.sessions; ++i) {
    auto s = std::make_unique<Session>();
    s->idx = i;
    s->initiator = "iqn.2026-12.test.sharedisk:stress-node" + std::to_string(i);
    s->isid = 0x800000000000ull | (uint64_t(o_.seed & 0xffff) << 16) | uint64_t(i + 1);
    s->rng.seed(o_.seed * 1000003 + uint64_t(i));
    std::string error;
    if (!login(*s, &error)) {
      std::fprintf(stderr, "stress: login of session %d failed: %s\n%s", i, error.c_str(),
                   d_.tail(20).c_str());
      return 1;
    }
    sessions_.push_back(std::move(s));
  }
  // Clear each nexus's power-on unit attention, register a key, and take a
  // Write Exclusive - All Registrants reservation: a preempted session's
  // writes get RESERVATION CONFLICT until it registers again.
  auto settle_all = [&](std::chrono::seconds limit) {
    auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      bool busy = false;
      for (auto& s : sessions_) busy |= !s->cmds.empty();
      if (!busy) return true;
      pump(20);
    }
    return false;
  };
  for (int round = 0; round < 3; ++round) {
    for (auto& s : sessions_) issue_tur(*s);
    if (!settle_all(std::chrono::seconds(10))) {
      std::fprintf(stderr, "stress: TEST UNIT READY unanswered at setup\n");
      return 1;
    }
  }
  for (auto& s : sessions_) {
    issue_pr_out(*s, 6, 0, (uint64_t(s->idx + 1) << 32) | ++key_counter_, -1);
    if (!settle_all(std::chrono::seconds(10)) || s->reg != Session::kYes) {
      std::fprintf(stderr, "stress: PR OUT REGISTER failed at setup\n");
      return 1;
    }
  }
  issue_pr_out(*sessions_[0], 1, sessions_[0]->key, 0, -1);
  settle_all(std::chrono::seconds(10));

  oplog("setup done: " + std::to_string(o_.sessions) + " sessions, " +
        std::to_string(model_.blocks()) + " blocks");
  auto end = Clock::now() + std::chrono::seconds(o_.seconds);
  std::vector<size_t> order(sessions_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  while (Clock::now() < end && total_failures() < 200) {
    pump(1);
    check_timeouts();
    std::shuffle(order.begin(), order.end(), rng_);
    for (size_t i : order) {
      Session& s = *sessions_[i];
      if (s.stalled && Clock::now() >= s.stall_until) resolve_stall(s);
      if (can_issue(s)) act(s);
    }
    if (!d_.running()) {
      fail("DAEMON DIED", "the daemon exited; log tail:\n" + d_.tail(40), true);
      break;
    }
  }
  oplog("time is up: draining");
  if (!drain(std::chrono::seconds(30))) fail("drain", "commands still in flight after 30 s");
  if (d_.running() && total_failures() < 200) final_check();
  bool alive = d_.running();
  sessions_.clear();
  int code = alive ? d_.stop() : -1;
  if (!alive)
    fail("DAEMON DIED", "the daemon was gone at the end; log tail:\n" + d_.tail(40));
  else if (code != 0)
    fail("DAEMON EXIT", "the daemon exited with " + std::to_string(code) +
                            " after SIGTERM (a sanitizer report?); log tail:\n" + d_.tail(60));
  uint64_t silent = stats_["silent_aborts"];
  if (silent > 0 && !o_.allow_silent_aborts)
    fail("NO TASK ABORTED STATUS",
         std::to_string(silent) +
             " commands were aborted by another session's LU reset / PREEMPT AND ABORT "
             "without any response (Task Aborted Status off): their initiators wait out "
             "their command timeout");

  std::printf("stress: seed %" PRIu64 ", %d s, %d sessions, %d event loops, %" PRIu64
              " MiB %s LUN\n",
              o_.seed, o_.seconds, o_.sessions, o_.threads, o_.lun_mib, o_.backing.c_str());
  for (auto& [k, v] : stats_) std::printf("  %-24s %" PRIu64 "\n", k.c_str(), v);
  if (failure_counts_.empty()) {
    std::printf("stress: PASS (0 mismatches)\n");
    return 0;
  }
  std::printf("stress: FAIL, seed %" PRIu64 ":", o_.seed);
  for (auto& [k, v] : failure_counts_) std::printf(" %s x%d;", k.c_str(), v);
  std::printf("\n  rerun: %s\n", o_.command.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  TempDir dir(default_temp_base(), "sharedisk-stress.");
  Daemon d(o, dir);
  std::string error;
  if (!d.start(&error)) {
    std::fprintf(stderr, "stress: %s\n", error.c_str());
    return 1;
  }
  Stress s(o, d);
  return s.run();
}
