// Cluster registration in o2nm's configfs tree (see configfs.h for the sequence).
//
// On a real configfs the kernel creates the node/ and heartbeat/ groups and every attribute
// file when a directory is made, and removes them on rmdir. On a plain directory standing
// in for configfs those are created and removed here, so the resulting tree is the same.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "sharedisk/ocfs2/configfs.h"
#include "sharedisk/ocfs2/validate.h"

namespace sharedisk::ocfs2 {
namespace {

namespace fs = std::filesystem;
constexpr long kConfigfsMagic = 0x62656570;

class Tree {
 public:
  Tree(const fs::path& root, ConfigfsResult& result) : result_(result) {
    struct statfs st {};
    plain_ = ::statfs(root.c_str(), &st) != 0 || st.f_type != kConfigfsMagic;
  }

  bool plain() const { return plain_; }

  void fail(const char* code, std::string message) {
    result_.diagnostics.push_back({0, Severity::error, code, std::move(message)});
  }
  void note(std::string message) {
    result_.diagnostics.push_back({0, Severity::info, "configfs-note", std::move(message)});
  }

  // Creates `dir`; an existing directory is fine (`existed` tells which).
  bool make_dir(const fs::path& dir, bool* existed = nullptr) {
    if (existed) *existed = false;
    if (::mkdir(dir.c_str(), 0755) == 0) {
      created_.push_back(dir);
      result_.actions.push_back("mkdir " + dir.string());
      return true;
    }
    const int err = errno;
    if (err == EEXIST) {
      if (fs::is_directory(dir)) {
        if (existed) *existed = true;
        return true;
      }
      fail("configfs-not-a-directory", dir.string() + " exists but is not a directory");
      return false;
    }
    fail("configfs-mkdir-failed", "cannot create " + dir.string() + ": " + std::strerror(err));
    return false;
  }

  // Writes an attribute the way libo2cb does (one write of the value) or, for the timeouts,
  // the way the init script's `echo` does (value and newline). On a real configfs an
  // attribute the kernel does not provide is skipped when `optional`, as the script does.
  bool write_attr(const fs::path& file, const std::string& value, bool optional = false) {
    if (!plain_ && optional && !fs::exists(file)) {
      note(file.string() + " is not provided by this kernel; skipped");
      return true;
    }
    const int flags = O_WRONLY | O_TRUNC | O_CLOEXEC | (plain_ ? O_CREAT : 0);
    const int fd = ::open(file.c_str(), flags, 0644);
    if (fd < 0) {
      fail("configfs-write-failed", "cannot open " + file.string() + ": " + std::strerror(errno));
      return false;
    }
    ssize_t n;
    do {
      n = ::write(fd, value.data(), value.size());
    } while (n < 0 && errno == EINTR);
    const int err = errno;
    ::close(fd);
    if (n != static_cast<ssize_t>(value.size())) {
      fail("configfs-write-failed", "the kernel refused " + trimmed(value) + " for " +
                                        file.string() + ": " + std::strerror(n < 0 ? err : EIO));
      return false;
    }
    result_.actions.push_back("write " + file.string() + " = " + trimmed(value));
    return true;
  }

  // Removes a configfs item. On a plain directory, first removes what the kernel would.
  bool remove_item(const fs::path& dir) {
    if (::rmdir(dir.c_str()) != 0) {
      const int err = errno;
      if (err == ENOENT) return true;
      if (!(plain_ && (err == ENOTEMPTY || err == EEXIST))) {
        fail("configfs-rmdir-failed", "cannot remove " + dir.string() + ": " + std::strerror(err));
        return false;
      }
      std::error_code ec;
      for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (entry.is_directory()) {
          if (!remove_item(entry.path())) return false;
        } else {
          fs::remove(entry.path(), ec);
        }
      }
      if (::rmdir(dir.c_str()) != 0) {
        fail("configfs-rmdir-failed",
             "cannot remove " + dir.string() + ": " + std::strerror(errno));
        return false;
      }
    }
    result_.actions.push_back("rmdir " + dir.string());
    return true;
  }

  // Undoes every directory this call created, newest first.
  void roll_back() {
    for (auto it = created_.rbegin(); it != created_.rend(); ++it) remove_item(*it);
    created_.clear();
  }

  static std::string read_attr(const fs::path& file) {
    std::ifstream in(file);
    std::string s;
    std::getline(in, s);
    return trimmed(s);
  }

 private:
  static std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }

  ConfigfsResult& result_;
  std::vector<fs::path> created_;
  bool plain_ = true;
};

bool same_registration(const fs::path& dir, const Node& node) {
  return Tree::read_attr(dir / "num") == std::to_string(node.number.value_or(0)) &&
         Tree::read_attr(dir / "ipv4_address") == node.ip_address &&
         Tree::read_attr(dir / "ipv4_port") == std::to_string(node.ip_port.value_or(0));
}

