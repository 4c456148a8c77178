// Linked into sharedisk-target-faults only (the test build of the daemon, not
// installed): lets lun.yaml put a LUN behind the fault-injecting store,
//
//   - number: 2
//     path: /var/tmp/test/lun2.img
//     fault: {control: /var/tmp/test/lun2.faults}
//
// The production sharedisk-target never links this file, so there `fault:`
// is a configuration error (exit 2) and the store is not even in the binary.
#include "blockdev/fault_device.h"
#include "config/config.h"
#include "daemon/target_builder.h"

namespace {

std::unique_ptr<sharedisk::blockdev::BlockDevice> wrap(
    std::unique_ptr<sharedisk::blockdev::BlockDevice> store, const sharedisk::config::Lun& lun) {
  sharedisk::blockdev::FaultOptions o;
  o.control_path = lun.fault_control;
  o.block_size = lun.block_size;
  return sharedisk::blockdev::make_fault_device(std::move(store), std::move(o));
}

[[maybe_unused]] const bool kEnabled = [] {
  sharedisk::config::allow_fault_injection();
  sharedisk::daemon::set_fault_wrap(wrap);
  return true;
}();

}  // namespace
