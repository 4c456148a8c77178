#include "iscsi/connection_engine.h"

#include <spdlog/spdlog.h>

#include <strings.h>
#include <algorithm>
#include <boost/asio/post.hpp>

#include <cstring>

#include "scsi/sense.h"
#include "util/loop_turn.h"

namespace sharedisk::iscsi {

namespace asio = boost::asio;

namespace {
constexpr size_t kReceiveBuffer = 128 * 1024;
constexpr uint32_t kDirectReadThreshold = 16 * 1024;
}  // namespace

ConnectionEngine::ConnectionEngine(ServerContext& server, EventLoop& loop, std::string peer,
                                   std::string local)
    : server_(server), loop_(loop), peer_(std::move(peer)), local_address_(std::move(local)) {
  rbuf_.resize(kReceiveBuffer);
  txq_.reserve(256);
  tx_inflight_.reserve(256);
}

ConnectionEngine::~ConnectionEngine() {
  if (nexus_ != nullptr) {
    server_.task_sets.remove(nexus_);
    target_->device->detach(nexus_);
  }
  for (auto& w : drain_waiters_) w();  // nothing of ours is left running
  for (auto& w : gone_waiters_) w();
  if (session_listed_) server_.sessions.remove(tsih_, this);
}

void ConnectionEngine::start_engine(Clock::time_point now) {
  started_ = last_rx_ = now_ = now;
  login_.emplace(server_.registry, server_.limits, peer_, static_cast<SessionAdmission&>(*this));
  login_->set_security(server_.security.get(), server_.bounds.max_login_text);
  spdlog::info("connection from {} accepted", peer_);
}

void ConnectionEngine::post_close(const char* why) {
  asio::post(loop_.io, [self = shared_from_this(), why] { self->close(why); });
}

void ConnectionEngine::close(const char* why) {
  if (closed_) return;
  closed_ = true;
  spdlog::info("connection {} ({}) closed: {}", peer_, initiator_.empty() ? "-" : initiator_, why);
  closing();
  // Commands not inside the SCSI layer can go now (the transport stopped
  // reading: no receive into their buffers can follow); the others finish
  // there (writes already handed to the disk complete) and are dropped in
  // task_done.
  rx_cmd_ = nullptr;
  reader_.reset();
  // A login that was replacing a session and is gone before its answer: the
  // old session was already taken out of the table, so it ends too.
  if (reinstating_) reinstating_->post_close("session reinstated by a new login");
  reinstating_.reset();
  for (Command* cmd : std::vector<Command*>(window_.active().begin(), window_.active().end())) {
    if (cmd->state == Command::State::kReceiving)
      free_command(cmd);
    else if (cmd->state == Command::State::kInScsi && target_ != nullptr)
      target_->device->abort_held(cmd->task);  // a held write never lands after the loss
  }
  tmfs_.clear();
  // The session stays listed (a reinstating login waits for it) until its
  // last command has left the SCSI layer.
  if (in_scsi_ == 0) detach_nexus();
}

void ConnectionEngine::detach_nexus() {
  if (nexus_ != nullptr) {
    server_.task_sets.remove(nexus_);
    target_->device->detach(nexus_);
    nexus_ = nullptr;
  }
  if (session_listed_) {
    server_.sessions.remove(tsih_, this);
    session_listed_ = false;
  }
  auto waiters = std::move(gone_waiters_);
  gone_waiters_.clear();
  for (auto& w : waiters) w();
}

void ConnectionEngine::close_for_reinstatement(std::function<void()> on_gone) {
  asio::post(loop_.io, [self = shared_from_this(), on_gone = std::move(on_gone)]() mutable {
    self->gone_waiters_.push_back(std::move(on_gone));
    self->close("session reinstated by a new login");
    if (self->in_scsi_ == 0) self->detach_nexus();
  });
}

// ---------------------------------------------------------------- receive

std::span<uint8_t> ConnectionEngine::receive_window(bool* direct) {
  *direct = false;
  if (closed_ || rx_paused_ || close_after_write_) return {};
  std::span<uint8_t> payload = reader_.payload_window();
  if (rpos_ == rend_ && payload.size() >= kDirectReadThreshold) {
    // Large data segment: straight from the socket into the command's buffer.
    *direct = true;
    return payload;
  }
  if (rpos_ == rend_) {
    rpos_ = rend_ = 0;
  } else if (rbuf_.size() - rend_ < 4096) {
    std::memmove(rbuf_.data(), rbuf_.data() + rpos_, rend_ - rpos_);
    rend_ -= rpos_;
    rpos_ = 0;
  }
  return {rbuf_.data() + rend_, rbuf_.size() - rend_};
}

bool ConnectionEngine::received(size_t n, bool direct, Clock::time_point now) {
  if (closed_) return false;
  last_rx_ = now_ = now;
  if (direct) {
    reader_.payload_received(n);
  } else {
    rend_ += n;
  }
  bool ok;
  {
    // The commands this read carried reach the backing store together when
    // the turn closes, and what completes at once is answered in that turn.
    util::LoopTurn turn;
    ok = process_rx();
  }
  if (!ok && !closed_ && !close_after_write_) close("protocol error");
  return ok && !closed_;
}

bool ConnectionEngine::feed(std::span<const uint8_t> bytes, Clock::time_point now) {
  while (!bytes.empty()) {
    bool direct = false;
    std::span<uint8_t> window = receive_window(&direct);
    if (window.empty()) return false;
    size_t n = std::min(window.size(), bytes.size());
    std::memcpy(window.data(), bytes.data(), n);
    bytes = bytes.subspan(n);
    if (!received(n, direct, now)) return false;
  }
  return !closed_;
}

// Feeds the buffered bytes to the framer and acts on each header and PDU.
bool ConnectionEngine::process_rx() {
  while (!closed_ && !close_after_write_ && !rx_paused_) {
    PduReader::Step step = reader_.feed({rbuf_.data() + rpos_, rend_ - rpos_});
    rpos_ += step.consumed;
    switch (step.event) {
      case PduReader::Event::kNeedMore:
        return true;
      case PduReader::Event::kHeader:
        hdr_ = reader_.header();
        if (!on_header()) return false;
        break;
      case PduReader::Event::kPdu:
        rx_digest_error_ = !reader_.data_digest_ok();
        if (!on_pdu()) return false;
        break;
      case PduReader::Event::kError:
        spdlog::warn("{}: {} on {}: closing", peer_, PduReader::describe(reader_.error()),
                     describe(reader_.header()));
        if (reader_.error() == PduReader::Error::kHeaderDigest) close("header digest error");
        return false;
    }
  }
  return true;
}

// The header (and AHS) is in; decide where the data segment goes.
bool ConnectionEngine::on_header() {
  // describe() formats: only pay for it when tracing is on.
  if (spdlog::should_log(spdlog::level::trace)) spdlog::trace("{}: rx {}", peer_, describe(hdr_));
  uint32_t dsl = hdr_.data_length();
  rx_cmd_ = nullptr;
  uint32_t limit = reader_.settings().max_data_segment;
  uint8_t reason = check_received(hdr_, full_feature_, limit);
  if (reason != 0) {
    spdlog::warn("{}: bad PDU {}: reject reason 0x{:02x}", peer_, describe(hdr_), reason);
    if (!full_feature_ || dsl > limit) return false;  // cannot resynchronise safely
    send_reject(reason, hdr_);
    reader_.set_destination(nullptr);
    return true;
  }
  switch (hdr_.opcode()) {
    case op::kScsiCommand:
      return handle_scsi_command();
    case op::kDataOut:
      return start_data_out();
    default:
      control_data_.resize(dsl);
      reader_.set_destination(reinterpret_cast<uint8_t*>(control_data_.data()));
      return true;
  }
}

// A whole PDU (header, AHS, data) has been received.
bool ConnectionEngine::on_pdu() {
  if (rx_digest_error_) {
    // RFC 7143 §7.8: Reject (Data-Digest-Error) and discard. At ERL 0 there
    // is no recovery R2T, so a command whose data was damaged ends with
    // CHECK CONDITION, ABORTED COMMAND / PROTOCOL SERVICE CRC ERROR (47/05)
    // once all its data is in; its data never reaches the disk.
    rx_digest_error_ = false;
    spdlog::warn("{}: data digest error on {}", peer_, describe(hdr_));
    send_reject(reject::kDataDigestError, hdr_);
    uint8_t opcode = hdr_.opcode();
    if (opcode == op::kScsiCommand || opcode == op::kDataOut) {
      if (rx_cmd_ != nullptr) {
        rx_cmd_->data_error = true;
        rx_cmd_->digest_error = true;
      }
    } else {
      // A non-data PDU is dropped; its CmdSN is used up so later commands still run.
      if (!hdr_.immediate()) consume_cmdsn(hdr_.cmdsn());
      return true;
    }
  }
  switch (hdr_.opcode()) {
    case op::kLoginRequest:
      return handle_login();
    case op::kScsiCommand:
    case op::kDataOut: {
      Command* cmd = rx_cmd_;
      rx_cmd_ = nullptr;
      if (cmd == nullptr) return true;  // dropped or rejected: data discarded
      cmd->xfer.segment_received(hdr_.data_length());
      if (hdr_.opcode() == op::kScsiCommand) {
        if (cmd->immediate) {
          command_ready(cmd);
        } else {
          window_.arrived(cmd);
          accept_waiting();
        }
        return true;
      }
      cmd->xfer.data_out_ended(hdr_.ttt() != kReservedTag, hdr_.final());
      if (cmd->accepted) command_ready(cmd);
      return true;
    }
    case op::kNopOut:
      return handle_nop_out();
    case op::kTextRequest:
      return handle_text();
    case op::kLogoutRequest:
      return handle_logout();
    case op::kTaskMgmtRequest:
      return handle_task_management();
    default:
      return true;
  }
}

// ---------------------------------------------------------------- login

bool ConnectionEngine::handle_login() {
  Login::Reply reply = login_->handle(hdr_, reinterpret_cast<const uint8_t*>(control_data_.data()),
                                      control_data_.size());
  if (reply.complete && reinstating_) {
    // RFC 7143 6.3.5: the old session's tasks end before the new session
    // starts. Nothing more is read until then.
    held_login_ = std::move(reply);
    rx_paused_ = true;
    auto old = std::move(reinstating_);
    std::weak_ptr<ConnectionEngine> weak = weak_from_this();
    asio::io_context* home = &loop_.io;
    old->close_for_reinstatement([weak, home] {
      asio::post(*home, [weak] {
        if (auto self = weak.lock()) self->resume_login();
      });
    });
    return true;
  }
  send_login_reply(std::move(reply));
  return true;
}

// Queues a Login Response; the final one starts the full feature phase.
void ConnectionEngine::send_login_reply(Login::Reply reply) {
  OutPdu& pdu = queue_pdu(reply.bhs);
  pdu.owned = std::move(reply.data);
  pdu.length = uint32_t(pdu.owned.size());
  if (reply.close) {
    spdlog::warn("login from {} ({}) refused: status 0x{:04x}{}{}", peer_,
                 login_->initiator_name().empty() ? "-" : login_->initiator_name(),
                 reply.bhs.login_status_code(), reply.reason.empty() ? "" : ": ", reply.reason);
    server_.login_failures.fetch_add(1, std::memory_order_relaxed);
    close_after_write_ = true;
  } else if (reply.complete) {
    full_feature_ = true;
    params_ = login_->params();
    // From the next PDU on: the negotiated digests and segment limit.
    reader_.configure({.login_phase = false,
                       .header_digest = params_.header_digest,
                       .data_digest = params_.data_digest,
                       .max_data_segment = params_.target_mrdsl});
    statsn_ = login_->next_statsn();
    window_.set_exp_cmdsn(login_->exp_cmdsn());
    spdlog::info(
        "{} session tsih {} for {} from {} (mrdsl in/out {}/{}, burst {}/{}, r2t {}, "
        "immediate {})",
        discovery_ ? "discovery" : "normal", tsih_, initiator_, peer_, params_.target_mrdsl,
        params_.initiator_mrdsl, params_.first_burst_length, params_.max_burst_length,
        params_.initial_r2t, params_.immediate_data);
  }
  schedule_flush();
}

void ConnectionEngine::resume_login() {
  if (closed_ || !held_login_) return;
  spdlog::info("session of {} reinstated: the replaced session has drained", initiator_);
  util::LoopTurn turn;
  Login::Reply reply = std::move(*held_login_);
  held_login_.reset();
  send_login_reply(std::move(reply));
  rx_paused_ = false;
  if (process_rx())
    want_input();
  else if (!closed_ && !close_after_write_)
    close("protocol error");
}

uint16_t ConnectionEngine::admit(const Login& login, uint16_t* status) {
  discovery_ = login.session_type() == SessionType::kDiscovery;
  initiator_ = login.initiator_name();
  target_ = login.target();
  if (target_ != nullptr && !(target_ref_ = server_.registry.share(target_))) {
    *status = login_status::kNotFound;  // removed by a reload during this login
    return 0;
  }
  SessionKey key{login.initiator_name(), login.isid(), target_ ? target_->iqn : std::string()};
  size_t others = 0;  // this initiator's sessions that this login does not reinstate
  for (const auto& [s, conn] : server_.sessions.sessions()) {
    bool same_name = strcasecmp(s.key.initiator.c_str(), key.initiator.c_str()) == 0;
    if (same_name && !(s.key.isid == key.isid && s.key.target == key.target)) ++others;
  }
  if (others >= server_.bounds.max_sessions_per_initiator) {
    spdlog::warn("login from {} ({}): limits.max_sessions_per_initiator ({}) reached", peer_,
                 initiator_, server_.bounds.max_sessions_per_initiator);
    *status = login_status::kOutOfResources;
    return 0;
  }
  std::shared_ptr<ConnectionEngine> replaced;
  uint16_t tsih =
      server_.sessions.admit(key, login.requested_tsih(), weak_from_this(), &replaced, status);
  if (tsih == 0) return 0;
  if (replaced && replaced.get() != this) {
    spdlog::info("session of {} isid 0x{:012x} reinstated: waiting for the old one to drain",
                 initiator_, login.isid());
    reinstating_ = std::move(replaced);  // closed, and waited for, when the login completes
  }
  tsih_ = tsih;
  session_listed_ = true;
  SessionInfo info;
  info.initiator_alias = login.initiator_alias();
  info.peer = peer_;
  info.local = local_address_;
  info.loop = loop_.index;
  info.params = login.params();
  info.since = std::chrono::system_clock::now();
  server_.sessions.describe(tsih, this, std::move(info));
  if (target_ != nullptr) {
    window_.set_queue_depth(target_->queue_depth);
    char isid[16];
    std::snprintf(isid, sizeof isid, "%012llx", static_cast<unsigned long long>(login.isid()));
    const TargetRegistry& reg = server_.registry;
    nexus_ = target_->device->attach(initiator_ + ",i,0x" + isid,
                                     reg.target_port_name(target_->iqn), 1, reg.portal_group_tag());
    server_.task_sets.add(nexus_, target_, weak_from_this());
    if (login.read_only()) {
      nexus_->set_read_only(true);
      spdlog::info("{} has read-only access to {}", initiator_, target_->iqn);
    }
  } else {
    window_.set_queue_depth(kDiscoveryQueueDepth);
  }
  return tsih;
}

// ---------------------------------------------------------------- commands

bool ConnectionEngine::cmdsn_acceptable(const Bhs& bhs) const {
  if (bhs.immediate()) return true;
  // Outside [ExpCmdSN, MaxCmdSN]: silently ignored (RFC 7143 §4.2.2.1), like
  // a CmdSN already used (an ABORT TASK's RefCmdSN, RFC 7143 §11.5.1).
  if (window_.acceptable(bhs.cmdsn())) return true;
  spdlog::debug("{}: CmdSN {} outside window [{}, {}], ignored", peer_, bhs.cmdsn(),
                window_.exp_cmdsn(), window_.max_cmdsn());
  return false;
}

void ConnectionEngine::free_command(Command* cmd) {
  window_.release(cmd);
  if (window_.any_held()) release_held();
}

bool ConnectionEngine::handle_scsi_command() {
  uint32_t dsl = hdr_.data_length();
  if (!cmdsn_acceptable(hdr_)) {
    reader_.set_destination(nullptr);
    return true;
  }
  uint8_t flags = hdr_.flags();
  bool read = flags & flag::kRead;
  bool write = flags & flag::kWrite;
  uint32_t edtl = hdr_.expected_length();
  uint8_t reason = 0;
  if (discovery_)
    reason = reject::kProtocolError;
  else if (hdr_.ahs_length() != 0)
    reason = reject::kCommandNotSupported;  // extended CDB / bidi
  else if (read && write)
    reason = reject::kCommandNotSupported;
  else if (dsl > 0 &&
           (!write || dsl > edtl || !params_.immediate_data || dsl > params_.first_burst_length))
    reason = reject::kProtocolError;
  if (reason != 0) {
    send_reject(reason, hdr_);
    if (!hdr_.immediate()) consume_cmdsn(hdr_.cmdsn());
    reader_.set_destination(nullptr);
    return true;
  }
  if (hdr_.immediate()) {
    // Immediate commands bypass the CmdSN window; bound them separately.
    if (window_.immediate_count() >= server_.bounds.max_immediate_commands) {
      send_reject(reject::kImmediateCommandReject, hdr_);
      reader_.set_destination(nullptr);
      return true;
    }
  }
  Command* cmd = window_.alloc();
  if (cmd == nullptr) return false;
  cmd->state = Command::State::kReceiving;
  cmd->immediate = hdr_.immediate();
  cmd->itt = hdr_.itt();
  cmd->cmdsn = hdr_.cmdsn();
  cmd->started = now_;
  cmd->data_error = false;
  cmd->digest_error = false;
  cmd->xfer.start(params_, write, edtl, dsl, hdr_.final());
  scsi::Task& task = cmd->task;
  task.reset_result();
  std::memcpy(task.cdb, hdr_.cdb(), 16);
  task.cdb_length = 16;
  task.lun = hdr_.lun();
  task.attr = static_cast<scsi::TaskAttr>(flags & flag::kAttrMask);
  task.tag = cmd->itt;
  task.expected_length = edtl;
  task.direction = write  ? scsi::Direction::kWrite
                   : read ? scsi::Direction::kRead
                          : scsi::Direction::kNone;
  task.data_out_length = 0;
  task.nexus = nexus_;
  task.loop = loop_.index;
  task.owner = this;
  task.transport_context = cmd;
  if (edtl > 0 && (read || write)) {
    task.buffer = loop_.pool.get(edtl);
    if (!task.buffer) {
      // More than we can buffer: answered once it is in order, no data taken.
      cmd->xfer.refuse();
      cmd->aborted = false;
      task.expected_length = 0;
      task.direction = scsi::Direction::kNone;
      cmd->state = Command::State::kResponding;
      reader_.set_destination(nullptr);
      rx_cmd_ = cmd;
      hdr_.set_data_length(0);  // nothing counted as received
      return true;
    }
  }
  rx_cmd_ = cmd;
  reader_.set_destination(dsl > 0 ? task.buffer.data() : nullptr);
  return true;
}

bool ConnectionEngine::start_data_out() {
  uint32_t dsl = hdr_.data_length();
  uint32_t ttt = hdr_.ttt();
  Command* cmd = nullptr;
  bool solicited = ttt != kReservedTag;
  if (!solicited) {
    cmd = window_.find_by_itt(hdr_.itt());
  } else {
    cmd = window_.find_by_ttt(ttt);
  }
  if (cmd == nullptr || cmd->state != Command::State::kReceiving || cmd->itt != hdr_.itt()) {
    // Data for a task we do not have (aborted, or never sent): drop it.
    spdlog::debug("{}: Data-Out for unknown task itt 0x{:08x} ttt 0x{:08x}", peer_, hdr_.itt(),
                  ttt);
    reader_.set_destination(nullptr);
    return true;
  }
  uint32_t offset = hdr_.buffer_offset();
  if (!cmd->xfer.accepts(solicited, hdr_.datasn(), offset, dsl, params_.initial_r2t) ||
      cmd->data_error) {
    // ErrorRecoveryLevel 0 has no recovery R2T: the data is dropped (never
    // written), the rest of the command's data is taken and discarded, and
    // the command ends with CHECK CONDITION; the session goes on.
    if (!cmd->data_error)
      spdlog::warn(
          "{}: Data-Out out of sequence (itt 0x{:08x} datasn {} expected {}, offset {} "
          "expected {}, length {}): command failed",
          peer_, cmd->itt, hdr_.datasn(), cmd->xfer.expected_datasn(), offset, cmd->xfer.received(),
          dsl);
    cmd->data_error = true;
    rx_cmd_ = cmd;
    reader_.set_destination(nullptr);
    return true;
  }
  rx_cmd_ = cmd;
  reader_.set_destination(cmd->task.buffer.data() + offset);
  return true;
}

// ---- the CmdSN sequence (RFC 7143 §4.2.2.1): every number in order, once

void ConnectionEngine::consume_cmdsn(uint32_t sn) {
  window_.consume(sn);
  accept_waiting();
}

void ConnectionEngine::accept_waiting() {
  while (Command* cmd = window_.next_in_order()) command_ready(cmd);
}

// ---- task attributes (SAM-5 8.6)

void ConnectionEngine::command_finished(Command* cmd) {
  window_.finished(cmd);
  if (window_.any_held()) release_held();
}

void ConnectionEngine::release_held() {
  if (closed_) return;
  // execute() may complete a command at once, which comes back here.
  while (Command* cmd = window_.next_released()) execute(cmd);
}

void ConnectionEngine::command_ready(Command* cmd) {
  if (cmd->immediate) cmd->accepted = true;
  if (cmd->state == Command::State::kResponding) {  // refused before any data (too large)
    respond_check_condition(cmd, scsi::sense_key::kIllegalRequest, scsi::asc::kInvalidFieldInCdb);
    return;
  }
  if (cmd->state != Command::State::kReceiving) return;
  if (cmd->aborted) {  // aborted while its data or its CmdSN was on the way
    finish_aborted(cmd);
    return;
  }
  if (cmd->xfer.complete() || cmd->task.direction != scsi::Direction::kWrite) {
    if (cmd->data_error) {
      respond_check_condition(
          cmd, scsi::sense_key::kAbortedCommand,
          cmd->digest_error ? scsi::asc::kProtocolServiceCrcError : scsi::asc::kDataPhaseError);
      return;
    }
    if (window_.must_wait(cmd)) {
      window_.hold(cmd);
      return;
    }
    execute(cmd);
  } else if (cmd->xfer.needs_r2t()) {
    send_r2ts(cmd);
  }
}

void ConnectionEngine::send_r2ts(Command* cmd) {
  WriteTransfer::R2tRequest r2t;
  while (cmd->xfer.next_r2t(params_, &r2t))
    queue_pdu(out::build(out::R2T{.lun = cmd->task.lun,
                                  .itt = cmd->itt,
                                  .ttt = cmd->ttt,
                                  .sn = next_sn(false),
                                  .r2tsn = r2t.r2tsn,
                                  .buffer_offset = r2t.offset,
                                  .desired_length = r2t.length}));
  schedule_flush();
}

void ConnectionEngine::execute(Command* cmd) {
  cmd->state = Command::State::kInScsi;
  cmd->task.data_out_length = cmd->xfer.received();
  in_scsi_++;
  if (!keep_alive_) keep_alive_ = shared_from_this();
  target_->device->execute(cmd->task);
}

void ConnectionEngine::task_done(scsi::Task& task) {
  auto* cmd = static_cast<Command*>(task.transport_context);
  in_scsi_--;
  if (closed_) {
    free_command(cmd);
    notify_drained();
  } else if (cmd->aborted) {
    finish_aborted(cmd);
    if (!tmfs_.empty()) finish_pending_tmfs();
    notify_drained();
  } else {
    respond(cmd);
  }
  if (pending_logout_ && in_scsi_ == 0 && !closed_) handle_logout();
  if (in_scsi_ == 0) {
    auto self = std::move(keep_alive_);  // may destroy *this at the end of this scope
    if (closed_) detach_nexus();
  }
}

void ConnectionEngine::respond(Command* cmd) {
  scsi::Task& task = cmd->task;
  cmd->state = Command::State::kResponding;
  command_finished(cmd);
  if (LunIoStats* stats = target_ ? target_->stats_for(task.lun) : nullptr) {
    IoKind kind = task.direction == scsi::Direction::kRead    ? IoKind::kRead
                  : task.direction == scsi::Direction::kWrite ? IoKind::kWrite
                                                              : IoKind::kOther;
    uint32_t bytes = kind == IoKind::kRead    ? std::min(task.data_in_length, cmd->xfer.edtl())
                     : kind == IoKind::kWrite ? task.data_out_length
                                              : 0;
    stats->record(loop_.index, kind, bytes, task.status != scsi::status::kGood,
                  Clock::now() - cmd->started);
  }
  window_.retire(cmd);  // no longer counted in MaxCmdSN
  uint32_t edtl = cmd->xfer.edtl();
  uint8_t residual_flags = 0;
  uint32_t residual = 0;
  if (task.transfer_length > edtl) {
    residual_flags = flag::kOverflow;
    residual = task.transfer_length - edtl;
  } else if (task.transfer_length < edtl) {
    residual_flags = flag::kUnderflow;
    residual = edtl - task.transfer_length;
  }
  uint32_t length =
      task.direction == scsi::Direction::kRead ? std::min(task.data_in_length, edtl) : 0;
  // The last Data-In carries the status when there is no sense to send.
  DataInStatus in_data{.in_last_pdu = task.status == scsi::status::kGood && task.sense_length == 0,
                       .status = task.status,
                       .residual_flags = residual_flags,
                       .residual = residual};
  DataInSplitter split(length, params_.initiator_mrdsl, params_.max_burst_length);
  DataInSplitter::Segment seg;
  while (split.next(&seg)) {
    out::DataIn header = data_in_header(seg, cmd->itt, in_data);
    header.sn = next_sn(header.status_present);
    OutPdu& pdu = queue_pdu(out::build(header));
    pdu.data = task.buffer.data() + seg.offset;
    pdu.length = seg.length;
    if (header.status_present) {
      pdu.release = cmd;
      schedule_flush();
      return;
    }
  }
  uint32_t sense_length = 0;
  if (task.sense_length > 0) {
    put_be16(cmd->sense_pdu, task.sense_length);
    std::memcpy(cmd->sense_pdu + 2, task.sense, task.sense_length);
    sense_length = 2u + task.sense_length;
  }
  OutPdu& rsp = queue_pdu(out::build(out::ScsiResponse{.residual_flags = residual_flags,
                                                       .status = task.status,
                                                       .data_length = sense_length,
                                                       .itt = cmd->itt,
                                                       .sn = next_sn(true),
                                                       .exp_datasn = split.pdus(),
                                                       .residual = residual}));
  if (sense_length > 0) {
    rsp.data = cmd->sense_pdu;
    rsp.length = sense_length;
  }
  rsp.release = cmd;
  schedule_flush();
}

// Sense in the format the LUN's D_SENSE asks for, built by the SCSI layer's
// one sense builder.
void ConnectionEngine::respond_check_condition(Command* cmd, uint8_t key, uint16_t asc_ascq) {
  scsi::Task& task = cmd->task;
  uint64_t number = 0;
  bool descriptor = target_ != nullptr && scsi::decode_lun(task.lun, &number) &&
                    target_->device->control_mode(number).descriptor_sense;
  scsi::set_sense(task, descriptor, key, asc_ascq);
  task.transfer_length = 0;
  task.data_in_length = 0;
  respond(cmd);
}

// ---------------------------------------------------------------- control PDUs

bool ConnectionEngine::handle_nop_out() {
  if (!cmdsn_acceptable(hdr_)) return true;
  if (!hdr_.immediate()) consume_cmdsn(hdr_.cmdsn());
  uint32_t itt = hdr_.itt();
  if (itt == kReservedTag) {
    // The answer to our NOP-In ping (or an unsolicited ping, which needs none).
    if (ping_outstanding_ && hdr_.ttt() == ping_ttt_) ping_outstanding_ = false;
    return true;
  }
  OutPdu& pdu = queue_pdu(out::build(out::NopIn{.data_length = uint32_t(control_data_.size()),
                                                .lun = hdr_.lun(),
                                                .itt = itt,
                                                .sn = next_sn(true)}));
  pdu.owned = control_data_;  // ping data is echoed back
  pdu.length = uint32_t(pdu.owned.size());
  schedule_flush();
  return true;
}

bool ConnectionEngine::handle_text() {
  if (!cmdsn_acceptable(hdr_)) return true;
  if (!hdr_.immediate()) consume_cmdsn(hdr_.cmdsn());
  std::string answer;
  if (hdr_.ttt() != kReservedTag && hdr_.ttt() == text_ttt_) {
    answer = std::move(text_rest_);  // the initiator asks for the rest
  } else {
    std::vector<KeyValue> keys;
    std::string error;
    if (hdr_.cont() || !parse_text(reinterpret_cast<const uint8_t*>(control_data_.data()),
                                   control_data_.size(), &keys, &error)) {
      send_reject(reject::kProtocolError, hdr_);
      return true;
    }
    for (const KeyValue& kv : keys) {
      if (kv.key == "SendTargets") {
        // Discovery: "All" lists every target we may show; a normal session
        // may only ask about its own target.
        std::string only = discovery_ ? (kv.value == "All" ? "" : kv.value)
                                      : (target_ ? target_->iqn : std::string());
        answer += server_.registry.send_targets(initiator_, peer_, local_address_, only);
      } else {
        append_key(answer, kv.key, "NotUnderstood");
      }
    }
  }
  bool more = answer.size() > params_.initiator_mrdsl;
  if (more) {
    text_rest_ = answer.substr(params_.initiator_mrdsl);
    answer.resize(params_.initiator_mrdsl);
    text_ttt_ = (window_.new_generation() & 0x7fffffffu) | 0x80000000u;
    if (text_ttt_ == kReservedTag) text_ttt_ = 0x80000000u;
  } else {
    text_rest_.clear();
    text_ttt_ = kReservedTag;
  }
  OutPdu& pdu = queue_pdu(out::build(out::TextResponse{.final = !more,
                                                       .cont = more,
                                                       .data_length = uint32_t(answer.size()),
                                                       .lun = hdr_.lun(),
                                                       .itt = hdr_.itt(),
                                                       .ttt = text_ttt_,
                                                       .sn = next_sn(true)}));
  pdu.owned = std::move(answer);
  pdu.length = uint32_t(pdu.owned.size());
  schedule_flush();
  return true;
}

bool ConnectionEngine::handle_logout() {
  if (!pending_logout_) {
    if (!cmdsn_acceptable(hdr_)) return true;
    if (!hdr_.immediate()) consume_cmdsn(hdr_.cmdsn());
    pending_logout_ = hdr_;
    // Commands still waiting for data can never complete now.
    for (Command* cmd : std::vector<Command*>(window_.active().begin(), window_.active().end()))
      if (cmd->state == Command::State::kReceiving) free_command(cmd);
  }
  if (in_scsi_ > 0) return true;  // answered when the running commands are done
  Bhs request = *pending_logout_;
  pending_logout_.reset();
  uint8_t reason = request.flags() & 0x7f;
  // Reason 2 (remove the connection for recovery) needs ErrorRecoveryLevel 2:
  // "connection recovery is not supported".
  queue_pdu(out::build(out::LogoutResponse{
      .response = uint8_t(reason == 2 ? 2 : 0), .itt = request.itt(), .sn = next_sn(true)}));
  spdlog::info("logout from {} ({}), reason {}", peer_, initiator_, reason);
  close_after_write_ = true;
  schedule_flush();
  return true;
}

size_t ConnectionEngine::abort_commands(const AbortScope& scope, bool task_aborted_status) {
  size_t n = 0;
  // Ending one command can run or free others: walk a snapshot.
  abort_scratch_.assign(window_.active().begin(), window_.active().end());
  for (Command* cmd : abort_scratch_) {
    switch (window_.abort(cmd, scope, task_aborted_status, rx_cmd_)) {
      case CommandWindow::Abort::kNotReached:
        break;
      case CommandWindow::Abort::kLater:
        ++n;
        // A write held back for the RBD owner dwell ends now, unwritten.
        if (cmd->state == Command::State::kInScsi) target_->device->abort_held(cmd->task);
        break;
      case CommandWindow::Abort::kNow:
        ++n;
        finish_aborted(cmd);
        break;
    }
  }
  return n;
}

// An aborted command that can no longer touch the medium.
void ConnectionEngine::finish_aborted(Command* cmd) {
  window_.unhold(cmd);
  if (!cmd->answer_aborted) {
    free_command(cmd);
    return;
  }
  scsi::Task& task = cmd->task;
  task.status = scsi::status::kTaskAborted;
  task.sense_length = 0;
  task.data_in_length = 0;
  task.transfer_length = 0;
  respond(cmd);
}

bool ConnectionEngine::handle_task_management() {
  if (!cmdsn_acceptable(hdr_)) return true;
  TmfRequest request = TmfRequest::from(hdr_);
  uint64_t lun_number = 0;
  bool lun_ok = target_ != nullptr && scsi::decode_lun(request.lun, &lun_number) &&
                target_->device->has_lun(lun_number);
  TmfPlan plan =
      plan_task_management(request, window_, !discovery_ && target_ != nullptr, lun_number, lun_ok);
  auto t = std::make_shared<PendingTmf>();
  t->itt = request.itt;
  t->response = plan.response;
  t->close_after = plan.close_after;
  if (plan.abort) abort_commands(plan.scope, false);
  if (plan.consume_ref_cmdsn) consume_cmdsn(request.ref_cmdsn);
  switch (plan.reset) {
    case TmfPlan::Reset::kNone:
      break;
    case TmfPlan::Reset::kLogicalUnit:
      abort_elsewhere(lun_number, t);
      // Other gateways sharing the LU do the same, before the answer.
      t->remote_drains++;
      target_->device->announce_lun_reset(lun_number,
                                          [self = shared_from_this(), t, &io = loop_.io] {
                                            boost::asio::post(io, [self, t] {
                                              t->remote_drains--;
                                              self->finish_pending_tmfs();
                                            });
                                          });
      t->effect = [this, lun_number] { target_->device->lun_reset(nexus_, lun_number); };
      break;
    case TmfPlan::Reset::kTarget:
      for (uint64_t l : target_->device->luns()) abort_elsewhere(l, t);
      // Other gateways sharing a LU reset it too, before the answer.
      t->remote_drains++;
      target_->device->announce_target_reset([self = shared_from_this(), t, &io = loop_.io] {
        boost::asio::post(io, [self, t] {
          t->remote_drains--;
          self->finish_pending_tmfs();
        });
      });
      t->effect = [this] { target_->device->target_reset(nexus_); };
      break;
  }
  tmfs_.push(std::move(t));
  // A non-immediate request's own CmdSN is used only now, so that commands
  // queued after it are not accepted before its aborts.
  if (!request.immediate) consume_cmdsn(request.cmdsn);
  finish_pending_tmfs();
  return true;
}

// A TMF response goes out only once no command it aborted is still running,
// so nothing it aborted can complete (or write) after the initiator hears
// "done"; requests are answered in the order they came.
void ConnectionEngine::finish_pending_tmfs() {
  bool sent = false;
  while (!closed_) {
    std::shared_ptr<PendingTmf> t = tmfs_.pop_ready(window_.draining());
    if (!t) break;
    if (t->effect) {
      auto effect = std::move(t->effect);
      t->effect = nullptr;
      effect();
    }
    queue_pdu(out::build(
        out::TaskMgmtResponse{.response = t->response, .itt = t->itt, .sn = next_sn(true)}));
    if (t->close_after) close_after_write_ = true;
    sent = true;
  }
  if (sent) schedule_flush();
}

// Aborts the tasks the other sessions of this target have on `lun`; the
// pending TMF answer waits until they have drained.
void ConnectionEngine::abort_elsewhere(uint64_t lun, const std::shared_ptr<PendingTmf>& t) {
  std::vector<scsi::Nexus*> others = server_.task_sets.others(target_, nexus_);
  if (others.empty()) return;
  t->remote_drains++;
  server_.task_sets.abort_tasks(others, lun, loop_.index, [self = shared_from_this(), t] {
    t->remote_drains--;
    self->finish_pending_tmfs();
  });
}

void ConnectionEngine::abort_lun_tasks(uint64_t lun, std::function<void()> on_drained) {
  bool tas = target_ == nullptr || target_->device->control_mode(lun).task_aborted_status;
  // Rare (another session's reset or PREEMPT AND ABORT), and what an
  // initiator's stall after one is traced back to.
  if (size_t n = abort_commands({.lun_filter = true, .lun = lun}, tas); n != 0)
    spdlog::info("{} ({}): {} task(s) on LUN {} aborted by another session, {}", peer_, initiator_,
                 n, lun, tas ? "answered TASK ABORTED (TAS=1)" : "not answered (TAS=0)");
  drain_waiters_.push_back(std::move(on_drained));
  notify_drained();
}

void ConnectionEngine::notify_drained() {
  if (drain_waiters_.empty() || window_.draining()) return;
  auto waiters = std::move(drain_waiters_);
  drain_waiters_.clear();
  for (auto& w : waiters) w();
}

// ---------------------------------------------------------------- transmit

ConnectionEngine::OutPdu& ConnectionEngine::queue_pdu(const Bhs& bhs) {
  OutPdu& pdu = txq_.emplace_back();
  pdu.bhs = bhs;
  return pdu;
}

out::SeqNumbers ConnectionEngine::next_sn(bool advance_statsn) {
  return {advance_statsn ? statsn_++ : statsn_, window_.exp_cmdsn(), window_.max_cmdsn()};
}

void ConnectionEngine::send_reject(uint8_t reason, const Bhs& rejected) {
  OutPdu& pdu = queue_pdu(
      out::build(out::Reject{.reason = reason, .data_length = kBhsSize, .sn = next_sn(true)}));
  pdu.owned.assign(reinterpret_cast<const char*>(rejected.b.data()), kBhsSize);
  pdu.length = kBhsSize;
  schedule_flush();
}

bool ConnectionEngine::output_done() {
  for (OutPdu& pdu : tx_inflight_)
    if (pdu.release != nullptr) free_command(pdu.release);
  tx_inflight_.clear();
  return !closed_ && close_after_write_ && txq_.empty();
}

// ---------------------------------------------------------------- timers

void ConnectionEngine::tick(Clock::time_point now) {
  if (closed_) return;
  if (!full_feature_) {
    if (now - started_ > std::chrono::seconds(server_.limits.login_timeout_s))
      close("login timed out");
  } else if (server_.limits.nop_interval_s > 0) {
    if (ping_outstanding_) {
      if (now - ping_sent_ > std::chrono::seconds(server_.limits.nop_timeout_s))
        close("initiator did not answer NOP-In");
    } else if (now - last_rx_ > std::chrono::seconds(server_.limits.nop_interval_s)) {
      ping_outstanding_ = true;
      ping_sent_ = now;
      ping_ttt_ = (window_.new_generation() | 0x40000000u) & 0x7fffffffu;
      queue_pdu(out::build(out::NopIn{.ttt = ping_ttt_, .sn = next_sn(false)}));
      schedule_flush();
    }
  }
}

}  // namespace sharedisk::iscsi
