// START STOP UNIT (SBC-3 5.25). The medium is not removable and never spun
// down: power conditions and START are accepted as no-ops; LOEJ (load/eject)
// is refused.
#include "scsi/command.h"

namespace sharedisk::scsi {

void cmd_start_stop_unit(DeviceImpl&, Lun* lun, Task& task) {
  uint8_t b4 = task.cdb[4];
  uint8_t power_condition = b4 >> 4;
  bool loej = b4 & 0x02;
  if (power_condition == 0 && loej) return fail_cdb(task, lun, 4, 1);
  // 0 START_VALID, 1 ACTIVE, 2 IDLE, 3 STANDBY, 5 obsolete, 7 LU_CONTROL, 0Ah/0Bh FORCE_*
  switch (power_condition) {
    case 0x0:
    case 0x1:
    case 0x2:
    case 0x3:
    case 0x7:
    case 0xA:
    case 0xB:
      break;
    default:
      return fail_cdb(task, lun, 4, 7);
  }
  task.status = status::kGood;
  complete(task);
}

}  // namespace sharedisk::scsi