bool register_steps(Tree& tree, const ClusterConf& conf, const Cluster& cluster,
                    const ConfigfsOptions& options) {
  const fs::path dir = options.root / "cluster" / cluster.name;
  if (!tree.make_dir(dir)) return false;
  if (tree.plain() && (!tree.make_dir(dir / "node") || !tree.make_dir(dir / "heartbeat")))
    return false;

  std::string mode = cluster.heartbeat_mode;
  for (auto& c : mode) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!tree.write_attr(dir / "heartbeat" / "mode", mode)) return false;

  // Nodes registered earlier but since removed or changed in the file go first.
  const auto members = conf.nodes_of(cluster.name);
  std::error_code ec;
  std::vector<fs::path> stale;
  for (const auto& entry : fs::directory_iterator(dir / "node", ec)) {
    if (!entry.is_directory()) continue;
    const Node* node = conf.find_node(cluster.name, entry.path().filename().string());
    if (!node || !same_registration(entry.path(), *node)) stale.push_back(entry.path());
  }
  for (const auto& p : stale)
    if (!tree.remove_item(p)) return false;

  const std::string host = options.local_node ? *options.local_node : local_hostname();
  for (const Node* node : members) {
    const fs::path nd = dir / "node" / node->name;
    bool existed = false;
    if (!tree.make_dir(nd, &existed)) return false;
    if (existed) continue;  // registered with the same attributes: nothing to do
    const bool local = node_matches_host(node->name, host);
    if (!tree.write_attr(nd / "ipv4_port", std::to_string(node->ip_port.value_or(0))) ||
        !tree.write_attr(nd / "ipv4_address", node->ip_address) ||
        !tree.write_attr(nd / "num", std::to_string(node->number.value_or(0))) ||
        !tree.write_attr(nd / "local", local ? "1" : "0"))
      return false;
  }

  const O2cbTimeouts& t = options.timeouts;
  auto timeout = [&](const std::optional<std::uint32_t>& v, const fs::path& file) {
    return !v || tree.write_attr(file, std::to_string(*v) + "\n", true);
  };
  return timeout(t.heartbeat_dead_threshold, dir / "heartbeat" / "dead_threshold") &&
         timeout(t.idle_timeout_ms, dir / "idle_timeout_ms") &&
         timeout(t.keepalive_delay_ms, dir / "keepalive_delay_ms") &&
         timeout(t.reconnect_delay_ms, dir / "reconnect_delay_ms");
}

}  // namespace

ConfigfsResult register_cluster(const ClusterConf& conf, const std::string& cluster_name,
                                const ConfigfsOptions& options) {
  ConfigfsResult result;
  const Cluster* cluster = conf.find_cluster(cluster_name);
  if (!cluster) {
    result.diagnostics.push_back({0, Severity::error, "cluster-not-found",
                                  "cluster '" + cluster_name + "' is not defined in the file"});
    return result;
  }
  ValidateOptions vo;
  vo.cluster = cluster_name;
  vo.local_node = options.local_node;
  result.diagnostics = validate_cluster_conf(conf, vo);
  for (auto& d : validate_timeouts(options.timeouts)) result.diagnostics.push_back(d);
  if (!result.ok()) return result;

  Tree tree(options.root, result);
  const fs::path clusters = options.root / "cluster";
  if (!fs::is_directory(clusters)) {
    tree.fail("configfs-not-ready",
              clusters.string() +
                  " does not exist: the o2cb cluster stack is not loaded (start the o2cb "
                  "service or load ocfs2_nodemanager)");
    return result;
  }
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(clusters, ec)) {
    if (entry.is_directory() && entry.path().filename() != cluster_name) {
      tree.fail("another-cluster-registered",
                "cluster '" + entry.path().filename().string() +
                    "' is registered; the kernel runs one cluster at a time, so unregister it "
                    "first");
      return result;
    }
  }
  if (!register_steps(tree, conf, *cluster, options)) tree.roll_back();
  return result;
}

ConfigfsResult unregister_cluster(const std::string& cluster_name, const ConfigfsOptions& options) {
  ConfigfsResult result;
  Tree tree(options.root, result);
  const fs::path dir = options.root / "cluster" / cluster_name;
  if (!fs::is_directory(dir)) {
    tree.note("cluster '" + cluster_name + "' is not registered; nothing to do");
    return result;
  }
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir / "heartbeat", ec)) {
    if (entry.is_directory()) {
      tree.fail("heartbeat-active", "heartbeat region " + entry.path().filename().string() +
                                        " is still active: unmount the OCFS2 volumes of cluster '" +
                                        cluster_name + "' first");
      return result;
    }
  }
  std::vector<fs::path> nodes;
  for (const auto& entry : fs::directory_iterator(dir / "node", ec))
    if (entry.is_directory()) nodes.push_back(entry.path());
  for (const auto& n : nodes)
    if (!tree.remove_item(n)) return result;
  tree.remove_item(dir);
  return result;
}

}  // namespace sharedisk::ocfs2
