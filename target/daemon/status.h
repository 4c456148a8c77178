// `sharedisk-target status`: targets, their LUNs (backing, size, I/O
// counters), access lists and sessions (initiator, address, negotiated
// parameters), as aligned text or as JSON. Any thread.
#pragma once

#include <string>

#include "daemon/state.h"

namespace sharedisk::daemon {

std::string status_text(const DaemonState& state);
std::string status_json(const DaemonState& state);

}  // namespace sharedisk::daemon
