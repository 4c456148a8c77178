#include "child_process.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <thread>

namespace sharedisk::test_support {

pid_t spawn(const std::vector<std::string>& argv, const SpawnOptions& options) {
  std::vector<std::string> args = argv;
  std::vector<char*> ptrs;
  for (std::string& a : args) ptrs.push_back(a.data());
  ptrs.push_back(nullptr);
  int fd = ::open(options.output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open " + options.output_path);
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fd);
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    // Only async-signal-safe calls from here on.
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, 0);
    if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) ::_exit(126);
    if (options.as_nobody && ::geteuid() == 0) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0)
        ::_exit(126);
    }
    ::execv(ptrs[0], ptrs.data());
    ::_exit(127);
  }
  ::close(fd);
  return pid;
}

bool has_exited(pid_t pid, int* status) {
  pid_t r = ::waitpid(pid, status, WNOHANG);
  return r == pid || (r < 0 && errno != EINTR);
}

bool wait_for(pid_t pid, std::chrono::milliseconds timeout, int* status) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!has_exited(pid, status)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1;
}

void kill_and_reap(pid_t pid, std::chrono::milliseconds grace) {
  ::kill(pid, SIGKILL);
  int status = 0;
  wait_for(pid, grace, &status);
}

int reap(pid_t pid, std::chrono::milliseconds timeout, bool* timed_out) {
  int status = 0;
  bool exited = wait_for(pid, timeout, &status);
  if (timed_out != nullptr) *timed_out = !exited;
  if (exited) return exit_code(status);
  kill_and_reap(pid);
  return -SIGKILL;
}

}  // namespace sharedisk::test_support
