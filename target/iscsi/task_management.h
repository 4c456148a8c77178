// Task management of one session (RFC 7143 §11.5-11.6, SAM-5 §7),
// socket-free:
//
// - plan(): what a Task Management Function Request does — its response
//   code, which of the session's commands it aborts, whether it resets the
//   LU or the target (after the aborted tasks have drained, in this session
//   and the others), and the RFC 7143 §11.5.1 rule for an ABORT TASK of a
//   command not received yet: its RefCmdSN is consumed, so the command is
//   never executed and the CmdSN sequence keeps no hole;
// - TmfQueue: requests answered in the order they came, each only once
//   nothing it aborted can still run or write (no command of this session in
//   the SCSI layer marked aborted, no other session still draining for it).
//   A second request while the first waits queues behind it.
//
// The connection carries the plan out (aborts, asking other sessions to
// abort) and sends the answers the queue releases. No I/O, no logging.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>

#include "iscsi/command_window.h"
#include "iscsi/pdu.h"

namespace sharedisk::iscsi {

// The fields of a Task Management Function Request (RFC 7143 §11.5).
struct TmfRequest {
  uint8_t function = 0;  // tmf::k...
  bool immediate = false;
  uint64_t lun = 0;  // SAM LUN field as sent
  uint32_t itt = 0;
  uint32_t ref_itt = kReservedTag;  // Referenced Task Tag
  uint32_t cmdsn = 0;
  uint32_t ref_cmdsn = 0;

  static TmfRequest from(const Bhs& bhs) {
    return {.function = uint8_t(bhs.flags() & 0x7f),
            .immediate = bhs.immediate(),
            .lun = bhs.lun(),
            .itt = bhs.itt(),
            .ref_itt = bhs.field32(20),
            .cmdsn = bhs.cmdsn(),
            .ref_cmdsn = bhs.field32(32)};
  }
};

// What a request does, decided against the session's command window.
struct TmfPlan {
  enum class Reset : uint8_t { kNone, kLogicalUnit, kTarget };
  uint8_t response = tmf::kComplete;
  bool abort = false;              // abort the commands `scope` reaches (this session)
  AbortScope scope;                // LUN number decoded when scope.lun_filter
  bool consume_ref_cmdsn = false;  // ABORT TASK of a command not received yet
  Reset reset = Reset::kNone;      // also aborts in the other sessions, then resets
  bool close_after = false;        // TARGET COLD RESET: the connection ends
};

// `normal_session`: a normal session with a target (discovery sessions get
// "rejected"); `lun_number`/`lun_exists`: the request's LUN decoded, and
// whether the target has it.
TmfPlan plan_task_management(const TmfRequest& request, const CommandWindow& window,
                             bool normal_session, uint64_t lun_number, bool lun_exists);

// A request waiting for its answer.
struct PendingTmf {
  uint32_t itt = 0;
  uint8_t response = tmf::kComplete;
  std::function<void()> effect;  // device side effect (a reset), run once drained
  uint32_t remote_drains = 0;    // other sessions still draining for it
  bool close_after = false;
};

class TmfQueue {
 public:
  // Queues a request once its aborts have been started; whoever waits for
  // other sessions to drain keeps a reference and counts remote_drains down.
  void push(std::shared_ptr<PendingTmf> t) { queue_.push_back(std::move(t)); }
  // The oldest request, taken off the queue, if it may be answered now:
  // `draining` says an aborted command of this session is still in the SCSI
  // layer. Later requests never overtake an earlier one.
  std::shared_ptr<PendingTmf> pop_ready(bool draining) {
    if (queue_.empty() || draining || queue_.front()->remote_drains > 0) return nullptr;
    auto t = std::move(queue_.front());
    queue_.pop_front();
    return t;
  }
  bool empty() const { return queue_.empty(); }
  size_t size() const { return queue_.size(); }
  void clear() { queue_.clear(); }

 private:
  std::deque<std::shared_ptr<PendingTmf>> queue_;
};

}  // namespace sharedisk::iscsi
