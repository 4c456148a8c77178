// One iSCSI connection (and, since MaxConnections=1, its session): reads and
// decodes PDUs from the socket, runs login, orders commands by CmdSN, moves
// write data straight from the socket into the command's pooled buffer
// (immediate, unsolicited and R2T-solicited), hands complete commands to the
// SCSI device, and sends Data-In/Response PDUs as gather writes batched per
// event-loop turn. NOP-In pings idle initiators and drops dead ones.
//
// A Connection lives on one event loop and is touched only by that loop's
// thread (close() may be requested from elsewhere with post_close()).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

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
#include "util/loop_turn.h"

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

struct ConnectionStats {
  std::string initiator;
  std::string peer;
  std::string target;
  uint16_t tsih = 0;
  bool discovery = false;
};

class Connection final : public std::enable_shared_from_this<Connection>,
                         private scsi::TaskOwner,
                         private SessionAdmission,
                         private util::Deferred {
 public:
  Connection(ServerContext& server, EventLoop& loop, boost::asio::ip::tcp::socket socket);
  ~Connection();

  void start();
  // Thread-safe: asks the connection's loop to close it.
  void post_close(const char* why);
  // From the connection's own loop only.
  void close_now(const char* why) { close(why); }
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
  void read_more();
  void on_read(const boost::system::error_code& ec, size_t n, bool direct);
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
  void schedule_flush();
  void run_deferred() override;  // the flush schedule_flush() deferred
  void flush();
  void on_written(const boost::system::error_code& ec);

  // ---- session
  uint16_t admit(const Login& login, uint16_t* status) override;
  void on_timer();
  void close(const char* why);
  void maybe_destroy_session();

  ServerContext& server_;
  EventLoop& loop_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  std::string peer_;
  std::string local_address_;
  std::shared_ptr<Connection> keep_alive_;  // held while commands are in the SCSI layer

  // Receive state: the socket's bytes, and the framer they go through (login
  // phase until the final Login Response, then the negotiated digests).
  std::vector<uint8_t> rbuf_;
  size_t rpos_ = 0, rend_ = 0;
  PduReader reader_;
  Bhs hdr_;                    // the PDU being handled
  std::string control_data_;   // data segment of non-SCSI PDUs
  Command* rx_cmd_ = nullptr;  // command whose data is being received
  bool reading_ = false;
  bool rx_digest_error_ = false;  // this PDU's data digest did not match
  std::chrono::steady_clock::time_point last_rx_;

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
  std::chrono::steady_clock::time_point started_;

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
  std::shared_ptr<Connection> reinstating_;
  std::optional<Login::Reply> held_login_;
  bool rx_paused_ = false;
  std::vector<std::function<void()>> gone_waiters_;  // close_for_reinstatement
  bool session_listed_ = false;                      // in server_.sessions

  // NOP-In ping.
  bool ping_outstanding_ = false;
  uint32_t ping_ttt_ = 0;
  std::chrono::steady_clock::time_point ping_sent_;

  // Transmit: PDUs queued this turn, and the ones being written.
  std::vector<OutPdu> txq_;
  std::vector<OutPdu> tx_inflight_;
  std::vector<boost::asio::const_buffer> gather_;
  bool writing_ = false;
  bool flush_scheduled_ = false;
  bool close_after_write_ = false;
  bool closed_ = false;
};

}  // namespace sharedisk::iscsi
