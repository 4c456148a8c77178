// REPORT TARGET PORT GROUPS (SPC-4 6.37) and SET TARGET PORT GROUPS (6.39):
// implicit and explicit ALUA (TPGS=11b in the standard INQUIRY data).
//
// Every gateway's group is listed with its relative target ports, from the
// LUN's Alua object (scsi/alua.h), so every path of this gateway sees the
// same list. SET TARGET PORT GROUPS changes this gateway's group only (to
// active/optimized, active/non-optimized or standby): another gateway's state
// is that gateway's to change.
#include <algorithm>

#include "scsi/cdb.h"
#include "scsi/command.h"

namespace sharedisk::scsi {

namespace {
// T_SUP=0, O_SUP=0, LBD_SUP=0, U_SUP=0, S_SUP, AN_SUP, AO_SUP.
constexpr uint8_t kSupportedStates = 0x07;
constexpr uint8_t kImplicitTransitionSecs = 0;  // a transition is immediate
constexpr size_t kMaxPortsPerGroup = 255;
}  // namespace

void cmd_report_target_port_groups(DeviceImpl&, Lun* lun, Task& task) {
  const uint8_t* cdb = task.cdb;
  uint8_t format = cdb[1] >> 5;
  if (format > 1) return fail_cdb(task, lun, 1, 7);
  uint32_t alloc = get_be32(cdb + 6);
  const Alua& alua = lun->alua();
  std::vector<Alua::Group> groups = alua.groups();
  uint32_t hdr = format == 1 ? 8 : 4;
  size_t size = hdr;
  for (const Alua::Group& g : groups) size += 8 + 4 * std::min(g.ports->size(), kMaxPortsPerGroup);
  std::vector<uint8_t> d(size, 0);
  if (format == 1) {
    d[4] = 0x10;  // FORMAT TYPE 001b: extended header
    d[5] = kImplicitTransitionSecs;
  }
  uint8_t* p = d.data() + hdr;
  for (const Alua::Group& g : groups) {
    size_t ports = std::min(g.ports->size(), kMaxPortsPerGroup);
    // PREF only when this gateway is alone (as before there were peers):
    // with peers, no group is preferred over another.
    p[0] = static_cast<uint8_t>((alua.topology().has_peers() ? 0 : 0x80) |
                                static_cast<uint8_t>(g.state));
    p[1] = kSupportedStates;
    put_be16(p + 2, g.id);
    p[5] = static_cast<uint8_t>(g.status);
    p[7] = static_cast<uint8_t>(ports);
    for (size_t i = 0; i < ports; ++i) put_be16(p + 8 + 4 * i + 2, (*g.ports)[i]);
    p += 8 + 4 * ports;
  }
  put_be32(d.data(), static_cast<uint32_t>(size - 4));
  send_data_in(task, d.data(), static_cast<uint32_t>(size), alloc);
}

void cmd_set_target_port_groups(DeviceImpl&, Lun* lun, Task& task) {
  uint32_t param_len = get_be32(task.cdb + 6);
  task.transfer_length = param_len;
  if (param_len == 0) {  // nothing to change (SPC-4 6.39.1)
    task.status = status::kGood;
    return complete(task);
  }
  // A 4-byte header, then 4-byte descriptors.
  if (param_len < 4 || param_len % 4 != 0 || data_out_bytes(task) < param_len)
    return fail(task, lun, sense_key::kIllegalRequest, asc::kParameterListLengthError);
  const uint8_t* p = task.buffer.data();
  Alua& alua = lun->alua();
  // Check every descriptor before changing anything.
  bool have = false;
  AluaState want = AluaState::kActiveOptimized;
  for (uint32_t off = 4; off < param_len; off += 4) {
    auto state = static_cast<AluaState>(p[off] & 0x0F);
    uint16_t group = get_be16(p + off + 2);
    if (!Alua::supported(state)) return fail_param(task, lun, uint16_t(off), 3);
    if (!alua.is_local(group)) return fail_param(task, lun, uint16_t(off + 2));
    // The same group twice with different states is an invalid combination.
    if (have && state != want) return fail_param(task, lun, uint16_t(off), 3);
    have = true;
    want = state;
  }
  if (have && alua.set_local_state(want))
    lun->ua_add_others(task.nexus, asc::kAsymmetricAccessStateChanged);
  task.status = status::kGood;
  complete(task);
}

}  // namespace sharedisk::scsi
