// Every logged-in session of the daemon, for TSIH assignment and session
// reinstatement (RFC 7143 §6.3.5): a login with the ISID and initiator name of
// a live session to the same target replaces it. Touched only at login and
// logout, under one mutex; never on the I/O path.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sharedisk::iscsi {

class Connection;

struct SessionKey {
  std::string initiator;  // InitiatorName as given
  uint64_t isid = 0;
  std::string target;  // empty for discovery sessions
};

class SessionTable {
 public:
  // Registers `conn` as a session. A live session with the same key is
  // returned in *replaced (the caller closes it); a non-zero requested TSIH
  // must name such a session and is kept. Returns the TSIH, or 0 with *status.
  uint16_t admit(const SessionKey& key, uint16_t requested_tsih, std::weak_ptr<Connection> conn,
                 std::shared_ptr<Connection>* replaced, uint16_t* status);
  // Forgets the session `tsih` if `conn` still owns it.
  void remove(uint16_t tsih, const Connection* conn);
  size_t size() const;
  std::vector<std::shared_ptr<Connection>> connections() const;

 private:
  struct Entry {
    SessionKey key;
    uint16_t tsih;
    std::weak_ptr<Connection> conn;
    const Connection* raw;
  };
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
  uint16_t next_tsih_ = 1;
};

}  // namespace sharedisk::iscsi
