// The iSCSI targets this daemon serves: name, alias, access list, the SCSI
// device behind each, per-LUN I/O counters, and the portal group every target
// is reachable on.
//
// The registry can change while serving (reload): targets are shared_ptrs, a
// connection holds its target from admission on, and a removed target is kept
// by the registry until no connection uses it and every login that may have
// looked it up (raw pointer, bounded by the login timeout) is over.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "blockdev/rbd_stats.h"
#include "config/config.h"
#include "iscsi/io_stats.h"
#include "scsi/device.h"
#include "util/published.h"

namespace sharedisk::iscsi {

// The portal group tag without a lun.yaml `gateway` section.
constexpr uint16_t kPortalGroupTag = 1;

struct LunInfo {
  uint64_t number = 0;
  std::string backing;  // path, or "memory"
  std::string type;     // file, block, memory
  uint64_t size_bytes = 0;
  uint32_t block_size = 512;
  bool read_only = false;
  bool write_cache = true;
  std::string io_mode;        // O_DIRECT, buffered (I/O threads) or memory
  std::string fault_control;  // test builds: the fault store's control file
  std::shared_ptr<LunIoStats> stats;
  std::shared_ptr<const blockdev::RbdStats> rbd;  // type rbd: librbd request counters
};

struct TargetNode {
  std::string iqn;
  std::string alias;
  uint32_t queue_depth = 128;
  std::unique_ptr<scsi::Device> device;

  // What `status` and metrics show of each LUN, ascending by number; changed
  // together with the device's LUN table (reload). The reference stays valid
  // as long as the node.
  const std::vector<LunInfo>& luns() const { return luns_.get(); }
  void set_luns(std::vector<LunInfo> luns) { luns_.publish(std::move(luns)); }

  // May `initiator_name` connecting from `address` (numeric) use this target?
  // The rule is lun.yaml's (config::Target::allows): both lists must allow,
  // an empty list allows all. Changed while serving only with set_access().
  bool allows(const std::string& initiator_name, const std::string& address) const;
  void set_access(std::vector<std::string> initiators, std::vector<config::Network> networks);
  std::pair<std::vector<std::string>, std::vector<config::Network>> access() const;

  // The counters of the LUN addressed by the 8-byte SAM LUN field, or null.
  LunIoStats* stats_for(uint64_t sam_lun) const;

 private:
  util::Published<std::vector<LunInfo>> luns_;
  mutable std::mutex access_mutex_;
  config::Target access_;  // only allowed_initiators and allowed_networks are used
};

class TargetRegistry {
 public:
  // Installed on every device added or swapped in (cross-session aborts).
  void set_task_aborter(scsi::TaskAborter* aborter) { aborter_ = aborter; }
  void add(std::shared_ptr<TargetNode> node);
  void add(std::unique_ptr<TargetNode> node) { add(std::shared_ptr<TargetNode>(std::move(node))); }
  // Takes `iqn` out of service (no new logins); the node stays alive while used.
  std::shared_ptr<TargetNode> remove(const std::string& iqn);
  // Drops every target (and retired one): at shutdown, before the event loops go.
  void clear();
  // Swaps the node of the same name for `node`; returns the old one.
  std::shared_ptr<TargetNode> replace(std::shared_ptr<TargetNode> node);
  void set_portals(std::vector<config::Endpoint> portals);
  // The target portal group tag of every portal (RFC 7143: Login's and
  // SendTargets' TargetPortalGroupTag): this gateway's target port group
  // (lun.yaml `gateway: group`), so that the iSCSI target port name
  // ("iqn,t,0x<tag>") and REPORT TARGET PORT GROUPS name the same group.
  // Set once at start-up (a reload keeps the gateway section).
  void set_portal_group_tag(uint16_t tag) { portal_group_tag_ = tag; }
  uint16_t portal_group_tag() const { return portal_group_tag_; }
  // The SCSI target port name of `iqn` through this portal group (SPC-4
  // 7.7.3.5, tag in hex).
  std::string target_port_name(const std::string& iqn) const;
  // How long a removed node must outlive its removal (logins hold raw pointers).
  void set_retire_delay(std::chrono::seconds delay) { retire_delay_ = delay; }

  TargetNode* find(const std::string& iqn) const;
  // The owning pointer of a node found by find(), or null if it was removed since.
  std::shared_ptr<TargetNode> share(const TargetNode* node) const;
  std::vector<std::shared_ptr<TargetNode>> targets() const;
  std::vector<config::Endpoint> portals() const;
  size_t retired() const;

  // The SendTargets answer (RFC 7143 Appendix C) for an initiator: every
  // target it may see (or only `only_target`), each with every portal; a
  // wildcard portal address is replaced by `local_address`.
  std::string send_targets(const std::string& initiator_name, const std::string& peer_address,
                           const std::string& local_address, const std::string& only_target) const;

 private:
  void retire_locked(std::shared_ptr<TargetNode> node) const;
  scsi::TaskAborter* aborter_ = nullptr;
  mutable std::mutex mutex_;  // login, discovery, reload and status only
  std::vector<std::shared_ptr<TargetNode>> targets_;
  struct Retired {
    std::shared_ptr<TargetNode> node;
    std::chrono::steady_clock::time_point since;
  };
  mutable std::vector<Retired> retired_;
  std::chrono::seconds retire_delay_{60};
  std::vector<config::Endpoint> portals_;
  uint16_t portal_group_tag_ = kPortalGroupTag;
};

}  // namespace sharedisk::iscsi
