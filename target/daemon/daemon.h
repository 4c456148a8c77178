// Turns a validated Config into a running target: checks and opens the
// backing stores, builds the SCSI devices and iSCSI targets, binds the
// portals, then serves until SIGINT/SIGTERM, drains and exits.
//
// While serving, a control thread (the caller's) runs the admin socket
// (`status`, `reload`), the optional Prometheus listener, and SIGHUP (reload).
// Under systemd (Type=notify) it reports READY=1 once every portal listens,
// RELOADING=1/READY=1 around a reload and STOPPING=1 at shutdown.
#pragma once

#include <string>

#include "config/config.h"
#include "daemon/state.h"
#include "daemon/target_builder.h"

namespace sharedisk::daemon {

// Returns the process exit status. Errors are printed as one clear line each.
// `config` already has `overrides` applied; a reload applies them again.
int run(const config::Config& config, const Overrides& overrides = {});

}  // namespace sharedisk::daemon
