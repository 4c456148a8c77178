#include "daemon_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace sharedisk::itest {

namespace {

using Clock = std::chrono::steady_clock;

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = text.find(from, pos)) != std::string::npos; pos += to.size())
    text.replace(pos, from.size(), to);
  return text;
}

// fork + exec of the daemon with stdout/stderr into `log_path`.
pid_t spawn(const std::vector<std::string>& args, const std::string& log_path,
            const std::string& cwd, bool as_nobody) {
  std::vector<char*> argv;
  std::string binary = daemon_binary();
  argv.push_back(binary.data());
  std::vector<std::string> copy = args;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open " + log_path);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, 0);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    if (as_nobody && ::geteuid() == 0) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0)
        ::_exit(126);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fd);
  return pid;
}

// Waits for `pid` up to `timeout`; returns true with *status when it exited.
bool wait_for(pid_t pid, std::chrono::milliseconds timeout, int* status) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    pid_t r = ::waitpid(pid, status, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) return true;  // not our child any more
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int exit_code_of(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool accepts_connections(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(uint16_t(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

const char* daemon_binary() {
  return SHAREDISK_TARGET_BINARY;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/sharedisk-itest.XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  ::chmod(templ.c_str(), 0755);  // readable by the unprivileged daemon of the permission test
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    throw std::runtime_error("bind to an ephemeral port failed");
  }
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return ntohs(sa.sin_port);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

RunResult run_daemon(const std::vector<std::string>& args, const RunOptions& options) {
  TempDir scratch;
  std::string log = scratch.file("output.log");
  pid_t pid = spawn(args, log, options.cwd, options.as_nobody);
  RunResult result;
  int status = 0;
  if (!wait_for(pid, options.timeout, &status)) {
    ::kill(pid, SIGKILL);
    wait_for(pid, std::chrono::seconds(5), &status);
    result.timed_out = true;
  } else {
    result.exit_code = exit_code_of(status);
  }
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
    ::kill(pid_, SIGKILL);
    int status = 0;
    wait_for(pid_, std::chrono::seconds(5), &status);
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
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited = true;
        break;
      }
      if (accepts_connections(port_)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::string out = read_file(log_path_).substr(log_start);
    if (!exited) {
      ::kill(pid_, SIGKILL);
      wait_for(pid_, std::chrono::seconds(5), &status);
      pid_ = -1;
      *error = "daemon did not accept connections in time:\n" + out;
      return false;
    }
    pid_ = -1;
    // Someone took the port between free_port() and the daemon's bind: retry.
    if (out.find("in use") != std::string::npos) continue;
    *error = "daemon exited with status " + std::to_string(exit_code_of(status)) + ":\n" + out;
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
  int status = 0;
  int code = -1;
  if (wait_for(pid_, timeout, &status)) {
    code = exit_code_of(status);
  } else {
    ::kill(pid_, SIGKILL);
    wait_for(pid_, std::chrono::seconds(5), &status);
  }
  pid_ = -1;
  return code;
}

bool Daemon::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::string Daemon::output() const {
  return read_file(log_path_);
}

}  // namespace sharedisk::itest
