// Runs the real sharedisk-target binary for the integration tests: a private
// temporary directory, a generated lun.yaml on a free 127.0.0.1 port, start
// and readiness wait, SIGTERM/SIGINT stop with the exit status, and one-shot
// runs (bad configs, --check) with captured output. Every wait is bounded and
// only the processes started here are ever signalled, by pid.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "files.h"
#include "ports.h"
#include "temp_dir.h"

namespace sharedisk::itest {

// The daemon binary, passed in by CMake.
const char* daemon_binary();

// A directory under $TMPDIR removed with its contents on destruction; mode
// 0755 so that the unprivileged daemon of the permission test can read it.
class TempDir : public test_support::TempDir {
 public:
  TempDir() : test_support::TempDir(test_support::default_temp_base(), "sharedisk-itest.", 0755) {}
};

using test_support::can_connect;
using test_support::file_exists;
using test_support::free_port;
using test_support::read_file;
using test_support::write_file;

struct RunResult {
  int exit_code = -1;      // -1: killed by a signal or timed out
  bool timed_out = false;  // then it was killed
  std::string output;      // stdout and stderr together
};

struct RunOptions {
  std::chrono::seconds timeout{20};
  std::string cwd;         // default: the current directory
  bool as_nobody = false;  // when root: setuid/setgid 65534 before exec
};

// Runs the daemon binary with `args` to completion.
RunResult run_daemon(const std::vector<std::string>& args, const RunOptions& options = {});

class Daemon {
 public:
  // `yaml` is a complete lun.yaml in which every "@PORT@" becomes the chosen
  // port and "@DIR@" the temporary directory.
  Daemon(const TempDir& dir, std::string yaml);
  ~Daemon();  // SIGKILL if still running
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Starts on a free port (retries a few ports when one was taken meanwhile)
  // and waits until it accepts connections. On failure returns false with the
  // reason and the daemon's output in *error.
  bool start(std::string* error, std::chrono::seconds timeout = std::chrono::seconds(20));
  // Signals the daemon and waits for it; returns its exit code, or -1 when it
  // died from a signal or did not stop in time (then it was killed).
  int stop(int signo, std::chrono::seconds timeout = std::chrono::seconds(40));
  // Waits for an exit already under way (no signal sent); same result as stop().
  int wait_exit(std::chrono::seconds timeout);
  bool running();

  int port() const { return port_; }
  std::string portal() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url(const std::string& iqn, int lun) const {
    return "iscsi://" + portal() + "/" + iqn + "/" + std::to_string(lun);
  }
  std::string output() const;  // everything the daemon printed so far
  pid_t pid() const { return pid_; }

 private:
  const TempDir& dir_;
  std::string yaml_;
  std::string config_path_;
  std::string log_path_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace sharedisk::itest
