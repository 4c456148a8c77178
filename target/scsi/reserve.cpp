// SPC-2 RESERVE/RELEASE (6 and 10) and the reservation conflict rules shared
// with persistent reservations (SPC-4 5.13.1 table 43, SBC-3 4.17).
#include "scsi/command.h"
#include "scsi/opcodes.h"
#include "scsi/reservations.h"

namespace sharedisk::scsi {

namespace {
const std::string kNoPort;
const std::string& ini(const Nexus* n) {
  return n ? n->initiator_port() : kNoPort;
}
const std::string& tgt(const Nexus* n) {
  return n ? n->target_port() : kNoPort;
}
}  // namespace

bool reservation_conflict(Lun& lun, const Nexus* nexus, Access access) {
  bool conflict = false;
  lun.reservations().read([&](const PrState& s) {
    if (s.spc2) {
      conflict = s.spc2->first != ini(nexus) || s.spc2->second != tgt(nexus);
      return;
    }
    if (access == Access::kPrAllowed) return;
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

// RESERVE(6)/(10): the whole LUN for this nexus. A persistent reservation
// makes it a conflict (SPC-4 5.13.3); third-party reservations are refused.
// On a LUN whose state several gateways share it is not supported: an SPC-2
// reservation ends with its nexus, which a gateway cannot release for a peer
// that died, so it would outlive its holder in the cluster.
void cmd_reserve(DeviceImpl&, Lun* lun, Task& task) {
  if (lun->reservations().shared())
    return fail(task, lun, sense_key::kIllegalRequest, asc::kInvalidOpcode);
  if (task.cdb[0] == 0x56 && (task.cdb[1] & 0x12)) return fail_cdb(task, lun, 1, 4);
  if (task.cdb[0] == 0x16 && (task.cdb[1] & 0x01)) return fail_cdb(task, lun, 1, 0);
  bool conflict = false;
  lun->reservations().update([&](PrState& s) {
    conflict = false;
    if (s.type != 0 ||
        (s.spc2 && (s.spc2->first != ini(task.nexus) || s.spc2->second != tgt(task.nexus)))) {
      conflict = true;
      return false;
    }
    if (s.spc2) return false;
    s.spc2.emplace(ini(task.nexus), tgt(task.nexus));
    return true;
  });
  task.status = conflict ? status::kReservationConflict : status::kGood;
  complete(task);
}

// RELEASE(6)/(10): drops this nexus' reservation; anything else is a no-op.
void cmd_release(DeviceImpl&, Lun* lun, Task& task) {
  if (lun->reservations().shared())
    return fail(task, lun, sense_key::kIllegalRequest, asc::kInvalidOpcode);
  if (task.cdb[0] == 0x57 && (task.cdb[1] & 0x12)) return fail_cdb(task, lun, 1, 4);
  bool conflict = false;
  lun->reservations().update([&](PrState& s) {
    conflict = false;
    if (s.type != 0 && !s.spc2) {
      // SPC-4 5.13.3: RELEASE is a conflict when a persistent reservation
      // is held, unless this nexus is a registrant.
      conflict = s.find(ini(task.nexus), tgt(task.nexus)) == nullptr;
      return false;
    }
    if (!s.spc2 || s.spc2->first != ini(task.nexus) || s.spc2->second != tgt(task.nexus))
      return false;
    s.spc2.reset();
    return true;
  });
  task.status = conflict ? status::kReservationConflict : status::kGood;
  complete(task);
}

}  // namespace sharedisk::scsi
