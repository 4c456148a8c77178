// Task management without sockets: what each function does to the session's
// command window (plan_task_management), the RFC 7143 §11.5.1 RefCmdSN rule,
// and the queue that answers requests in order, each only once the commands
// it aborted have left the SCSI layer and the other sessions have drained
// (issue 11 item 3: a second TMF while the first waits is queued, never lost).
// Driven the way Connection::handle_task_management drives them.
#include <gtest/gtest.h>

#include <vector>

#include "iscsi/task_management.h"
#include "scsi/device.h"

namespace sharedisk::iscsi {
namespace {

using State = Command::State;

TmfRequest request(uint8_t function, uint32_t itt, uint32_t cmdsn, uint32_t ref_itt = kReservedTag,
                   uint32_t ref_cmdsn = 0, uint64_t lun = 0) {
  return {.function = function,
          .immediate = true,
          .lun = scsi::encode_lun(lun),
          .itt = itt,
          .ref_itt = ref_itt,
          .cmdsn = cmdsn,
          .ref_cmdsn = ref_cmdsn};
}

// A session: its window, its TMF queue, and what it answered.
struct Session {
  CommandWindow w;
  TmfQueue tmfs;
  std::vector<std::pair<uint32_t, uint8_t>> answered;  // ITT, response
  std::vector<uint32_t> ended;                         // ITTs of aborted commands ended
  std::vector<uint32_t> accepted;                      // CmdSNs accepted

