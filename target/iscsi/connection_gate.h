// Admission of TCP connections before any iSCSI byte is read: a bound on all
// connections of the daemon and on the connections from one IP address, so
// that one initiator (or a scanner) cannot exhaust file descriptors or
// receive buffers. A Ticket holds a place and gives it back when destroyed.
// Thread-safe (the acceptor and every loop's connection teardown use it).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace sharedisk::iscsi {

class ConnectionGate {
 public:
  class Ticket {
   public:
    ~Ticket() { gate_.leave(address_); }
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;

   private:
    friend class ConnectionGate;
    Ticket(ConnectionGate& gate, std::string address) : gate_(gate), address_(std::move(address)) {}
    ConnectionGate& gate_;
    std::string address_;
  };

  void configure(uint32_t max_total, uint32_t max_per_address);
  // A ticket, or null (with *why) when a limit is reached.
  std::unique_ptr<Ticket> enter(const std::string& address, const char** why);
  uint32_t total() const;
  uint32_t from(const std::string& address) const;

 private:
  void leave(const std::string& address);
  mutable std::mutex mutex_;
  uint32_t max_total_ = 1024;
  uint32_t max_per_address_ = 128;
  uint32_t total_ = 0;
  std::map<std::string, uint32_t> per_address_;
};

}  // namespace sharedisk::iscsi
