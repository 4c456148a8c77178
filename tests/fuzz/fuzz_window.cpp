// libFuzzer: the connection engine's socket-free units (command_window.h,
// data_transfer.h, task_management.h) driven by arbitrary sequences of
// events, the way Connection drives them, against invariants:
//
// - every CmdSN is accepted at most once and in sequence order; ExpCmdSN
//   never moves back; no command waits for a number ExpCmdSN has reached;
// - `outstanding` is the number of accepted, unanswered non-immediate
//   commands, so MaxCmdSN = ExpCmdSN + depth - 1 - outstanding stays right;
// - an aborted command is never executed; a command is never answered twice;
// - TMF answers go out in request order, and none while an aborted command
//   of the session is still in the SCSI layer or a remote drain is pending;
// - R2Ts are contiguous, each at most MaxBurstLength, at most
//   MaxOutstandingR2T unanswered, never past the expected length; Data-Out
//   accepted is contiguous; Data-In segments tile the data, each at most
//   MaxRecvDataSegmentLength, bursts at most MaxBurstLength, F at each
//   burst's end, `last` exactly once.
//
// Input: a byte stream of operations (opcode byte, then its arguments).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <memory>
#include <set>
#include <vector>

#include "iscsi/command_window.h"
#include "iscsi/data_transfer.h"
#include "iscsi/task_management.h"
#include "scsi/device.h"

using namespace sharedisk::iscsi;
using sharedisk::scsi::TaskAttr;

namespace {

#define CHECK(cond)       \
  do {                    \
    if (!(cond)) abort(); \
  } while (0)

struct Input {
  const uint8_t* p;
  size_t n;
  bool empty() const { return n == 0; }
  uint8_t byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  uint32_t u16() { return uint32_t(byte()) | uint32_t(byte()) << 8; }
};

struct Engine {
  CommandWindow w;
  TmfQueue tmfs;
  uint32_t depth;
  uint32_t last_accepted = 0;
  bool any_accepted = false;
  uint32_t next_itt = 1;
  std::set<uint32_t> answered_itts;  // commands answered (ITTs are never reused here)
  std::deque<uint32_t> tmf_order;    // ITTs of queued TMFs, in request order
  std::vector<std::shared_ptr<PendingTmf>> remote;  // TMFs waiting for other sessions

  Engine(uint32_t exp, uint32_t depth) : depth(depth) {
    w.set_exp_cmdsn(exp);
    w.set_queue_depth(depth);
  }

  void answer(Command* c) {
    CHECK(answered_itts.insert(c->itt).second);
    w.retire(c);
    c->state = Command::State::kResponding;
    w.finished(c);
    release_held();
  }
  void end_aborted(Command* c) {
    w.unhold(c);
    if (c->answer_aborted) {
      answer(c);
    } else {
      w.release(c);
      release_held();
    }
  }
  void execute(Command* c) {
    CHECK(!c->aborted);
    c->state = Command::State::kInScsi;
  }
  void release_held() {
    while (Command* c = w.next_released()) execute(c);
  }
  // Connection::command_ready for a command whose data is all in.
  void ready(Command* c) {
    if (c->state != Command::State::kReceiving) return;
    if (c->aborted) {
      end_aborted(c);
      return;
    }
    if (w.must_wait(c)) {
      w.hold(c);
      return;
    }
    execute(c);
  }
  void pull() {
    uint32_t before = w.exp_cmdsn();
    while (Command* c = w.next_in_order()) {
      CHECK(c->accepted);
      if (any_accepted) CHECK(sn_lt(last_accepted, c->cmdsn));
      last_accepted = c->cmdsn;
      any_accepted = true;
      ready(c);
    }
    CHECK(sn_le(before, w.exp_cmdsn()));
  }
  void answer_tmfs() {
    while (auto t = tmfs.pop_ready(w.draining())) {
      CHECK(!tmf_order.empty() && tmf_order.front() == t->itt);
      CHECK(t->remote_drains == 0 && !w.draining());
      tmf_order.pop_front();
    }
    if (!tmfs.empty()) CHECK(w.draining() || !remote.empty());
  }
  void check() {
    uint32_t outstanding = 0;
    for (const Command* c : w.active()) {
      if (c->accepted && !c->immediate) ++outstanding;
      // A waiting command's number is still ahead and unused: the sequence
      // will reach it (a duplicate CmdSN must not strand it behind).
      if (!c->accepted && !c->immediate && w.is_waiting(c))
        CHECK(sn_lt(w.exp_cmdsn(), c->cmdsn) && !w.consumed(c->cmdsn));
    }
    CHECK(outstanding == w.outstanding());
    CHECK(w.max_cmdsn() == w.exp_cmdsn() + depth - 1 - outstanding);
    CHECK(w.slots() <= CommandWindow::kMaxSlots);
  }
  Command* pick(Input& in) {
    auto active = w.active();
    if (active.empty()) return nullptr;
    return active[in.byte() % active.size()];
  }

