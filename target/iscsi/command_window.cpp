#include "iscsi/command_window.h"

#include <algorithm>

#include "scsi/device.h"

namespace sharedisk::iscsi {

// ---- the CmdSN sequence (RFC 7143 §4.2.2.1): every number in order, once

bool CommandWindow::consumed(uint32_t sn) const {
  return !consumed_.empty() && std::find(consumed_.begin(), consumed_.end(), sn) != consumed_.end();
}

void CommandWindow::consume(uint32_t sn) {
  if (sn == exp_cmdsn_) {
    exp_cmdsn_++;
  } else if (sn_lt(exp_cmdsn_, sn) && !consumed(sn)) {
    consumed_.push_back(sn);
  }
}

Command* CommandWindow::next_in_order() {
  for (;;) {
    if (!consumed_.empty()) {
      auto used = std::find(consumed_.begin(), consumed_.end(), exp_cmdsn_);
      if (used != consumed_.end()) {
        consumed_.erase(used);
        exp_cmdsn_++;
        continue;
      }
    }
    auto next = std::find_if(waiting_.begin(), waiting_.end(),
                             [&](const Command* w) { return w->cmdsn == exp_cmdsn_; });
    if (next == waiting_.end()) return nullptr;
    Command* cmd = *next;
    waiting_.erase(next);
    exp_cmdsn_++;
    outstanding_++;
    cmd->accepted = true;
    if (cmd->task.attr == scsi::TaskAttr::kOrdered) {
      cmd->ordered = true;
      ordered_pending_++;
    }
    return cmd;
  }
}

bool CommandWindow::is_waiting(const Command* cmd) const {
  return std::find(waiting_.begin(), waiting_.end(), cmd) != waiting_.end();
}

bool CommandWindow::waited_for(uint32_t sn) const {
  return std::any_of(waiting_.begin(), waiting_.end(),
                     [sn](const Command* w) { return w->cmdsn == sn; });
}

// ---- slots

Command* CommandWindow::alloc() {
  if (free_.empty()) {
    if (slots_.size() >= kMaxSlots) return nullptr;
    auto cmd = std::make_unique<Command>();
    cmd->slot = uint16_t(slots_.size());
    free_.push_back(cmd.get());
    slots_.push_back(std::move(cmd));
  }
  Command* cmd = free_.back();
  free_.pop_back();
  active_.push_back(cmd);
  cmd->ttt = (++generation_ << kSlotBits | cmd->slot) & 0x7fffffff;
  return cmd;
}

void CommandWindow::release(Command* cmd) {
  retire(cmd);
  cmd->state = Command::State::kFree;
  cmd->aborted = false;
  cmd->answer_aborted = false;
  cmd->task.buffer.reset();
  auto it = std::find(active_.begin(), active_.end(), cmd);
  if (it != active_.end()) {
    *it = active_.back();
    active_.pop_back();
  }
  std::erase(waiting_, cmd);
  unhold(cmd);
  free_.push_back(cmd);
  finished(cmd);
}

Command* CommandWindow::find_by_itt(uint32_t itt) const {
  for (Command* cmd : active_)
    if (cmd->itt == itt) return cmd;
  return nullptr;
}

uint32_t CommandWindow::immediate_count() const {
  uint32_t n = 0;
  for (const Command* c : active_) n += c->immediate ? 1 : 0;
  return n;
}

// ---- task attributes (SAM-5 8.6)

bool CommandWindow::must_wait(const Command* cmd) const {
  if (cmd->immediate || cmd->task.attr == scsi::TaskAttr::kHeadOfQueue) return false;
  bool ordered = cmd->task.attr == scsi::TaskAttr::kOrdered;
  if (!ordered && ordered_pending_ == 0) return false;
  for (const Command* c : active_) {
    if (c == cmd || c->immediate || !c->accepted) continue;
    if (c->state != Command::State::kReceiving && c->state != Command::State::kInScsi) continue;
    if (!sn_lt(c->cmdsn, cmd->cmdsn)) continue;
    if (ordered || c->ordered) return true;  // an earlier command still runs
  }
  return false;
}

Command* CommandWindow::next_released() {
  for (auto it = held_.begin(); it != held_.end(); ++it) {
    if (must_wait(*it)) continue;
    Command* cmd = *it;
    held_.erase(it);
    return cmd;
  }
  return nullptr;
}

// ---- aborts

CommandWindow::Abort CommandWindow::abort(Command* cmd, const AbortScope& scope,
                                          bool task_aborted_status,
                                          const Command* receiving) const {
  if (scope.only_itt != kReservedTag && cmd->itt != scope.only_itt) return Abort::kNotReached;
  uint64_t number = 0;
  if (scope.lun_filter && !(scsi::decode_lun(cmd->task.lun, &number) && number == scope.lun))
    return Abort::kNotReached;
  if (cmd->state != Command::State::kInScsi && cmd->state != Command::State::kReceiving)
    return Abort::kNotReached;
  cmd->aborted = true;
  cmd->answer_aborted = task_aborted_status;
  // In the SCSI layer: ends when the device is done with it (task_done).
  if (cmd->state == Command::State::kInScsi) return Abort::kLater;
  // Its data segment is being received into its buffer: the buffer stays
  // its own until the PDU ends, never back in the pool before.
  if (cmd == receiving) return Abort::kLater;
  // Waiting for its CmdSN: it keeps its place in the sequence and ends when
  // the sequence reaches it.
  if (is_waiting(cmd)) return Abort::kLater;
  return Abort::kNow;
}

bool CommandWindow::draining() const {
  for (const Command* cmd : active_)
    if (cmd->aborted && cmd->state == Command::State::kInScsi) return true;
  return false;
}

}  // namespace sharedisk::iscsi
