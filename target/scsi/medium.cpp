// PREVENT ALLOW MEDIUM REMOVAL (SBC-3 5.11), PRE-FETCH 10/16 (5.9, 5.10) and
// READ DEFECT DATA 10/12 (5.17, 5.18) for a medium that is fixed, has no
// cache worth pre-loading and no defect lists.
#include "scsi/cdb.h"
#include "scsi/command.h"

namespace sharedisk::scsi {

void cmd_prevent_allow(DeviceImpl&, Lun* lun, Task& task) {
  uint8_t prevent = task.cdb[4] & 0x03;
  if (prevent > 1) return fail_cdb(task, lun, 4, 1);
  lun->set_prevent(task.nexus, prevent == 1);
  task.status = status::kGood;
  complete(task);
}

void cmd_prefetch(DeviceImpl&, Lun* lun, Task& task) {
  uint64_t lba;
  uint32_t blocks;
  decode_lba_blocks(task.cdb, &lba, &blocks);
  if (!lba_in_range(*lun, lba, blocks)) return fail_lba(task, lun);
  // GOOD rather than CONDITION MET: nothing is kept in a cache for later.
  task.status = status::kGood;
  complete(task);
}

void cmd_read_defect_data(DeviceImpl&, Lun*, Task& task) {
  const uint8_t* cdb = task.cdb;
  bool twelve = cdb[0] == 0xB7;
  uint8_t req = (twelve ? cdb[1] : cdb[2]) & 0x1F;  // REQ_PLIST, REQ_GLIST, format
  uint32_t alloc = twelve ? get_be32(cdb + 6) : get_be16(cdb + 7);
  uint8_t d[8] = {};
  // Echo the lists asked for as valid and empty, in the requested format.
  d[1] = req;
  send_data_in(task, d, twelve ? 8 : 4, alloc);
}

}  // namespace sharedisk::scsi