  void step(Input& in) {
    switch (in.byte() % 10) {
      case 0: {  // a SCSI command PDU: CmdSN near the window, maybe immediate
        uint32_t sn = w.exp_cmdsn() + (in.byte() % 24) - 4;
        uint8_t f = in.byte();
        bool immediate = f & 1;
        if (!immediate && !w.acceptable(sn)) return;
        if (immediate && w.immediate_count() >= 8) return;
        Command* c = w.alloc();
        if (c == nullptr) return;
        c->state = Command::State::kReceiving;
        c->immediate = immediate;
        c->itt = next_itt++;
        c->cmdsn = sn;
        c->aborted = false;
        c->task.attr = TaskAttr((f >> 1) % 5);
        c->task.lun = sharedisk::scsi::encode_lun((f >> 4) & 1);
        if (immediate) {
          c->accepted = true;
          ready(c);
        } else {
          w.arrived(c);
          pull();
        }
        return;
      }
      case 1: {  // a NOP-Out / Text / rejected command uses a CmdSN
        uint32_t sn = w.exp_cmdsn() + (in.byte() % 20) - 2;
        if (!w.acceptable(sn)) return;
        w.consume(sn);
        pull();
        return;
      }
      case 2: {  // the SCSI layer returns a command
        Command* c = pick(in);
        if (c == nullptr || c->state != Command::State::kInScsi) return;
        if (c->aborted)
          end_aborted(c);
        else
          answer(c);
        answer_tmfs();
        return;
      }
      case 3: {  // an answer has been written: the slot is free
        Command* c = pick(in);
        if (c == nullptr || c->state != Command::State::kResponding) return;
        w.release(c);
        release_held();
        return;
      }
      case 4: {  // a task management request
        uint8_t function = uint8_t(1 + in.byte() % 11);
        Command* target = pick(in);
        TmfRequest r{.function = function,
                     .immediate = bool(in.byte() & 1),
                     .lun = sharedisk::scsi::encode_lun(in.byte() & 1),
                     .itt = 0x80000000u | next_itt++,
                     .ref_itt = target ? target->itt : kReservedTag,
                     .cmdsn = w.exp_cmdsn() + in.byte() % 8,
                     .ref_cmdsn = w.exp_cmdsn() + (in.byte() % 12) - 2};
        if (!r.immediate && !w.acceptable(r.cmdsn)) return;
        uint64_t lun = 0;
        sharedisk::scsi::decode_lun(r.lun, &lun);
        TmfPlan plan = plan_task_management(r, w, true, lun, true);
        auto t = std::make_shared<PendingTmf>();
        t->itt = r.itt;
        t->response = plan.response;
        bool tas = in.byte() & 1;
        if (plan.abort) {
          std::vector<Command*> snapshot(w.active().begin(), w.active().end());
          for (Command* c : snapshot)
            if (w.abort(c, plan.scope, tas, nullptr) == CommandWindow::Abort::kNow) end_aborted(c);
        }
        if (plan.consume_ref_cmdsn) {
          CHECK(w.acceptable(r.ref_cmdsn));
          w.consume(r.ref_cmdsn);
          pull();
        }
        if (plan.reset != TmfPlan::Reset::kNone && (in.byte() & 1)) {
          t->remote_drains = 1;
          remote.push_back(t);
        }
        tmfs.push(t);
        tmf_order.push_back(t->itt);
        if (!r.immediate) {
          w.consume(r.cmdsn);
          pull();
        }
        answer_tmfs();
        return;
      }
      case 5: {  // another session reports its drain
        if (remote.empty()) return;
        remote.back()->remote_drains--;
        remote.pop_back();
        answer_tmfs();
        return;
      }
      case 6: {  // another nexus's reset reaches this session's commands
        AbortScope scope{.lun_filter = true, .lun = uint64_t(in.byte() & 1)};
        std::vector<Command*> snapshot(w.active().begin(), w.active().end());
        for (Command* c : snapshot)
          if (w.abort(c, scope, true, nullptr) == CommandWindow::Abort::kNow) end_aborted(c);
        answer_tmfs();
        return;
      }
      default:
        return;
    }
  }
};

// A write's R2Ts and Data-Out, and a read's Data-In, under random limits.
void transfers(Input& in) {
  SessionParams p;
  p.initial_r2t = in.byte() & 1;
  p.first_burst_length = 512u * (1 + in.u16() % 512);
  p.max_burst_length = 512u * (1 + in.u16() % 1024);
  p.max_outstanding_r2t = 1 + in.byte() % 4;
  p.initiator_mrdsl = 512u * (1 + in.u16() % 512);
  uint32_t edtl = in.u16() * 64u;
  uint32_t immediate = std::min<uint32_t>(edtl, std::min(p.first_burst_length, in.u16() * 16u));
  WriteTransfer x;
  x.start(p, true, edtl, immediate, in.byte() & 1);
  x.segment_received(immediate);
  uint32_t solicited = x.solicited_end();
  std::vector<WriteTransfer::R2tRequest> open;  // R2Ts not yet answered, oldest first
  uint32_t expected_r2tsn = 0;
  for (int guard = 0; guard < 4096 && !x.complete(); ++guard) {
    if (x.needs_r2t()) {
      WriteTransfer::R2tRequest r;
      while (x.next_r2t(p, &r)) {
        CHECK(r.r2tsn == expected_r2tsn++);
        CHECK(r.offset == solicited);
        CHECK(r.length > 0 && r.length <= p.max_burst_length);
        solicited += r.length;
        CHECK(solicited <= edtl);
        open.push_back(r);
        CHECK(open.size() <= p.max_outstanding_r2t);
      }
    }
    if (in.empty()) return;
    // The initiator answers the oldest R2T (or sends unsolicited data), in
    // PDUs of a size the input picks; sometimes out of sequence.
    bool solicited_pdu = !open.empty();
    uint32_t end = solicited_pdu ? open.front().offset + open.front().length : x.unsolicited_end();
    if (x.received() >= end) return;  // nothing the initiator may send
    uint32_t length = std::min(end - x.received(), 512u * (1 + in.byte() % 64));
    uint32_t datasn = x.expected_datasn();
    uint32_t offset = x.received();
    uint8_t twist = in.byte();
    if (twist % 16 == 0) datasn++;
    if (twist % 16 == 1) offset += 512;
    bool ok = x.accepts(solicited_pdu, datasn, offset, length, p.initial_r2t);
    if (twist % 16 <= 1) {
      CHECK(!ok);
      return;  // ERL 0: the command fails here
    }
    if (!ok) {
      CHECK(!solicited_pdu && p.initial_r2t);
      return;
    }
    uint32_t before = x.received();
    x.segment_received(length);
    CHECK(x.received() == before + length);
    bool final = offset + length == end || (!solicited_pdu && (twist & 0x80));
    x.data_out_ended(solicited_pdu, final);
    if (final && solicited_pdu) open.erase(open.begin());
    if (final && !solicited_pdu && x.received() < end) {
      // The unsolicited burst ended early: R2Ts solicit from here on.
      CHECK(x.solicited_end() == x.received() && x.unsolicited_end() == x.received());
      solicited = x.received();
    }
    CHECK(x.received() <= edtl);
  }

  DataInSplitter split(edtl, p.initiator_mrdsl, p.max_burst_length);
  DataInSplitter::Segment s;
  uint32_t at = 0, burst = 0, lasts = 0, n = 0;
  while (split.next(&s)) {
    CHECK(s.offset == at && s.datasn == n++);
    CHECK(s.length > 0 && s.length <= p.initiator_mrdsl);
    burst += s.length;
    CHECK(burst <= p.max_burst_length);
    at += s.length;
    CHECK(s.last == (at == edtl));
    lasts += s.last;
    if (s.final) {
      CHECK(burst == p.max_burst_length || s.last);
      burst = 0;
    } else {
      CHECK(burst < p.max_burst_length);
    }
  }
  CHECK(at == edtl && lasts == (edtl > 0 ? 1u : 0u) && split.pdus() == n);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in{data, size};
  uint8_t mode = in.byte();
  if (mode & 1) {
    transfers(in);
    return 0;
  }
  uint32_t exp = uint32_t(in.byte()) << 24 | 0xffffff00u * (mode >> 7);  // near 2^32 sometimes
  Engine e(exp, 1 + (mode >> 1) % 16);
  for (int i = 0; i < 2000 && !in.empty(); ++i) {
    e.step(in);
    e.check();
  }
  return 0;
}
