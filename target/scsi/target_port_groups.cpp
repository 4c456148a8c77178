// REPORT TARGET PORT GROUPS (SPC-4 6.37): implicit ALUA (TPGS=01b in the
// standard INQUIRY data) with one target port group per portal group, always
// active/optimized. A second gateway (roadmap) will report its own group and
// the states will come from the cluster; SET TARGET PORT GROUPS (explicit
// ALUA) is not offered.
#include "scsi/cdb.h"
#include "scsi/command.h"

namespace sharedisk::scsi {

namespace {
constexpr uint8_t kActiveOptimized = 0x0;
constexpr uint8_t kAoSupported = 0x01;          // AO_SUP
constexpr uint8_t kImplicitTransitionSecs = 0;  // no transitions happen
}  // namespace

void cmd_report_target_port_groups(DeviceImpl& dev, Lun* lun, Task& task) {
  const uint8_t* cdb = task.cdb;
  uint8_t format = cdb[1] >> 5;
  if (format > 1) return fail_cdb(task, lun, 1, 7);
  uint32_t alloc = get_be32(cdb + 6);
  uint16_t tpg = task.nexus != nullptr ? task.nexus->target_port_group() : 1;
  std::vector<uint16_t> ports = dev.target_ports(tpg);
  if (ports.empty() && task.nexus != nullptr) ports.push_back(task.nexus->relative_target_port());
  if (ports.size() > 255) ports.resize(255);
  std::vector<uint8_t> d(8 + 8 + 4 * ports.size(), 0);
  uint32_t hdr = format == 1 ? 8 : 4;
  if (format == 1) {
    d[4] = 0x10;  // FORMAT TYPE 001b: extended header
    d[5] = kImplicitTransitionSecs;
  }
  uint8_t* g = d.data() + hdr;
  g[0] = 0x80 | kActiveOptimized;  // PREF: the preferred group
  g[1] = kAoSupported;
  put_be16(g + 2, tpg);
  g[5] = 0x00;  // STATUS CODE: no status
  g[7] = static_cast<uint8_t>(ports.size());
  for (size_t i = 0; i < ports.size(); ++i) put_be16(g + 8 + 4 * i + 2, ports[i]);
  uint32_t len = hdr + 8 + 4 * static_cast<uint32_t>(ports.size());
  put_be32(d.data(), len - 4);
  send_data_in(task, d.data(), len, alloc);
}

}  // namespace sharedisk::scsi
