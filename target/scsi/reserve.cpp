// SPC-2 RESERVE/RELEASE (6 and 10) and the reservation conflict rules shared
// with persistent reservations (SPC-4 5.13.1 table 43, SBC-3 4.17).
#include "scsi/command.h"
#include "scsi/opcodes.h"
#include "scsi/reservations.h"

namespace sharedisk::scsi {

namespace {
const std::string kNone;
const std::string& ini(const Nexus* n) {
  return n ? n->initiator_port() : kNone;
}
const std::string& tgt(const Nexus* n) {
  return n ? n->target_port() : kNone;
}
}  // namespace

bool reservation_conflict(Lun& lun, const Nexus* nexus, Access access) {
  bool conflict = false;
  lun.reservations().read([&](const PrState& s) {
    if (s.spc2) {
      conflict = s.spc2->first != ini(nexus) || s.spc2->second != tgt(nexus);
      return;
    }
    if (s.type == 0 || s.is_holder(ini(nexus), tgt(nexus))) return;
    bool registered = s.find(ini(nexus), tgt(nexus)) != nullptr;
    switch (s.type) {
      case pr_type::kWriteExclusive:
        conflict = access == Access::kWrite;
        break;
      case pr_type::kExclusiveAccess:
        conflict = true;
        break;
      case pr_type::kWriteExclusiveRegistrantsOnly:
      case pr_type::kWriteExclusiveAllRegistrants:
        conflict = access == Access::kWrite && !registered;
        break;
      default:
        conflict = !registered;
        break;
    }
  });
  return conflict;
}

}  // namespace sharedisk::scsi
