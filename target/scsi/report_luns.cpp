// REPORT LUNS (SPC-4 6.33); served on any LUN, including LUN 0 when absent.
#include <vector>

#include "scsi/cdb.h"
#include "scsi/command.h"

namespace sharedisk::scsi {

void cmd_report_luns(DeviceImpl& dev, Lun* lun, Task& task) {
  uint8_t select = task.cdb[2];
  uint32_t alloc = get_be32(task.cdb + 6);
  if (select > 2) return fail_cdb(task, lun, 2);
  std::vector<uint64_t> numbers;
  if (select != 1) numbers = dev.luns();  // 01h: well-known LUNs only, we have none
  // At most 256 LUNs fit a 2 KiB answer; REPORT LUNS is rare, build on the stack.
  uint8_t d[8 + 8 * 512] = {};
  uint32_t count = static_cast<uint32_t>(std::min<size_t>(numbers.size(), 512));
  put_be32(d, count * 8);
  for (uint32_t i = 0; i < count; ++i) put_be64(d + 8 + 8 * i, encode_lun(numbers[i]));
  // SPC-4 6.33: the answer is what REPORTED LUNS DATA HAS CHANGED told about.
  if (select != 1 && task.nexus != nullptr) dev.report_luns_seen(task.nexus);
  send_data_in(task, d, 8 + 8 * count, alloc);
}

}  // namespace sharedisk::scsi
