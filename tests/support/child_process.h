// Child processes for tests: fork + exec with stdout and stderr appended to a
// file, and waits that are always bounded. A child that outlives its wait is
// killed with SIGKILL, by pid; nothing else is ever signalled.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace sharedisk::test_support {

struct SpawnOptions {
  std::string output_path;  // stdout and stderr are appended here
  std::string cwd;          // "": the caller's current directory
  bool as_nobody = false;   // when root: setgroups/setgid/setuid 65534 before exec
};

// Starts argv[0] (a path, no $PATH lookup) with `argv`, stdin from /dev/null.
// Throws when the output file cannot be opened or fork fails; a failed exec
// shows as exit code 127, a failed chdir or privilege drop as 126.
pid_t spawn(const std::vector<std::string>& argv, const SpawnOptions& options);

// One non-blocking look: true with *status when `pid` has exited. A pid that
// is no longer our child also counts as exited, with *status untouched.
bool has_exited(pid_t pid, int* status);

// has_exited() polled until it is true or `timeout` passes.
bool wait_for(pid_t pid, std::chrono::milliseconds timeout, int* status);

// The exit code of a waitpid status, or minus the signal that ended it.
int exit_code(int status);

// SIGKILL to `pid`, then waits up to `grace` for it to be gone.
void kill_and_reap(pid_t pid, std::chrono::milliseconds grace = std::chrono::seconds(5));

// Waits up to `timeout` for `pid` and returns exit_code(). When it is still
// running then, kill_and_reap()s it, sets *timed_out and returns -SIGKILL.
int reap(pid_t pid, std::chrono::milliseconds timeout, bool* timed_out = nullptr);

}  // namespace sharedisk::test_support
