// Turns a validated Config into a running target: checks and opens the
// backing stores, builds the SCSI devices and iSCSI targets, binds the
// portals, serves until SIGINT/SIGTERM, then drains and exits.
#pragma once

#include <string>

#include "config/config.h"

namespace sharedisk::daemon {

// Returns the process exit status. Errors are printed as one clear line each.
int run(const config::Config& config);

// Checks every backing path before anything is created: an existing file or
// device must be readable (and writable unless read-only); a missing file needs
// `size` and a writable directory. Returns an empty string or the problem.
std::string precheck_backing(const config::Lun& lun, const std::string& target);

}  // namespace sharedisk::daemon
