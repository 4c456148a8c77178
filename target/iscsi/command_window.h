// The command window of one iSCSI session (MaxConnections=1), socket-free:
//
// - the slot table: a Command per task the initiator has outstanding, taken
//   from a free list that only grows (at most kMaxSlots), found by ITT or by
//   the Target Transfer Tag of its R2Ts (generation << kSlotBits | slot);
// - the CmdSN sequence (RFC 7143 §4.2.2.1, §3.2.2.1): a non-immediate PDU is
//   taken only inside [ExpCmdSN, MaxCmdSN] and once; commands ahead of
//   ExpCmdSN wait for the gap to fill; numbers used by PDUs that are not
//   queued commands (rejected commands, NOP-Out, Text, Logout, TMF, an ABORT
//   TASK's RefCmdSN) are consumed so that no hole stops the sequence.
//   MaxCmdSN = ExpCmdSN + queue_depth - 1 - outstanding;
// - task attributes (SAM-5 §8.6): an ORDERED command waits for every earlier
//   one, later ones wait for it, HEAD OF QUEUE never waits;
// - which commands a task management abort reaches, and when each can end.
//
// Pull-style: the connection asks for the next command that became ready
// (next_in_order, next_released) and acts on it; nothing here calls back, so
// the connection may re-enter freely. No I/O, no lock, no logging; nothing
// allocates once the slot table and its lists have grown to the session's
// queue depth. One event loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "iscsi/data_transfer.h"
#include "iscsi/pdu.h"
#include "scsi/task.h"

namespace sharedisk::iscsi {

// One SCSI command of a session, from its SCSI Command PDU until its answer
// has been written.
struct Command {
  enum class State : uint8_t {
    kFree,
    kReceiving,   // waiting for its data, its CmdSN, or an earlier ORDERED command
    kInScsi,      // inside Device::execute
    kResponding,  // answer queued, buffer still referenced by the PDUs
  };
  scsi::Task task;
  uint16_t slot = 0;
  State state = State::kFree;
  bool immediate = false;
  bool accepted = false;  // in CmdSN order (counted in outstanding unless immediate)
  bool aborted = false;
  bool answer_aborted = false;  // aborted for another nexus with TAS=1: answer TASK ABORTED
  bool ordered = false;         // an accepted ORDERED command, counted until finished
  bool data_error = false;      // a Data-Out broke the sequence: fail without executing
  bool digest_error = false;    // ... because a data digest was wrong (sense 47/05)
  uint32_t itt = 0;
  uint32_t cmdsn = 0;
  uint32_t ttt = kReservedTag;                    // of its R2Ts (unique per use of the slot)
  WriteTransfer xfer;                             // Expected Data Transfer Length, write data, R2Ts
  std::chrono::steady_clock::time_point started;  // command PDU received (latency metrics)
  uint8_t sense_pdu[2 + scsi::Task::kMaxSense] = {};  // SenseLength + sense, as sent
};

// Which commands an abort reaches: all, those of one LUN (number, decoded
// from each command's SAM LUN), or one ITT.
struct AbortScope {
  bool lun_filter = false;
  uint64_t lun = 0;
  uint32_t only_itt = kReservedTag;
};

class CommandWindow {
 public:
  static constexpr uint32_t kSlotBits = 12;  // TTT = generation << 12 | slot
  static constexpr uint32_t kMaxSlots = 1u << kSlotBits;

  // ---- the CmdSN sequence
  // Login sets both: the ExpCmdSN the login answered with, and the target's
  // queue depth (how many non-immediate commands may be outstanding).
  void set_exp_cmdsn(uint32_t sn) { exp_cmdsn_ = sn; }
  void set_queue_depth(uint32_t depth) { queue_depth_ = depth; }
  uint32_t exp_cmdsn() const { return exp_cmdsn_; }
  uint32_t max_cmdsn() const { return exp_cmdsn_ + queue_depth_ - 1 - outstanding_; }
  // Accepted non-immediate commands not yet answered.
  uint32_t outstanding() const { return outstanding_; }

