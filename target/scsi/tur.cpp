// TEST UNIT READY (SPC-4 6.37): the medium is always ready.
#include "scsi/command.h"

namespace sharedisk::scsi {

void cmd_test_unit_ready(DeviceImpl&, Lun*, Task& task) {
  task.status = status::kGood;
  complete(task);
}

}  // namespace sharedisk::scsi
