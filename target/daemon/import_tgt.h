// `sharedisk-target import-tgt FILE`: converts a tgt configuration —
// targets.conf with its includes, or `tgt-admin --dump` output — into an
// equivalent lun.yaml, so that a tgt host switches in one step.
//
// Mapped: <target>, backing-store / direct-store (plain or as a block with
// options), lun, write-cache, readonly, block-size, scsi_sn, product_id,
// initiator-address (ALL = open), initiator-name. Reported as notes (comments
// in the output, and on stderr): CHAP users (incominguser/outgoinguser: the
// passwords are never copied), per-target iSCSI tuning keys, vendor_id,
// scsi_id, tgt's LUN 0 controller, and anything else tgt knows that has no
// equivalent here. The result is validated by loading it back with the same
// rules as the daemon; a result that would not load is an error.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace sharedisk::daemon {

struct ImportOptions {
  std::vector<std::string> portals = {"0.0.0.0:3260"};  // tgtd's default listen address
};

struct ImportResult {
  std::string yaml;
  std::vector<std::string> notes;  // "file:line: text"
};

// Throws std::runtime_error "file:line: message" for input that cannot be converted.
ImportResult import_tgt_text(const std::string& text, const std::string& source,
                             const ImportOptions& options = {});
ImportResult import_tgt_file(const std::string& path, const ImportOptions& options = {});

}  // namespace sharedisk::daemon
