#include "iscsi/connection_gate.h"

namespace sharedisk::iscsi {

void ConnectionGate::configure(uint32_t max_total, uint32_t max_per_address) {
  std::lock_guard lock(mutex_);
  max_total_ = max_total;
  max_per_address_ = max_per_address;
}

std::unique_ptr<ConnectionGate::Ticket> ConnectionGate::enter(const std::string& address,
                                                              const char** why) {
  std::lock_guard lock(mutex_);
  if (total_ >= max_total_) {
    *why = "limits.max_connections reached";
    return nullptr;
  }
  uint32_t& mine = per_address_[address];
  if (mine >= max_per_address_) {
    *why = "limits.max_connections_per_address reached";
    return nullptr;
  }
  ++mine;
  ++total_;
  return std::unique_ptr<Ticket>(new Ticket(*this, address));
}

void ConnectionGate::leave(const std::string& address) {
  std::lock_guard lock(mutex_);
  --total_;
  auto it = per_address_.find(address);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
}

uint32_t ConnectionGate::total() const {
  std::lock_guard lock(mutex_);
  return total_;
}

uint32_t ConnectionGate::from(const std::string& address) const {
  std::lock_guard lock(mutex_);
  auto it = per_address_.find(address);
  return it == per_address_.end() ? 0 : it->second;
}

}  // namespace sharedisk::iscsi
