// systemd readiness notification (sd_notify(3)) without libsystemd: one
// datagram to the AF_UNIX socket named by $NOTIFY_SOCKET ('@' = abstract
// namespace). Does nothing when the variable is unset (not run by systemd).
#pragma once

#include <string>

namespace sharedisk::daemon {

// Sends e.g. "READY=1\nSTATUS=serving 2 targets". Returns false on a send error.
bool sd_notify(const std::string& state);

}  // namespace sharedisk::daemon
