// The socket-free half of an iSCSI connection (and, since MaxConnections=1,
// of its session): bytes in, bytes and SCSI commands out. It frames PDUs
// (pdu_reader.h), runs login, orders commands by CmdSN (command_window.h),
// moves write data into the command's pooled buffer (immediate, unsolicited
// and R2T-solicited), hands complete commands to the SCSI device, builds
// Data-In/Response PDUs, answers NOP-Out, Text (SendTargets), Logout and task
// management, holds a reinstating login until the old session has drained,
// and pings idle initiators with NOP-In on tick().
//
// What it does not do is I/O: a transport (Connection, the Asio adapter in
// connection.h; a test's fake) reads into receive_window() and reports the
// bytes with received(), writes what start_output() emits and reports it with
// output_done(), calls tick() once a second, and is told through the virtual
// hooks when output is waiting, input may resume, or the connection closed.
// The engine still posts its cross-session work (reinstatement, resets of
// other sessions) to its event loop's io_context; nothing else of Asio.
//
// An engine lives on one event loop and is touched only by that loop's thread
// (post_close() may be called from elsewhere). It is always owned by a
// shared_ptr (callbacks of other sessions keep it alive).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "iscsi/command_window.h"
#include "iscsi/connection_gate.h"
#include "iscsi/event_loop.h"
#include "iscsi/login.h"
#include "iscsi/pdu.h"
#include "iscsi/pdu_builder.h"
#include "iscsi/pdu_reader.h"
#include "iscsi/security_policy.h"
#include "iscsi/session_table.h"
#include "iscsi/target_node.h"
#include "iscsi/task_management.h"
#include "iscsi/task_sets.h"
#include "scsi/task.h"
#include "util/crc32c.h"