  Session() {
    w.set_exp_cmdsn(1);
    w.set_queue_depth(16);
  }
  Command* command(uint32_t itt, uint32_t cmdsn, State state, uint64_t lun = 0) {
    Command* c = w.alloc();
    c->state = state;
    c->itt = itt;
    c->cmdsn = cmdsn;
    c->task.lun = scsi::encode_lun(lun);
    return c;
  }
  void pull() {
    while (Command* c = w.next_in_order()) {
      accepted.push_back(c->cmdsn);
      if (c->aborted) end(c);
    }
  }
  void end(Command* c) {
    ended.push_back(c->itt);
    w.release(c);
  }
  // Connection::handle_task_management, minus the device and other sessions.
  std::shared_ptr<PendingTmf> handle(const TmfRequest& r, uint32_t remote_drains = 0,
                                     bool lun_exists = true) {
    uint64_t lun = 0;
    EXPECT_TRUE(scsi::decode_lun(r.lun, &lun));
    TmfPlan plan = plan_task_management(r, w, true, lun, lun_exists);
    auto t = std::make_shared<PendingTmf>();
    t->itt = r.itt;
    t->response = plan.response;
    t->close_after = plan.close_after;
    t->remote_drains = remote_drains;
    if (plan.abort) {
      std::vector<Command*> snapshot(w.active().begin(), w.active().end());
      for (Command* c : snapshot)
        if (w.abort(c, plan.scope, false, nullptr) == CommandWindow::Abort::kNow) end(c);
    }
    if (plan.consume_ref_cmdsn) {
      w.consume(r.ref_cmdsn);
      pull();
    }
    tmfs.push(t);
    if (!r.immediate) {
      w.consume(r.cmdsn);
      pull();
    }
    answer();
    return t;
  }
  void answer() {
    while (auto t = tmfs.pop_ready(w.draining())) answered.push_back({t->itt, t->response});
  }
  // The SCSI layer returns a command (Connection::task_done).
  void scsi_done(Command* c) {
    ASSERT_EQ(c->state, State::kInScsi);
    if (c->aborted) {
      end(c);
      answer();
    } else {
      c->state = State::kResponding;
    }
  }
};

TEST(TaskManagement, PlanAnswersEachFunction) {
  CommandWindow w;
  w.set_exp_cmdsn(1);
  Command* c = w.alloc();
  c->state = State::kInScsi;
  c->itt = 0x10;
  auto plan = [&](const TmfRequest& r, bool normal = true, bool lun_exists = true) {
    return plan_task_management(r, w, normal, 0, lun_exists);
  };
  EXPECT_EQ(plan(request(tmf::kAbortTask, 1, 5, 0x10), false).response, tmf::kRejected);
  TmfPlan abort = plan(request(tmf::kAbortTask, 1, 5, 0x10));
  EXPECT_EQ(abort.response, tmf::kComplete);
  EXPECT_TRUE(abort.abort);
  EXPECT_EQ(abort.scope.only_itt, 0x10u);
  EXPECT_FALSE(abort.scope.lun_filter);
  EXPECT_EQ(abort.reset, TmfPlan::Reset::kNone);
  EXPECT_EQ(plan(request(tmf::kQueryTask, 1, 5, 0x10)).response, tmf::kComplete);
  c->state = State::kResponding;  // answered: no longer a task to abort or query
  EXPECT_EQ(plan(request(tmf::kAbortTask, 1, 5, 0x10)).response, tmf::kTaskDoesNotExist);
  EXPECT_FALSE(plan(request(tmf::kAbortTask, 1, 5, 0x10)).abort);
  EXPECT_EQ(plan(request(tmf::kQueryTask, 1, 5, 0x10)).response, tmf::kTaskDoesNotExist);
  TmfPlan reset = plan(request(tmf::kLogicalUnitReset, 1, 5));
  EXPECT_EQ(reset.response, tmf::kComplete);
  EXPECT_TRUE(reset.abort && reset.scope.lun_filter);
  EXPECT_EQ(reset.scope.lun, 0u);
  EXPECT_EQ(reset.reset, TmfPlan::Reset::kLogicalUnit);
  EXPECT_EQ(plan(request(tmf::kLogicalUnitReset, 1, 5), true, false).response,
            tmf::kLunDoesNotExist);
  EXPECT_EQ(plan(request(tmf::kAbortTaskSet, 1, 5), true, false).response, tmf::kLunDoesNotExist);
  TmfPlan set = plan(request(tmf::kClearTaskSet, 1, 5));
  EXPECT_TRUE(set.abort && set.scope.lun_filter);
  EXPECT_EQ(set.reset, TmfPlan::Reset::kNone);
  TmfPlan warm = plan(request(tmf::kTargetWarmReset, 1, 5));
  EXPECT_TRUE(warm.abort);
  EXPECT_FALSE(warm.scope.lun_filter);
  EXPECT_EQ(warm.scope.only_itt, kReservedTag);
  EXPECT_EQ(warm.reset, TmfPlan::Reset::kTarget);
  EXPECT_FALSE(warm.close_after);
  EXPECT_TRUE(plan(request(tmf::kTargetColdReset, 1, 5)).close_after);
  EXPECT_EQ(plan(request(tmf::kTaskReassign, 1, 5)).response, tmf::kReassignNotSupported);
  EXPECT_EQ(plan(request(tmf::kClearAca, 1, 5)).response, tmf::kNotSupported);
}

TEST(TaskManagement, AbortTaskOfACommandNotReceivedConsumesItsRefCmdSN) {
  // RFC 7143 §11.5.1 and issue 11 item 9: CmdSN 1 was lost on the way; the
  // initiator aborts it (RefCmdSN 1). Command 2 waits behind the hole.
  Session s;
  s.command(0x20, 2, State::kReceiving);
  s.w.arrived(s.w.find_by_itt(0x20));
  s.pull();
  EXPECT_TRUE(s.accepted.empty());
  TmfRequest abort = request(tmf::kAbortTask, 0x90, 3, /*ref_itt=*/0x10, /*ref_cmdsn=*/1);
  abort.immediate = false;  // uses CmdSN 3 itself
  s.handle(abort);
  EXPECT_EQ(s.accepted, (std::vector<uint32_t>{2}));
  EXPECT_EQ(s.w.exp_cmdsn(), 4u);
  ASSERT_EQ(s.answered.size(), 1u);
  EXPECT_EQ(s.answered[0], (std::pair<uint32_t, uint8_t>{0x90, tmf::kComplete}));
  // The aborted command arriving late is ignored: its number is used.
  EXPECT_FALSE(s.w.acceptable(1));
}

TEST(TaskManagement, RefCmdSNOutsideTheWindowOrNotBeforeTheRequestIsNoTask) {
  Session s;                                           // window [1, 16]
  s.handle(request(tmf::kAbortTask, 1, 5, 0x10, 0));   // before ExpCmdSN
  s.handle(request(tmf::kAbortTask, 2, 5, 0x10, 17));  // past MaxCmdSN
  s.handle(request(tmf::kAbortTask, 3, 5, 0x10, 5));   // not before the request's own CmdSN
  s.w.consume(3);
  s.handle(request(tmf::kAbortTask, 4, 5, 0x10, 3));  // already used
  s.handle(request(tmf::kAbortTask, 5, 5, 0x10, 2));  // in the window, before 5: counts as received
  s.w.arrived(s.command(0x44, 4, State::kReceiving));
  s.handle(request(tmf::kAbortTask, 6, 5, 0x10, 4));  // 4 belongs to a waiting command
  EXPECT_EQ(s.answered, (std::vector<std::pair<uint32_t, uint8_t>>{{1, tmf::kTaskDoesNotExist},
                                                                   {2, tmf::kTaskDoesNotExist},
                                                                   {3, tmf::kTaskDoesNotExist},
                                                                   {4, tmf::kTaskDoesNotExist},
                                                                   {5, tmf::kComplete},
                                                                   {6, tmf::kTaskDoesNotExist}}));
  EXPECT_FALSE(s.w.consumed(4));
  EXPECT_TRUE(s.w.consumed(2));
  EXPECT_TRUE(s.w.consumed(3));
  EXPECT_EQ(s.w.exp_cmdsn(), 1u);  // CmdSN 1 itself has not come
}

TEST(TaskManagement, AbortTaskOfACommandWaitingForItsCmdSNEndsItInSequence) {
  Session s;
  Command* waiting = s.command(0x30, 2, State::kReceiving);
  s.w.arrived(waiting);
  s.pull();
  s.handle(request(tmf::kAbortTask, 0x91, 1, 0x30, 2));  // immediate
  // Answered at once (nothing in the SCSI layer), but the command keeps its
  // place: CmdSN 2 is not reusable and the command ends when 1 arrives.
  EXPECT_EQ(s.answered, (std::vector<std::pair<uint32_t, uint8_t>>{{0x91, tmf::kComplete}}));
  EXPECT_TRUE(s.ended.empty());
  EXPECT_TRUE(waiting->aborted);
  Command* first = s.command(0x29, 1, State::kReceiving);
  s.w.arrived(first);
  s.pull();
  EXPECT_EQ(s.accepted, (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(s.ended, (std::vector<uint32_t>{0x30}));
  EXPECT_EQ(s.w.exp_cmdsn(), 3u);
  EXPECT_EQ(s.w.outstanding(), 1u);  // only command 1 (still unanswered)
}

TEST(TaskManagement, AnsweredOnlyAfterAbortedCommandsLeftTheScsiLayer) {
  Session s;
  Command* running = s.command(0x40, 1, State::kInScsi);
  Command* idle = s.command(0x41, 2, State::kReceiving);
  Command* other_lun = s.command(0x42, 3, State::kInScsi, 1);
  s.handle(request(tmf::kLogicalUnitReset, 0x92, 4));
  EXPECT_EQ(s.ended, (std::vector<uint32_t>{0x41}));  // not in the SCSI layer: ends now
  EXPECT_TRUE(running->aborted);
  EXPECT_FALSE(other_lun->aborted);
  EXPECT_TRUE(s.answered.empty());  // LUN 0's command still runs
  EXPECT_EQ(s.tmfs.size(), 1u);
  s.scsi_done(other_lun);  // another LUN's command finishing changes nothing
  s.answer();
  EXPECT_TRUE(s.answered.empty());
  s.scsi_done(running);
  EXPECT_EQ(s.answered, (std::vector<std::pair<uint32_t, uint8_t>>{{0x92, tmf::kComplete}}));
  EXPECT_TRUE(s.tmfs.empty());
  (void)idle;
}

TEST(TaskManagement, SecondRequestWhileTheFirstWaitsIsQueuedAndAnsweredInOrder) {
  // Issue 11 item 3: LOGICAL UNIT RESET (another session still draining and
  // one of ours in the SCSI layer), then ABORT TASK in the same segment.
  Session s;
  Command* running = s.command(0x50, 1, State::kInScsi);
  Command* second = s.command(0x51, 2, State::kInScsi, 1);
  auto reset = s.handle(request(tmf::kLogicalUnitReset, 0xa0, 3), /*remote_drains=*/1);
  auto abort = s.handle(request(tmf::kAbortTask, 0xa1, 3, 0x51));
  EXPECT_TRUE(second->aborted);
  EXPECT_EQ(s.tmfs.size(), 2u);
  EXPECT_TRUE(s.answered.empty());
  s.scsi_done(running);  // ours drained, the other session has not
  s.scsi_done(second);
  EXPECT_TRUE(s.answered.empty());  // the ABORT TASK never overtakes the reset
  EXPECT_FALSE(s.w.draining());
  reset->remote_drains--;  // the other session reports
  s.answer();
  EXPECT_EQ(s.answered, (std::vector<std::pair<uint32_t, uint8_t>>{{0xa0, tmf::kComplete},
                                                                   {0xa1, tmf::kComplete}}));
  EXPECT_TRUE(s.tmfs.empty());
  EXPECT_EQ(s.ended, (std::vector<uint32_t>{0x50, 0x51}));
  (void)abort;
}

TEST(TaskManagement, QueueHoldsEverythingWhileDraining) {
  TmfQueue q;
  auto a = std::make_shared<PendingTmf>();
  a->itt = 1;
  auto b = std::make_shared<PendingTmf>();
  b->itt = 2;
  b->response = tmf::kTaskDoesNotExist;
  q.push(a);
  q.push(b);
  EXPECT_EQ(q.pop_ready(true), nullptr);
  auto first = q.pop_ready(false);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->itt, 1u);
  auto second = q.pop_ready(false);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->itt, 2u);
  EXPECT_EQ(second->response, tmf::kTaskDoesNotExist);
  EXPECT_EQ(q.pop_ready(false), nullptr);
  q.push(a);
  q.clear();  // the connection closed
  EXPECT_TRUE(q.empty());
}

}  // namespace
}  // namespace sharedisk::iscsi
