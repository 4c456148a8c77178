// Live reconfiguration (SIGHUP, `sharedisk-target reload`): re-reads the
// configuration file and applies the differences, target by target:
//   - a new target is built and registered;
//   - a removed target leaves the registry and its sessions are closed;
//   - a target whose LUNs, alias or queue depth changed is rebuilt with the
//     new LUN set and swapped in; its sessions are closed so that initiators
//     log in again and see it (the I/O counters of kept LUNs carry over);
//   - a changed access list is applied in place; only sessions it no longer
//     allows are closed.
// Sessions of every other target are not touched. Everything is checked and
// every new backing opened before anything changes: a bad file (reported as
// file:line: key: message) or a backing that cannot be opened refuses the
// whole reload and the running configuration stays. Settings that need a
// restart (portals, threads, iscsi, admin_socket, metrics, state_dir, gateway) are
// reported and kept as running; log_level is applied.
#pragma once

#include <string>
#include <vector>

#include "daemon/state.h"

namespace sharedisk::daemon {

struct ReloadResult {
  bool ok = false;
  std::string message;  // one line per change or the reason for refusing
};

// What a reload from `cur` to `next` changes, decided on the configurations alone
// (nothing opened). Pointers refer into `cur` (removed) and `next` (the rest).
struct ReloadPlan {
  std::vector<const config::Target*> removed, added;
  std::vector<const config::Target*> rebuilt;  // alias or queue depth changed
  struct Luns {                                // changed in place, sessions kept
    const config::Target* target;
    std::vector<uint64_t> removed;
    std::vector<const config::Lun*> added, replaced;
  };
  std::vector<Luns> luns;
  std::vector<const config::Target*> access_changed;
  std::vector<std::string> restart;  // keys that need a restart
  bool log_level_changed = false;
};
ReloadPlan plan_reload(const config::Config& cur, const config::Config& next);
// One line per change ("add target ...", "target X: remove LUN 2 (sessions kept)"), or
// "no change".
std::vector<std::string> describe(const ReloadPlan& plan, const config::Config& next);

// Control thread only.
ReloadResult reload(DaemonState& state);
// `reload --dry-run`: re-reads and checks the file (every backing a reload would open is
// checked, none opened) and reports what reload() would change; changes nothing. `ok` is
// false when the reload would be refused.
ReloadResult dry_run(const DaemonState& state);
// The same from an already loaded configuration (tests, and reload() itself).
ReloadResult apply(DaemonState& state, config::Config next);

}  // namespace sharedisk::daemon
