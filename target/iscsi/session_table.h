// Every logged-in session of the daemon, for TSIH assignment and session
// reinstatement (RFC 7143 §6.3.5): a login with the ISID and initiator name of
// a live session to the same target replaces it. Also what `status` shows of
// each session (set once at login). Touched only at login, logout, reload and
// status, under one mutex; never on the I/O path.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "iscsi/negotiation.h"

namespace sharedisk::iscsi {

class ConnectionEngine;

struct SessionKey {
  std::string initiator;  // InitiatorName as given
  uint64_t isid = 0;
  std::string target;  // empty for discovery sessions
};

// A session as `status` reports it.
struct SessionInfo {
  SessionKey key;
  uint16_t tsih = 0;
  std::string initiator_alias;
  std::string peer;   // initiator address
  std::string local;  // portal address the initiator connected to
  unsigned loop = 0;
  SessionParams params;
  std::chrono::system_clock::time_point since;
};

class SessionTable {
 public:
  // Registers `conn` as a session. A live session with the same key is
  // returned in *replaced (the caller closes it); a non-zero requested TSIH
  // must name such a session and is kept. Returns the TSIH, or 0 with *status.
  uint16_t admit(const SessionKey& key, uint16_t requested_tsih,
                 std::weak_ptr<ConnectionEngine> conn, std::shared_ptr<ConnectionEngine>* replaced,
                 uint16_t* status);
  // Records what status shows of session `tsih` (owned by `conn`).
  void describe(uint16_t tsih, const ConnectionEngine* conn, SessionInfo info);
  // Forgets the session `tsih` if `conn` still owns it.
  void remove(uint16_t tsih, const ConnectionEngine* conn);
  size_t size() const;
  std::vector<std::shared_ptr<ConnectionEngine>> connections() const;
  // Live sessions (with their connection) in TSIH order.
  std::vector<std::pair<SessionInfo, std::shared_ptr<ConnectionEngine>>> sessions() const;

 private:
  struct Entry {
    SessionKey key;
    uint16_t tsih;
    std::weak_ptr<ConnectionEngine> conn;
    const ConnectionEngine* raw;
    SessionInfo info;
  };
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
  uint16_t next_tsih_ = 1;
};

}  // namespace sharedisk::iscsi
