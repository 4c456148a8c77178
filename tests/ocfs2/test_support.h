// Helpers for the OCFS2 oracle and CLI tests: temporary directories, locating the
// ocfs2-tools binaries and running commands with a time limit.
#pragma once

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace sharedisk::ocfs2::test {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/ocfs2-oracle-XXXXXX";
    if (::mkdtemp(tmpl)) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Full path of an ocfs2-tools program, or "" when it is not installed.
inline std::string find_tool(const std::string& name) {
  for (const char* dir : {"/usr/sbin", "/sbin", "/usr/bin", "/bin"}) {
    const std::filesystem::path p = std::filesystem::path(dir) / name;
    if (std::filesystem::exists(p)) return p.string();
  }
  return {};
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout (and stderr when merged)
};

// Runs a shell command line under `timeout 60`, capturing stdout (stderr too if `merge`).
inline CommandResult run(const std::string& command, bool merge = false) {
  CommandResult r;
  const std::string line = "timeout 60 " + command + (merge ? " 2>&1" : " 2>/dev/null");
  FILE* p = ::popen(line.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void spit(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace sharedisk::ocfs2::test
