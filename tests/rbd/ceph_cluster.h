// A throwaway Ceph cluster for one test binary: scripts/ceph-micro.sh starts
// one monitor and one memstore OSD on 127.0.0.1 in a temporary folder, and
// stops them (by pid) when the binary ends. Tests skip with the reason when
// the Ceph packages are missing or the cluster does not come up.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "child_process.h"
#include "files.h"
#include "temp_dir.h"

namespace rbdtest {

inline std::string script() {
  return std::string(SHAREDISK_SOURCE_DIR) + "/scripts/ceph-micro.sh";
}

class CephCluster {
 public:
  // Starts a cluster with pool `rbd` and a `size_mib` image `lun1`.
  explicit CephCluster(unsigned size_mib)
      : tmp_(sharedisk::test_support::default_temp_base(), "sd-ceph-"), dir_(tmp_.file("c")) {
    if (::access("/usr/bin/ceph-mon", X_OK) != 0 || ::access("/usr/bin/ceph-osd", X_OK) != 0) {
      error_ = "ceph-mon / ceph-osd not installed (scripts/install-deps.sh test)";
      return;
    }
    int code = run({script(), "start", dir_, "--image-size", std::to_string(size_mib)},
                   std::chrono::seconds(150));
    if (code != 0) {
      error_ = "ceph-micro.sh start failed (" + std::to_string(code) + "):\n" +
               sharedisk::test_support::read_file(tmp_.file("start.out"));
      run({script(), "stop", dir_}, std::chrono::seconds(40));
      return;
    }
    started_ = true;
    std::ifstream env(dir_ + "/env");
    for (std::string line; std::getline(env, line);) {
      auto eq = line.find('=');
      if (eq != std::string::npos) env_[line.substr(0, eq)] = line.substr(eq + 1);
    }
  }
  ~CephCluster() {
    if (started_) run({script(), "stop", dir_}, std::chrono::seconds(40));
  }

  bool ok() const { return started_; }
  const std::string& error() const { return error_; }
  const std::string& dir() const { return dir_; }
  std::string env(const std::string& key) const {
    auto it = env_.find(key);
    return it == env_.end() ? "" : it->second;
  }
  std::string conf() const { return env("CEPH_CONF"); }
  std::string keyring() const { return env("CEPH_KEYRING"); }
  std::string file(const std::string& name) const { return tmp_.file(name); }

  // scripts/ceph-micro.sh COMMAND DIR; the exit code.
  int control(const std::string& command, std::chrono::seconds limit = std::chrono::seconds(60)) {
    int code = run({script(), command, dir_}, limit);
    if (command == "start-osd") {
      std::ifstream env(dir_ + "/env");
      for (std::string line; std::getline(env, line);) {
        auto eq = line.find('=');
        if (eq != std::string::npos) env_[line.substr(0, eq)] = line.substr(eq + 1);
      }
    }
    return code;
  }

  // `rbd -c CONF --id admin ARGS...` with bounded timeouts; the exit code.
  int rbd(const std::vector<std::string>& args,
          std::chrono::seconds limit = std::chrono::seconds(60)) {
    std::vector<std::string> argv = {"/usr/bin/rbd",
                                     "-c",
                                     conf(),
                                     "--id",
                                     "admin",
                                     "--client-mount-timeout",
                                     "10",
                                     "--rados-osd-op-timeout",
                                     "20",
                                     "--rados-mon-op-timeout",
                                     "20"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, limit, "rbd.out");
  }
  // `ceph -c CONF --id admin ARGS...`; the exit code, output in file("ceph.out").
  int ceph(const std::vector<std::string>& args,
           std::chrono::seconds limit = std::chrono::seconds(60)) {
    ::unlink(tmp_.file("ceph.out").c_str());
    std::vector<std::string> argv = {"/usr/bin/ceph",     "-c", conf(), "--id", "admin",
                                     "--connect-timeout", "10"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, limit, "ceph.out");
  }

 private:
  int run(const std::vector<std::string>& argv, std::chrono::seconds limit,
          const char* out = "start.out") {
    pid_t pid = sharedisk::test_support::spawn(
        argv, {.output_path = tmp_.file(out), .cwd = "", .as_nobody = false});
    return sharedisk::test_support::reap(pid, limit);
  }

  sharedisk::test_support::TempDir tmp_;
  std::string dir_;
  bool started_ = false;
  std::string error_;
  std::map<std::string, std::string> env_;
};

// One cluster per test binary, started on first use and stopped at exit.
inline CephCluster& cluster() {
  static CephCluster c(256);
  return c;
}

}  // namespace rbdtest

#define REQUIRE_CLUSTER()                                                     \
  do {                                                                        \
    if (!rbdtest::cluster().ok()) GTEST_SKIP() << rbdtest::cluster().error(); \
  } while (0)
