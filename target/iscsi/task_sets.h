// Cross-session task management. Each I_T nexus of a normal session is
// registered with the connection that owns its task set, so that a LOGICAL
// UNIT RESET or a PREEMPT AND ABORT can abort the tasks *other* sessions have
// on a LUN (SAM-5 §7.7, SPC-4 §5.13.5) and be answered only once every one of
// them has drained: nothing aborted completes or writes after the answer.
// Registration happens at login and logout only (one mutex); the aborts run
// on each victim connection's own event loop.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "scsi/device.h"

namespace boost::asio {
class io_context;
}

namespace sharedisk::iscsi {

class ConnectionEngine;
struct TargetNode;

class TaskSets final : public scsi::TaskAborter {
 public:
  void set_loops(std::vector<boost::asio::io_context*> loops) { loops_ = std::move(loops); }

  void add(scsi::Nexus* nexus, const TargetNode* target, std::weak_ptr<ConnectionEngine> owner);
  void remove(scsi::Nexus* nexus);

  // The nexuses of `target` other than `except`.
  std::vector<scsi::Nexus*> others(const TargetNode* target, const scsi::Nexus* except) const;

  // Aborts every task `victims` have on LUN `lun` (TAS=0: no status), then
  // runs `done` on event loop `done_loop` once all of them have drained.
  void abort_tasks(const std::vector<scsi::Nexus*>& victims, uint64_t lun, unsigned done_loop,
                   std::function<void()> done);

  // scsi::TaskAborter (PREEMPT AND ABORT).
  void abort_nexus_tasks(const std::vector<scsi::Nexus*>& victims, uint64_t lun, scsi::Task& by,
                         std::function<void()> done) override;
  // A peer gateway's PREEMPT AND ABORT: done() runs on the first loop.
  void abort_nexus_tasks_for_peer(const std::vector<scsi::Nexus*>& victims, uint64_t lun,
                                  std::function<void()> done) override;

 private:
  struct Entry {
    scsi::Nexus* nexus;
    const TargetNode* target;
    std::weak_ptr<ConnectionEngine> owner;
  };
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
  std::vector<boost::asio::io_context*> loops_;
};

}  // namespace sharedisk::iscsi
