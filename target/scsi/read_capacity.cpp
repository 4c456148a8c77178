// READ CAPACITY (10) and (16) (SBC-3 5.15, 5.16).
#include "scsi/cdb.h"
#include "scsi/command.h"

namespace sharedisk::scsi {

void cmd_read_capacity10(DeviceImpl&, Lun* lun, Task& task) {
  bool pmi = task.cdb[8] & 0x01;
  if (!pmi && get_be32(task.cdb + 2) != 0) return fail_cdb(task, lun, 2);
  uint64_t last = lun->num_blocks() - 1;
  uint8_t d[8];
  put_be32(d, last > 0xFFFFFFFFull ? 0xFFFFFFFFu : static_cast<uint32_t>(last));
  put_be32(d + 4, lun->block_size());
  send_data_in(task, d, 8, 8);
}

void cmd_read_capacity16(DeviceImpl&, Lun* lun, Task& task) {
  uint32_t alloc = get_be32(task.cdb + 10);
  uint8_t d[32] = {};
  put_be64(d, lun->num_blocks() - 1);
  put_be32(d + 8, lun->block_size());
  d[13] = static_cast<uint8_t>(lun->lbppbe() & 0x0F);
  if (lun->thin()) d[14] = 0x80 | (lun->info().discard_zeroes ? 0x40 : 0);  // LBPME, LBPRZ
  send_data_in(task, d, 32, alloc);
}

}  // namespace sharedisk::scsi
