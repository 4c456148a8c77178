#include "daemon_process.h"

#include <signal.h>

#include <thread>

#include "child_process.h"

namespace sharedisk::itest {

namespace {

using Clock = std::chrono::steady_clock;

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = text.find(from, pos)) != std::string::npos; pos += to.size())
    text.replace(pos, from.size(), to);
  return text;
}

// The daemon binary with `args`, stdout/stderr appended to `log_path`.
pid_t spawn(const std::vector<std::string>& args, const std::string& log_path,
            const std::string& cwd, bool as_nobody) {
  std::vector<std::string> argv{daemon_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return test_support::spawn(argv, {log_path, cwd, as_nobody});
}

// This suite's contract: an exit code, or -1 for a death by signal or a stop
// that had to be forced.
int exit_code_of(int code) {
  return code < 0 ? -1 : code;
}

}  // namespace

const char* daemon_binary() {
  return SHAREDISK_TARGET_BINARY;
}

RunResult run_daemon(const std::vector<std::string>& args, const RunOptions& options) {
  TempDir scratch;
  std::string log = scratch.file("output.log");
  pid_t pid = spawn(args, log, options.cwd, options.as_nobody);
  RunResult result;
  result.exit_code = exit_code_of(test_support::reap(pid, options.timeout, &result.timed_out));
  result.output = read_file(log);
  return result;
}

Daemon::Daemon(const TempDir& dir, std::string yaml)
    : dir_(dir),
      yaml_(std::move(yaml)),
      config_path_(dir.file("lun.yaml")),
      log_path_(dir.file("daemon.log")) {}

Daemon::~Daemon() {
  if (pid_ > 0) {
    test_support::kill_and_reap(pid_);
  }
}

bool Daemon::start(std::string* error, std::chrono::seconds timeout) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = free_port();
    write_file(config_path_, replace_all(replace_all(yaml_, "@PORT@", std::to_string(port_)),
                                         "@DIR@", dir_.path()));
    size_t log_start = read_file(log_path_).size();
    pid_ = spawn({"--config", config_path_}, log_path_, dir_.path(), false);
    auto deadline = Clock::now() + timeout;
    bool exited = false;
    int status = 0;
    while (Clock::now() < deadline) {
      if (test_support::has_exited(pid_, &status)) {
        exited = true;
        break;
      }
      if (can_connect(port_)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::string out = read_file(log_path_).substr(log_start);
    if (!exited) {
      test_support::kill_and_reap(pid_);
      pid_ = -1;
      *error = "daemon did not accept connections in time:\n" + out;
      return false;
    }
    pid_ = -1;
    // Someone took the port between free_port() and the daemon's bind: retry.
    if (out.find("in use") != std::string::npos) continue;
    *error = "daemon exited with status " +
             std::to_string(exit_code_of(test_support::exit_code(status))) + ":\n" + out;
    return false;
  }
  *error = "no free port after 5 attempts";
  return false;
}

int Daemon::stop(int signo, std::chrono::seconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signo);
  return wait_exit(timeout);
}

int Daemon::wait_exit(std::chrono::seconds timeout) {
  if (pid_ <= 0) return -1;
  int code = exit_code_of(test_support::reap(pid_, timeout));
  pid_ = -1;
  return code;
}

bool Daemon::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (test_support::has_exited(pid_, &status)) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::string Daemon::output() const {
  return read_file(log_path_);
}

}  // namespace sharedisk::itest
