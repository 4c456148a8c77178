#include "iscsi/target_node.h"

#include <algorithm>

#include "iscsi/text_keys.h"

namespace sharedisk::iscsi {

namespace {
bool iequal(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string format_address(const std::string& address, uint16_t port) {
  bool v6 = address.find(':') != std::string::npos;
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port) + "," +
         std::to_string(kPortalGroupTag);
}
}  // namespace

bool TargetNode::allows(const std::string& initiator_name, const std::string& address) const {
  // iSCSI names are case-insensitive (they are normalised to lower case by stringprep).
  bool name_ok = allowed_initiators.empty() ||
                 std::any_of(allowed_initiators.begin(), allowed_initiators.end(),
                             [&](const std::string& n) { return iequal(n, initiator_name); });
  bool net_ok = allowed_networks.empty() ||
                std::any_of(allowed_networks.begin(), allowed_networks.end(),
                            [&](const config::Network& n) { return n.contains(address); });
  return name_ok && net_ok;
}

TargetNode* TargetRegistry::find(const std::string& iqn) const {
  for (const auto& t : targets_)
    if (iequal(t->iqn, iqn)) return t.get();
  return nullptr;
}

std::string TargetRegistry::send_targets(const std::string& initiator_name,
                                         const std::string& peer_address,
                                         const std::string& local_address,
                                         const std::string& only_target) const {
  std::string out;
  for (const auto& t : targets_) {
    if (!only_target.empty() && !iequal(t->iqn, only_target)) continue;
    if (!t->allows(initiator_name, peer_address)) continue;
    append_key(out, "TargetName", t->iqn);
    for (const config::Endpoint& p : portals_) {
      bool wildcard = p.address == "0.0.0.0" || p.address == "::";
      append_key(out, "TargetAddress",
                 format_address(wildcard ? local_address : p.address, p.port));
    }
  }
  return out;
}

}  // namespace sharedisk::iscsi