namespace sharedisk::iscsi {

// What every connection of the daemon shares; immutable while serving except
// the session table (which has its own lock).
struct ServerContext {
  ServerContext() { registry.set_task_aborter(&task_sets); }
  TargetRegistry registry;
  SessionTable sessions;
  TaskSets task_sets;
  TargetLimits limits;  // lun.yaml iscsi: negotiation, NOP-In and login timeouts
  std::atomic<uint64_t> login_failures{0};  // refused logins (metrics)
  SecurityPolicyHolder security;            // CHAP and read-only initiators (reload swaps it)
  ConnectionGate gate;                      // connections in total and per address
  config::Limits bounds;                    // lun.yaml limits: (hostile input)
};

class ConnectionEngine : public std::enable_shared_from_this<ConnectionEngine>,
                         private scsi::TaskOwner,
                         private SessionAdmission {
 public:
  using Clock = std::chrono::steady_clock;

  // `peer` and `local`: the numeric addresses of the initiator and of the
  // portal it reached (logs, access control, SendTargets).
  ConnectionEngine(ServerContext& server, EventLoop& loop, std::string peer, std::string local);
  virtual ~ConnectionEngine();
  ConnectionEngine(const ConnectionEngine&) = delete;
  ConnectionEngine& operator=(const ConnectionEngine&) = delete;

  // Starts the login phase (and the login timeout).
  void start_engine(Clock::time_point now);

  // ---- input: read into receive_window(), then report with received().
  // The window is the command's buffer when a large data segment is next
  // (*direct), else the engine's receive buffer. Empty while input is paused
  // (a reinstating login waits) or after close.
  std::span<uint8_t> receive_window(bool* direct);
  // Processes n bytes read into the last window. Returns whether to read
  // more; on a protocol error the engine has closed itself (or will close
  // once its last PDU, a refusal, is written).
  bool received(size_t n, bool direct, Clock::time_point now);
  // Convenience for tests and fuzzers: copies `bytes` in through the windows.
  // Returns false once the engine stopped taking input.
  bool feed(std::span<const uint8_t> bytes, Clock::time_point now = Clock::now());
  bool input_paused() const { return rx_paused_; }

  // ---- output: the PDUs queued since the last call, as wire buffers
  // (header, header digest, data, padding, data digest). emit(const void*,
  // size_t) is called per buffer; the buffers stay valid until output_done().
  bool has_output() const { return !txq_.empty(); }
  template <class Emit>
  void start_output(Emit&& emit);
  // The last start_output()'s bytes are written (or failed): commands whose
  // answer they carried are freed. Returns whether the connection is to
  // close now (Logout answered, login refused).
  bool output_done();

  // ---- time: once a second. Login timeout, NOP-In ping and its timeout.
  void tick(Clock::time_point now);

  // ---- control
  // Thread-safe: asks the connection's loop to close it.
  void post_close(const char* why);
  // From the connection's own loop only.
  void close_now(const char* why) { close(why); }
  bool closed() const { return closed_; }
  // From the connection's own loop: aborts every task on LUN number `lun` for
  // another I_T nexus's task management (a LUN or target reset, PREEMPT AND
  // ABORT): with the LUN's TAS bit set each one is answered TASK ABORTED,
  // otherwise dropped. `on_drained` runs once none of them is still in the
  // SCSI layer (nothing aborted can write afterwards).
  void abort_lun_tasks(uint64_t lun, std::function<void()> on_drained);
  // Session reinstatement (RFC 7143 6.3.5), from any thread: closes this
  // connection and posts `on_gone` once none of its commands is still in the
  // SCSI layer and its I_T nexus is detached, so that the new session is
  // answered only after the old one's writes have landed.
  void close_for_reinstatement(std::function<void()> on_gone);
  EventLoop& loop() { return loop_; }
  const std::string& peer() const { return peer_; }
  bool full_feature() const { return full_feature_; }
  uint16_t tsih() const { return tsih_; }
  uint32_t commands_in_scsi() const { return in_scsi_; }

 protected:
  // ---- transport hooks
  // PDUs were queued: the transport writes them soon (start_output).
  virtual void want_output() = 0;
  // Input paused by a held login may resume: the transport reads again.
  virtual void want_input() = 0;
  // The engine closed: the transport shuts its socket and timers. Output
  // already being written is still reported with output_done().
  virtual void closing() = 0;

 private:
  struct OutPdu {
    Bhs bhs;
    const uint8_t* data = nullptr;
    uint32_t length = 0;
    Command* release = nullptr;     // returned to the free list once written
    std::string owned;              // data owned by the PDU (control PDUs only)
    uint8_t header_digest[4] = {};  // CRC32C, when negotiated
    uint8_t data_digest[4] = {};
  };

  // ---- receive path
  bool process_rx();
  bool on_header();  // decides where the data segment goes (reader_.set_destination)
  bool on_pdu();

  // ---- PDU handlers (return false when the connection must close)
  bool handle_login();
  void send_login_reply(Login::Reply reply);
  bool handle_scsi_command();
  bool start_data_out();
  bool handle_nop_out();
  bool handle_text();
  bool handle_logout();
  bool handle_task_management();
  // Whether a PDU's CmdSN is taken (immediate, or inside the window and
  // unused); otherwise the PDU is silently ignored.
  bool cmdsn_acceptable(const Bhs& bhs) const;

  // ---- commands (their bookkeeping: command_window.h, data_transfer.h)
  void free_command(Command* cmd);
  void command_ready(Command* cmd);
  void send_r2ts(Command* cmd);
  void execute(Command* cmd);
  void task_done(scsi::Task& task) override;
  void respond(Command* cmd);
  void respond_check_condition(Command* cmd, uint8_t key, uint16_t asc_ascq);
  // Aborts the commands `scope` reaches; with `task_aborted_status` (TAS,
  // another nexus asked) each is answered TASK ABORTED once it can no longer
  // write. Returns how many it aborted.
  size_t abort_commands(const AbortScope& scope, bool task_aborted_status);
  void finish_aborted(Command* cmd);
  void finish_pending_tmfs();
  void abort_elsewhere(uint64_t lun, const std::shared_ptr<PendingTmf>& t);
  void notify_drained();
  // CmdSN sequence: a number used by a PDU that is not a queued command.
  void consume_cmdsn(uint32_t sn);
  // Runs the commands the CmdSN sequence has reached.
  void accept_waiting();
  // Task attributes: runs the commands no longer held behind an ORDERED one.
  void command_finished(Command* cmd);
  void release_held();
  void detach_nexus();
  void resume_login();

  // ---- transmit path
  OutPdu& queue_pdu(const Bhs& bhs);
  // StatSN (advanced when the PDU carries a status), ExpCmdSN, MaxCmdSN.
  out::SeqNumbers next_sn(bool advance_statsn);
  void send_reject(uint8_t reason, const Bhs& rejected);
  void schedule_flush() { want_output(); }

  // ---- session
  uint16_t admit(const Login& login, uint16_t* status) override;
  void close(const char* why);

  ServerContext& server_;
  EventLoop& loop_;
  std::string peer_;
  std::string local_address_;
  std::shared_ptr<ConnectionEngine> keep_alive_;  // held while commands are in the SCSI layer

  // Receive state: the transport's bytes, and the framer they go through
  // (login phase until the final Login Response, then the negotiated digests).
  std::vector<uint8_t> rbuf_;
  size_t rpos_ = 0, rend_ = 0;
  PduReader reader_;
  Bhs hdr_;                       // the PDU being handled
  std::string control_data_;      // data segment of non-SCSI PDUs
  Command* rx_cmd_ = nullptr;     // command whose data is being received
  bool rx_digest_error_ = false;  // this PDU's data digest did not match
  Clock::time_point last_rx_;
  Clock::time_point now_;  // of the input being processed

  // Login / session.
  std::optional<Login> login_;
  bool full_feature_ = false;
  bool discovery_ = false;
  TargetNode* target_ = nullptr;
  std::shared_ptr<TargetNode> target_ref_;  // keeps target_ alive if a reload removes it
  scsi::Nexus* nexus_ = nullptr;
  SessionParams params_;
  std::string initiator_;
  uint16_t tsih_ = 0;
  uint32_t statsn_ = 0;
  Clock::time_point started_;

  // Commands: slots, CmdSN sequence, task attributes.
  CommandWindow window_;
  uint32_t in_scsi_ = 0;                 // commands inside Device::execute
  std::vector<Command*> abort_scratch_;  // abort_commands' snapshot of the active commands

  // Text continuation (a SendTargets answer longer than one PDU).
  std::string text_rest_;
  uint32_t text_ttt_ = kReservedTag;

  // Task management requests, answered in order, each once the commands it
  // aborted (here and in other sessions) have drained.
  TmfQueue tmfs_;
  std::vector<std::function<void()>> drain_waiters_;
  std::optional<Bhs> pending_logout_;

  // Reinstatement: the old session this login replaces, and the final Login
  // Response held until that session has drained.
  std::shared_ptr<ConnectionEngine> reinstating_;
  std::optional<Login::Reply> held_login_;
  bool rx_paused_ = false;
  std::vector<std::function<void()>> gone_waiters_;  // close_for_reinstatement
  bool session_listed_ = false;                      // in server_.sessions

  // NOP-In ping.
  bool ping_outstanding_ = false;
  uint32_t ping_ttt_ = 0;
  Clock::time_point ping_sent_;

  // Transmit: PDUs queued since the last start_output(), and the ones being
  // written.
  std::vector<OutPdu> txq_;
  std::vector<OutPdu> tx_inflight_;
  bool close_after_write_ = false;
  bool closed_ = false;
};

template <class Emit>
void ConnectionEngine::start_output(Emit&& emit) {
  static constexpr uint8_t kZeroPad[4] = {};
  std::swap(txq_, tx_inflight_);
  for (OutPdu& pdu : tx_inflight_) {
    emit(static_cast<const void*>(pdu.bhs.b.data()), size_t(kBhsSize));
    // Login Responses never carry digests: they start after the last one.
    bool digests = pdu.bhs.opcode() != op::kLoginResponse;
    if (digests && params_.header_digest) {
      store_digest(pdu.header_digest, util::crc32c(pdu.bhs.b.data(), kBhsSize));
      emit(static_cast<const void*>(pdu.header_digest), size_t(4));
    }
    if (pdu.length > 0) {
      const uint8_t* data =
          pdu.owned.empty() ? pdu.data : reinterpret_cast<const uint8_t*>(pdu.owned.data());
      emit(static_cast<const void*>(data), size_t(pdu.length));
      uint32_t pad = pad4(pdu.length);
      if (pad != 0) emit(static_cast<const void*>(kZeroPad), size_t(pad));
      if (digests && params_.data_digest) {
        uint32_t crc = util::crc32c(kZeroPad, pad, util::crc32c(data, pdu.length));
        store_digest(pdu.data_digest, crc);
        emit(static_cast<const void*>(pdu.data_digest), size_t(4));
      }
    }
  }
}

}  // namespace sharedisk::iscsi
