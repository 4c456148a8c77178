// CommandWindow, driven without sockets the way Connection drives it: CmdSN
// in order, out of order, duplicated and outside [ExpCmdSN, MaxCmdSN] (with
// serial number wrap), holes left by rejected PDUs and by aborted commands
// waiting for their CmdSN (issue 11 item 9), the slot table and its TTTs,
// ORDERED / HEAD OF QUEUE, and which commands an abort reaches and when each
// may end.
#include <gtest/gtest.h>

#include <vector>

#include "iscsi/command_window.h"
#include "scsi/device.h"

namespace sharedisk::iscsi {
namespace {

using State = Command::State;

// The connection's side of the window: commands arrive, the ones the
// sequence reaches are "run" (recorded), answered ones are released.
struct Engine {
  CommandWindow w;
  std::vector<uint32_t> accepted;  // CmdSNs in the order they were accepted

  explicit Engine(uint32_t exp_cmdsn, uint32_t depth = 8) {
    w.set_exp_cmdsn(exp_cmdsn);
    w.set_queue_depth(depth);
  }
  Command* command(uint32_t itt, uint32_t cmdsn, scsi::TaskAttr attr = scsi::TaskAttr::kSimple,
                   uint64_t lun = 0) {
    Command* c = w.alloc();
    EXPECT_NE(c, nullptr);
    c->state = State::kReceiving;
    c->itt = itt;
    c->cmdsn = cmdsn;
    c->immediate = false;
    c->task.attr = attr;
    c->task.lun = scsi::encode_lun(lun);
    return c;
  }
  void pull() {
    while (Command* c = w.next_in_order()) accepted.push_back(c->cmdsn);
  }
  // A non-immediate command whose PDU (and data) is complete.
  Command* arrive(uint32_t itt, uint32_t cmdsn, scsi::TaskAttr attr = scsi::TaskAttr::kSimple) {
    Command* c = command(itt, cmdsn, attr);
    w.arrived(c);
    pull();
    return c;
  }
  void consume(uint32_t sn) {
    w.consume(sn);
    pull();
  }
};

TEST(CommandWindow, InOrderCommandsAreAcceptedAndCountedInMaxCmdSN) {
  Engine e(10, 4);
  EXPECT_EQ(e.w.exp_cmdsn(), 10u);
  EXPECT_EQ(e.w.max_cmdsn(), 13u);  // 10 + 4 - 1 - 0
  Command* a = e.arrive(1, 10);
  Command* b = e.arrive(2, 11);
  EXPECT_EQ(e.accepted, (std::vector<uint32_t>{10, 11}));
  EXPECT_TRUE(a->accepted);
  EXPECT_TRUE(b->accepted);
  EXPECT_EQ(e.w.exp_cmdsn(), 12u);
  EXPECT_EQ(e.w.outstanding(), 2u);
  EXPECT_EQ(e.w.max_cmdsn(), 13u);  // 12 + 4 - 1 - 2: the window does not move yet
  e.w.retire(a);                    // answered
  EXPECT_FALSE(a->accepted);
  EXPECT_EQ(e.w.outstanding(), 1u);
  EXPECT_EQ(e.w.max_cmdsn(), 14u);
  e.w.retire(a);  // twice is harmless
  EXPECT_EQ(e.w.outstanding(), 1u);
  e.w.release(b);  // released without an answer (dropped) also retires
  EXPECT_EQ(e.w.outstanding(), 0u);
  EXPECT_EQ(e.w.max_cmdsn(), 15u);
}

TEST(CommandWindow, OutOfOrderCommandsWaitForTheGap) {
  Engine e(100);
  e.arrive(3, 103);
  e.arrive(2, 102);
  e.arrive(5, 101);
  EXPECT_TRUE(e.accepted.empty());
  EXPECT_EQ(e.w.exp_cmdsn(), 100u);
  EXPECT_EQ(e.w.outstanding(), 0u);
  Command* first = e.arrive(1, 100);
  EXPECT_EQ(e.accepted, (std::vector<uint32_t>{100, 101, 102, 103}));
  EXPECT_TRUE(first->accepted);
  EXPECT_FALSE(e.w.is_waiting(first));
  EXPECT_EQ(e.w.exp_cmdsn(), 104u);
  EXPECT_EQ(e.w.outstanding(), 4u);
}

TEST(CommandWindow, DuplicatesAndNumbersOutsideTheWindowAreNotAcceptable) {
  Engine e(10, 4);  // window [10, 13]
  EXPECT_FALSE(e.w.acceptable(9));
  EXPECT_TRUE(e.w.acceptable(10));
  EXPECT_TRUE(e.w.acceptable(13));
  EXPECT_FALSE(e.w.acceptable(14));
  e.arrive(1, 10);  // window [11, 13]: 10 is now a duplicate
  EXPECT_FALSE(e.w.acceptable(10));
  EXPECT_TRUE(e.w.acceptable(11));
  EXPECT_TRUE(e.w.acceptable(13));
  EXPECT_FALSE(e.w.acceptable(14));
  EXPECT_FALSE(e.w.acceptable(10 + 0x80000000u));  // serial arithmetic: far away
}

TEST(CommandWindow, DuplicateOfAWaitingCommandIsIgnored) {
  // RFC 7143 §4.2.2.1: non-immediate duplicates within the window are
  // ignored. Taken, a second command with CmdSN 12 would wait forever (12 is
  // passed once the first runs), and a NOP-Out with 12 would consume the
  // number so that the waiting command is never reached.
  Engine e(10);
  Command* waiting = e.arrive(1, 12);
  EXPECT_TRUE(e.w.waited_for(12));
  EXPECT_FALSE(e.w.acceptable(12));
  EXPECT_TRUE(e.w.acceptable(11));
  EXPECT_TRUE(e.w.acceptable(13));
  e.consume(10);
  e.consume(11);
  EXPECT_EQ(e.accepted, (std::vector<uint32_t>{12}));
  EXPECT_TRUE(waiting->accepted);
  EXPECT_FALSE(e.w.waited_for(12));
  EXPECT_FALSE(e.w.acceptable(12));  // now behind ExpCmdSN
}

TEST(CommandWindow, WindowWrapsAroundTwoToThe32) {
  Engine e(0xfffffffeu, 4);  // window [0xfffffffe, 1]
  EXPECT_EQ(e.w.max_cmdsn(), 1u);
  EXPECT_FALSE(e.w.acceptable(0xfffffffdu));
  EXPECT_TRUE(e.w.acceptable(0xffffffffu));
  EXPECT_TRUE(e.w.acceptable(0u));
  EXPECT_TRUE(e.w.acceptable(1u));
  EXPECT_FALSE(e.w.acceptable(2u));
  e.arrive(7, 0u);
  e.arrive(6, 0xffffffffu);
  e.arrive(5, 0xfffffffeu);
  EXPECT_EQ(e.accepted, (std::vector<uint32_t>{0xfffffffeu, 0xffffffffu, 0u}));
  EXPECT_EQ(e.w.exp_cmdsn(), 1u);
}

TEST(CommandWindow, RejectedPduAheadOfExpCmdSNLeavesNoHole) {
  // Issue 11 item 9: CmdSN 6 belongs to a PDU rejected before dispatch (or a
  // NOP-Out, Text, TMF); 7 must still run once 5 arrives.
  Engine e(5);
  e.arrive(7, 7);
  e.consume(6);
  EXPECT_TRUE(e.w.consumed(6));
  EXPECT_FALSE(e.w.acceptable(6));  // used once: a second PDU with 6 is ignored
  EXPECT_TRUE(e.accepted.empty());
  EXPECT_EQ(e.w.exp_cmdsn(), 5u);
  e.arrive(5, 5);
  EXPECT_EQ(e.accepted, (std::vector<uint32_t>{5, 7}));
  EXPECT_EQ(e.w.exp_cmdsn(), 8u);
  EXPECT_FALSE(e.w.consumed(6));     // forgotten once passed
  EXPECT_EQ(e.w.outstanding(), 2u);  // the rejected PDU never counted
}

TEST(CommandWindow, ConsumingExpCmdSNMovesTheWindowAndAcceptsWhatWaited) {
  Engine e(40);
  e.arrive(2, 41);
  e.arrive(3, 43);
  e.consume(42);
  e.consume(40);  // e.g. a NOP-Out with CmdSN 40
  EXPECT_EQ(e.accepted, (std::vector<uint32_t>{41, 43}));
  EXPECT_EQ(e.w.exp_cmdsn(), 44u);
  e.consume(40);  // behind the window: nothing happens
  e.consume(42);
  EXPECT_EQ(e.w.exp_cmdsn(), 44u);
  EXPECT_FALSE(e.w.consumed(42));
}

TEST(CommandWindow, AbortedCommandWaitingForItsCmdSNKeepsItsPlace) {
  // Issue 11 item 9: ABORT TASK of a command whose CmdSN has not been reached.
  Engine e(30);
  Command* waiting = e.arrive(0x31, 31);
  EXPECT_TRUE(e.w.is_waiting(waiting));
  AbortScope task{.only_itt = 0x31};
  EXPECT_EQ(e.w.abort(waiting, task, false, nullptr), CommandWindow::Abort::kLater);
  EXPECT_TRUE(waiting->aborted);
  EXPECT_FALSE(waiting->answer_aborted);
  // The sequence reaches it: it is accepted (and the connection ends it,
  // never executed), and ExpCmdSN moves past it.
  e.consume(30);
  EXPECT_EQ(e.accepted, (std::vector<uint32_t>{31}));
  EXPECT_TRUE(waiting->aborted);
  EXPECT_EQ(e.w.exp_cmdsn(), 32u);
  e.w.release(waiting);
  EXPECT_EQ(e.w.outstanding(), 0u);
  EXPECT_FALSE(waiting->aborted);
  e.arrive(0x32, 32);  // the next command runs at once
  EXPECT_EQ(e.accepted, (std::vector<uint32_t>{31, 32}));
  EXPECT_EQ(e.w.exp_cmdsn(), 33u);
}

TEST(CommandWindow, AbortReachesCommandsByScopeAndSaysWhenEachEnds) {
  Engine e(1);
  Command* in_scsi = e.command(1, 1, scsi::TaskAttr::kSimple, 0);
  in_scsi->state = State::kInScsi;
  Command* receiving = e.command(2, 2, scsi::TaskAttr::kSimple, 0);
  Command* idle = e.command(3, 3, scsi::TaskAttr::kSimple, 0);
  Command* responding = e.command(4, 4, scsi::TaskAttr::kSimple, 0);
  responding->state = State::kResponding;
  Command* other_lun = e.command(5, 5, scsi::TaskAttr::kSimple, 1);
  AbortScope lun0{.lun_filter = true, .lun = 0};
  using A = CommandWindow::Abort;
  EXPECT_FALSE(e.w.draining());
  EXPECT_EQ(e.w.abort(in_scsi, lun0, true, receiving), A::kLater);
  EXPECT_EQ(e.w.abort(receiving, lun0, true, receiving), A::kLater);  // buffer in use
  EXPECT_EQ(e.w.abort(idle, lun0, true, receiving), A::kNow);
  EXPECT_EQ(e.w.abort(responding, lun0, true, receiving), A::kNotReached);
  EXPECT_EQ(e.w.abort(other_lun, lun0, true, receiving), A::kNotReached);
  EXPECT_TRUE(in_scsi->aborted && in_scsi->answer_aborted);
  EXPECT_TRUE(idle->aborted && idle->answer_aborted);
  EXPECT_FALSE(responding->aborted);
  EXPECT_FALSE(other_lun->aborted);
  EXPECT_TRUE(e.w.draining());  // an aborted command is still in the SCSI layer
  in_scsi->state = State::kResponding;
  EXPECT_FALSE(e.w.draining());
  EXPECT_EQ(e.w.abort(other_lun, AbortScope{.only_itt = 9}, false, nullptr), A::kNotReached);
  EXPECT_EQ(e.w.abort(other_lun, AbortScope{}, false, nullptr), A::kNow);  // all
}

TEST(CommandWindow, SlotsHaveTagsThatNameThemUntilReused) {
  CommandWindow w;
  Command* a = w.alloc();
  Command* b = w.alloc();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->slot, 0u);
  EXPECT_EQ(b->slot, 1u);
  EXPECT_EQ(a->ttt & (CommandWindow::kMaxSlots - 1), 0u);
  EXPECT_EQ(b->ttt & (CommandWindow::kMaxSlots - 1), 1u);
  EXPECT_EQ(a->ttt & 0x80000000u, 0u);  // never the reserved tag
  EXPECT_EQ(w.find_by_ttt(a->ttt), a);
  EXPECT_EQ(w.find_by_ttt(b->ttt), b);
  EXPECT_EQ(w.find_by_ttt(b->ttt + (1u << CommandWindow::kSlotBits)), nullptr);
  a->itt = 0x10;
  b->itt = 0x20;
  EXPECT_EQ(w.find_by_itt(0x20), b);
  EXPECT_EQ(w.find_by_itt(0x30), nullptr);
  uint32_t old_ttt = a->ttt;
  w.release(a);
  EXPECT_EQ(a->state, State::kFree);
  EXPECT_EQ(w.find_by_itt(0x10), nullptr);
  EXPECT_EQ(w.active().size(), 1u);
  Command* again = w.alloc();  // the free slot is reused under a new tag
  EXPECT_EQ(again, a);
  EXPECT_NE(again->ttt, old_ttt);
  EXPECT_EQ(w.find_by_ttt(old_ttt), nullptr);
  EXPECT_EQ(w.slots(), 2u);
}

TEST(CommandWindow, SlotTableIsBoundedAndImmediateCommandsCounted) {
  CommandWindow w;
  for (uint32_t i = 0; i < CommandWindow::kMaxSlots; ++i) {
    Command* c = w.alloc();
    ASSERT_NE(c, nullptr);
    c->immediate = i < 3;
  }
  EXPECT_EQ(w.alloc(), nullptr);
  EXPECT_EQ(w.slots(), size_t{CommandWindow::kMaxSlots});
  EXPECT_EQ(w.immediate_count(), 3u);
}

TEST(CommandWindow, OrderedWaitsForEarlierCommandsAndHoldsLaterOnes) {
  Engine e(1);
  Command* simple = e.arrive(1, 1);
  Command* ordered = e.arrive(2, 2, scsi::TaskAttr::kOrdered);
  Command* later = e.arrive(3, 3);
  Command* head = e.arrive(4, 4, scsi::TaskAttr::kHeadOfQueue);
  EXPECT_TRUE(ordered->ordered);
  EXPECT_FALSE(e.w.must_wait(simple));
  EXPECT_TRUE(e.w.must_wait(ordered));  // 1 still runs
  EXPECT_TRUE(e.w.must_wait(later));    // 2 is ORDERED
  EXPECT_FALSE(e.w.must_wait(head));
  e.w.hold(ordered);
  e.w.hold(later);
  EXPECT_EQ(e.w.next_released(), nullptr);
  // 1 finishes: 2 may run, 3 still waits for 2.
  simple->state = State::kResponding;
  e.w.finished(simple);
  EXPECT_EQ(e.w.next_released(), ordered);
  EXPECT_EQ(e.w.next_released(), nullptr);
  ordered->state = State::kInScsi;
  EXPECT_TRUE(e.w.must_wait(later));
  // 2 finishes: 3 goes.
  ordered->state = State::kResponding;
  e.w.finished(ordered);
  EXPECT_FALSE(ordered->ordered);
  EXPECT_EQ(e.w.next_released(), later);
  EXPECT_FALSE(e.w.any_held());
}

TEST(CommandWindow, ReleasingAHeldCommandTakesItOffEveryList) {
  Engine e(1);
  Command* running = e.arrive(1, 1, scsi::TaskAttr::kOrdered);
  running->state = State::kInScsi;
  Command* held = e.arrive(2, 2);
  Command* waiting = e.arrive(3, 4);
  e.w.hold(held);
  EXPECT_TRUE(e.w.is_waiting(waiting));
  e.w.release(held);
  e.w.release(waiting);
  EXPECT_FALSE(e.w.any_held());
  EXPECT_FALSE(e.w.is_waiting(waiting));
  EXPECT_EQ(e.w.outstanding(), 1u);  // only the running one
  e.w.release(running);              // ends the ORDERED count too
  Command* next = e.arrive(5, 3);
  EXPECT_FALSE(e.w.must_wait(next));
}

}  // namespace
}  // namespace sharedisk::iscsi
