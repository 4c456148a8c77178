// Whether a gateway failover finishes before the o2cb disk heartbeat declares this node dead
// (and o2hb reboots it), from the three files that decide it: /etc/default/o2cb,
// iscsid.conf and multipath.conf. The model and its sources are in docs/deployment.md
// ("Timeouts that must fit together").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sharedisk/ocfs2/diagnostic.h"
#include "sharedisk/ocfs2/iscsid_conf.h"
#include "sharedisk/ocfs2/multipath_conf.h"
#include "sharedisk/ocfs2/o2cb_defaults.h"

namespace sharedisk::ocfs2 {

// What sharedisk-target reports in INQUIRY (target/scsi/device.h); the product can be
// changed per LUN in lun.yaml (`product:`).
inline constexpr const char* kTargetVendor = "SHAREDSK";
inline constexpr const char* kTargetProduct = "VIRTUAL-DISK";

// o2hb writes its heartbeat every 2000 ms (O2HB_REGION_TIMEOUT_MS) and fences the node when
// its own write has not completed for (threshold - 1) iterations: 31 -> 60 s.
std::uint32_t heartbeat_dead_seconds(const O2cbTimeouts& t);

struct FailoverInputs {
  O2cbTimeouts o2cb = O2cbTimeouts::defaults();
  IscsidTimeouts iscsid;
  std::optional<MultipathSettings> multipath;  // nullopt: one path, no dm-multipath
  std::uint32_t takeover_seconds = 10;  // target side: the RBD exclusive lock moving (or a restart)
  std::uint32_t margin_seconds = 10;    // kept free under the heartbeat dead time
};

struct TimingTerm {
  std::string name;  // stable identifier: detection, io-failover, takeover
  std::uint32_t seconds = 0;
  std::string what;    // one line for a person
  std::string source;  // where the value comes from
};

struct FailoverVerdict {
  std::vector<TimingTerm> terms;
  std::uint32_t total_seconds = 0;             // worst case until I/O completes again
  std::uint32_t heartbeat_dead_seconds = 0;    // o2hb's limit
  std::uint32_t limit_seconds = 0;             // dead time minus margin
  std::optional<std::uint32_t> queue_seconds;  // no_path_retry x polling_interval
  std::string recovery_governed_by;            // "fast_io_fail_tmo" or "replacement_timeout"
  bool fits = false;                           // total within the limit and no error below
  Diagnostics diagnostics;                     // line 0: about the combination, not one file
};

FailoverVerdict check_failover(const FailoverInputs& in);

struct StanzaOptions {
  std::string vendor = kTargetVendor;
  std::string product = kTargetProduct;
  O2cbTimeouts o2cb = O2cbTimeouts::defaults();
  IscsidTimeouts iscsid;
  std::uint32_t polling_interval = 5;  // the defaults section's (or multipathd's) value
  std::uint32_t fast_io_fail_tmo = 5;
  std::uint32_t takeover_seconds = 10;
  std::uint32_t margin_seconds = 10;
};

struct StanzaResult {
  std::string text;  // "devices { device { ... } }", empty when nothing can fit
  std::uint32_t no_path_retry = 0;
  Diagnostics diagnostics;
};

// The multipath.conf device entry for the target: ALUA groups, queueing that covers the
// takeover (plus one path check) and stays under the heartbeat.
StanzaResult multipath_stanza(const StanzaOptions& o);

}  // namespace sharedisk::ocfs2
