// REQUEST SENSE (SPC-4 6.29). No deferred errors are kept, so the parameter
// data reports a pending unit attention (and clears it, SAM-5 5.14), LOGICAL
// UNIT NOT SUPPORTED for an unknown LUN, or NO SENSE.
#include "scsi/command.h"

namespace sharedisk::scsi {

void cmd_request_sense(DeviceImpl&, Lun* lun, Task& task) {
  bool desc = task.cdb[1] & 0x01;
  uint32_t alloc = task.cdb[4];
  uint8_t key = sense_key::kNoSense;
  uint16_t code = asc::kNoAdditionalSense;
  if (lun == nullptr) {
    key = sense_key::kIllegalRequest;
    code = asc::kLunNotSupported;
  } else if (lun->ua_maybe_pending() && lun->ua_take(task.nexus, &code)) {
    key = sense_key::kUnitAttention;
  }
  uint8_t d[Task::kMaxSense];
  unsigned len = build_sense(d, sizeof d, desc, key, code);
  send_data_in(task, d, len, alloc);
}

}  // namespace sharedisk::scsi
