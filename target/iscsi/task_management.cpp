#include "iscsi/task_management.h"

namespace sharedisk::iscsi {

namespace {
// A command the request can still reach: received and not yet answered.
bool live(const Command* cmd) {
  return cmd != nullptr && cmd->state != Command::State::kResponding;
}
}  // namespace

TmfPlan plan_task_management(const TmfRequest& r, const CommandWindow& window, bool normal_session,
                             uint64_t lun_number, bool lun_exists) {
  TmfPlan plan;
  if (!normal_session) {
    plan.response = tmf::kRejected;
    return plan;
  }
  switch (r.function) {
    case tmf::kAbortTask: {
      const Command* cmd = window.find_by_itt(r.ref_itt);
      if (live(cmd)) {
        plan.abort = true;
        plan.scope.only_itt = r.ref_itt;
      } else if (cmd == nullptr && window.acceptable(r.ref_cmdsn) && sn_lt(r.ref_cmdsn, r.cmdsn)) {
        // RFC 7143 §11.5.1: a task not received yet whose CmdSN is in the
        // window counts as received (and so is never executed).
        plan.consume_ref_cmdsn = true;
      } else {
        plan.response = tmf::kTaskDoesNotExist;
      }
      break;
    }
    case tmf::kAbortTaskSet:
    case tmf::kClearTaskSet:
    case tmf::kLogicalUnitReset:
      if (!lun_exists) {
        plan.response = tmf::kLunDoesNotExist;
        break;
      }
      plan.abort = true;
      plan.scope.lun_filter = true;
      plan.scope.lun = lun_number;
      // A reset aborts every session's tasks on the LU (SAM-5 §7.7); its
      // unit attentions follow once they have all drained.
      if (r.function == tmf::kLogicalUnitReset) plan.reset = TmfPlan::Reset::kLogicalUnit;
      break;
    case tmf::kTargetWarmReset:
    case tmf::kTargetColdReset:
      plan.abort = true;  // every command of the session
      plan.reset = TmfPlan::Reset::kTarget;
      plan.close_after = r.function == tmf::kTargetColdReset;
      break;
    case tmf::kQueryTask:
      plan.response = live(window.find_by_itt(r.ref_itt)) ? tmf::kComplete : tmf::kTaskDoesNotExist;
      break;
    case tmf::kTaskReassign:
      plan.response = tmf::kReassignNotSupported;
      break;
    default:
      plan.response = tmf::kNotSupported;
      break;
  }
  return plan;
}

}  // namespace sharedisk::iscsi