  // Whether a non-immediate PDU with CmdSN `sn` is taken: inside [ExpCmdSN,
  // MaxCmdSN] and not used already (by a PDU that is not a queued command,
  // or by a command waiting for it). Otherwise it is silently ignored, as a
  // duplicate (RFC 7143 §4.2.2.1).
  bool acceptable(uint32_t sn) const {
    return !sn_lt(sn, exp_cmdsn_) && !sn_lt(max_cmdsn(), sn) && !consumed(sn) &&
           (waiting_.empty() || !waited_for(sn));
  }
  // `sn` was used by something that is not a queued command; ExpCmdSN moves
  // past it when the sequence reaches it. Follow with next_in_order().
  void consume(uint32_t sn);
  bool consumed(uint32_t sn) const;
  // A non-immediate command's PDU (and its immediate data) is in: it waits
  // for its CmdSN. Follow with next_in_order().
  void arrived(Command* cmd) { waiting_.push_back(cmd); }
  // The next waiting command the sequence has reached, now accepted
  // (ExpCmdSN advanced, counted outstanding, ORDERED counted), or nullptr.
  // Consumed numbers on the way are skipped.
  Command* next_in_order();
  bool is_waiting(const Command* cmd) const;
  // A command waiting for its CmdSN has `sn`.
  bool waited_for(uint32_t sn) const;
  // The command is answered: no longer counted in MaxCmdSN.
  void retire(Command* cmd) {
    if (cmd->accepted && !cmd->immediate) outstanding_--;
    cmd->accepted = false;
  }

  // ---- slots
  // A free command with a new TTT, listed active; nullptr when kMaxSlots are in use.
  Command* alloc();
  // Back to the free list: retired, taken off every list, buffer released,
  // its ORDERED count ended. Follow with next_released().
  void release(Command* cmd);
  Command* find_by_itt(uint32_t itt) const;
  // The command a Data-Out's TTT names, if that TTT is still current.
  Command* find_by_ttt(uint32_t ttt) const {
    uint32_t slot = ttt & (kMaxSlots - 1);
    if (slot < slots_.size() && slots_[slot]->ttt == ttt) return slots_[slot].get();
    return nullptr;
  }
  std::span<Command* const> active() const { return active_; }
  uint32_t immediate_count() const;
  size_t slots() const { return slots_.size(); }
  // A fresh value for tags the connection makes up (NOP-In, Text TTTs).
  uint32_t new_generation() { return ++generation_; }

  // ---- task attributes
  // Whether a ready command must wait for an earlier one (ORDERED rules).
  bool must_wait(const Command* cmd) const;
  void hold(Command* cmd) { held_.push_back(cmd); }
  void unhold(Command* cmd) {
    if (!held_.empty()) std::erase(held_, cmd);
  }
  // The command has finished running: commands held behind it may go.
  // Follow with next_released().
  void finished(Command* cmd) {
    if (cmd->ordered) {
      cmd->ordered = false;
      ordered_pending_--;
    }
  }
  // The first held command that need not wait any more (taken off the held
  // list), or nullptr.
  Command* next_released();
  bool any_held() const { return !held_.empty(); }

  // ---- aborts (task management, another nexus's reset)
  enum class Abort : uint8_t {
    kNotReached,  // outside the scope, or already answered
    kLater,       // marked: ends when the SCSI layer returns it, its data PDU
                  // ends, or the sequence reaches its CmdSN
    kNow,         // marked: can end now (it can no longer touch the medium)
  };
  // Marks `cmd` aborted if `scope` reaches it; `task_aborted_status`: answer
  // it TASK ABORTED (TAS=1, another nexus asked) instead of dropping it.
  // `receiving`: the command whose data segment is being received into its
  // buffer right now (its buffer is not given back before that PDU ends).
  Abort abort(Command* cmd, const AbortScope& scope, bool task_aborted_status,
              const Command* receiving) const;
  // An aborted command is still inside the SCSI layer (a TMF answer waits).
  bool draining() const;

 private:
  uint32_t exp_cmdsn_ = 0;
  uint32_t queue_depth_ = 128;
  uint32_t outstanding_ = 0;
  uint32_t ordered_pending_ = 0;  // accepted ORDERED commands not yet finished
  uint32_t generation_ = 0;
  std::vector<std::unique_ptr<Command>> slots_;
  std::vector<Command*> free_;
  std::vector<Command*> active_;    // every command not free
  std::vector<Command*> waiting_;   // CmdSN ahead of ExpCmdSN
  std::vector<uint32_t> consumed_;  // CmdSNs ahead of ExpCmdSN already used
  std::vector<Command*> held_;      // ready, waiting on an ORDERED command
};

}  // namespace sharedisk::iscsi
