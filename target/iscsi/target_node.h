// The iSCSI targets this daemon serves: name, alias, access list, the SCSI
// device behind each, and the portal group every target is reachable on.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "scsi/device.h"

namespace sharedisk::iscsi {

constexpr uint16_t kPortalGroupTag = 1;

struct TargetNode {
  std::string iqn;
  std::string alias;
  std::vector<std::string> allowed_initiators;    // empty: any name
  std::vector<config::Network> allowed_networks;  // empty: any address
  uint32_t queue_depth = 128;
  std::unique_ptr<scsi::Device> device;

  // May `initiator_name` connecting from `address` (numeric) use this target?
  bool allows(const std::string& initiator_name, const std::string& address) const;
};

class TargetRegistry {
 public:
  void add(std::unique_ptr<TargetNode> node) { targets_.push_back(std::move(node)); }
  void set_portals(std::vector<config::Endpoint> portals) { portals_ = std::move(portals); }

  TargetNode* find(const std::string& iqn) const;
  const std::vector<std::unique_ptr<TargetNode>>& targets() const { return targets_; }
  const std::vector<config::Endpoint>& portals() const { return portals_; }

  // The SendTargets answer (RFC 7143 Appendix C) for an initiator: every
  // target it may see (or only `only_target`), each with every portal; a
  // wildcard portal address is replaced by `local_address`.
  std::string send_targets(const std::string& initiator_name, const std::string& peer_address,
                           const std::string& local_address, const std::string& only_target) const;

 private:
  std::vector<std::unique_ptr<TargetNode>> targets_;
  std::vector<config::Endpoint> portals_;
};

}  // namespace sharedisk::iscsi
