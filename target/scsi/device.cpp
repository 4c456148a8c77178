// Device: the LUN table, I_T nexuses, and the dispatch every command passes:
// LUN lookup -> unit attention -> opcode table -> reservation check -> handler.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>

#include "scsi/command.h"
#include "scsi/device_impl.h"
#include "scsi/opcodes.h"
#include "scsi/reservations.h"
#include "scsi/write_gate.h"

namespace sharedisk::scsi {

// ---- SAM LUN addressing (SAM-5 4.7): peripheral 00b and flat 01b, single level.
bool decode_lun(uint64_t sam_lun, uint64_t* number) {
  if ((sam_lun & 0x0000FFFFFFFFFFFFull) != 0) return false;  // second..fourth levels
  uint16_t first = static_cast<uint16_t>(sam_lun >> 48);
  switch (first >> 14) {
    case 0:  // peripheral device: bus identifier must be 0
      if ((first >> 8) != 0) return false;
      *number = first & 0xFF;
      return true;
    case 1:  // flat space
      *number = first & 0x3FFF;
      return true;
    default:
      return false;
  }
}

uint64_t encode_lun(uint64_t number) {
  if (number < 256) return number << 48;
  return (0x4000ull | (number & 0x3FFF)) << 48;
}

std::unique_ptr<Device> make_device(const std::string& target_name, AluaTopology alua) {
  return std::make_unique<DeviceImpl>(target_name, std::move(alua));
}

// ---- helpers shared by the handlers

void complete(Task& task) {
  task.work.aux.reset();
  task.owner->task_done(task);
}

uint8_t* aux_buffer(Task& task, size_t bytes) {
  size_t rounded = (bytes + 4095) & ~size_t(4095);
  if (rounded == 0) rounded = 4096;
  void* p = std::aligned_alloc(4096, rounded);
  if (p == nullptr) return nullptr;
  task.work.aux.reset(static_cast<uint8_t*>(p));
  return static_cast<uint8_t*>(p);
}

void send_data_in(Task& task, const uint8_t* data, uint32_t len, uint32_t allocation_length) {
  uint32_t n = std::min(len, allocation_length);
  task.transfer_length = n;
  uint32_t m = std::min<uint64_t>({n, task.expected_length, task.buffer.capacity()});
  if (m > 0) std::memcpy(task.buffer.data(), data, m);
  task.data_in_length = m;
  task.status = status::kGood;
  complete(task);
}

void prepare_rw(Task& task, blockdev::IoOp op, uint8_t* data, uint64_t offset, uint64_t bytes,
                bool fua) {
  task.iov[0].iov_base = data;
  task.iov[0].iov_len = bytes;
  task.io.op = op;
  task.io.fua = fua;
  task.io.unmap = false;
  task.io.iov = task.iov;
  task.io.iovcnt = 1;
  task.io.offset = offset;
  task.io.length = bytes;
}

void submit_io(Task& task, Lun& lun, const Step& next) {
  task.scsi_state = const_cast<Step*>(&next);
  task.io.callback = &task;
  task.io.user = &lun;
  lun.in_io.fetch_add(1, std::memory_order_relaxed);
  lun.channel(task.loop).submit(task.io);
}

void fail_io(Task& task, Lun& lun, int result, bool write) {
  if (result == -ENOSPC)
    fail(task, &lun, sense_key::kDataProtect, asc::kSpaceAllocationFailedWriteProtect);
  else if (result == -EROFS || result == -EPERM || result == -EACCES)
    fail_write_protected(task, &lun);
  else if (result == -ETIMEDOUT)
    // The store did not answer in time (an RBD I/O past rbd_timeout): ABORTED
    // COMMAND is retried by initiators (Linux: NEEDS_RETRY), and nothing of
    // the command may be assumed written.
    fail(task, &lun, sense_key::kAbortedCommand, asc::kTimeoutOnLogicalUnit);
  else if (result == -ESHUTDOWN)
    // The cluster blocklisted this client (EBLOCKLISTED): no I/O of this
    // gateway will succeed until it reconnects; a multipath initiator fails
    // over to another path.
    fail(task, &lun, sense_key::kNotReady, asc::kNotReadyManualInterventionRequired);
  else
    fail(task, &lun, sense_key::kMediumError,
         write ? asc::kWriteError : asc::kUnrecoveredReadError);
}

void Task::io_done(blockdev::IoRequest& req, int result) {
  auto* lun = static_cast<Lun*>(req.user);
  lun->in_io.fetch_sub(1, std::memory_order_relaxed);
  static_cast<const Step*>(scsi_state)->fn(*this, *lun, result);
}

bool reservation_conflict(Lun& lun, const Nexus* nexus, Access access);

// ---- DeviceImpl

DeviceImpl::~DeviceImpl() {
  // No other gateway's change reaches a LUN of this device from now on.
  for (auto& l : owned_) l->reservations().set_peer_effects(nullptr);
}

// Another gateway's reservation change reaches `lun`'s nexuses here, through
// the same path as a local one.
void DeviceImpl::watch_peers(Lun* lun) {
  if (!lun->reservations().shared()) return;
  lun->reservations().set_peer_effects([this, lun](const PrEffects& e, std::function<void()> done) {
    if (e.reset_asc == 0) return apply_pr_effects(*this, *lun, e, nullptr, std::move(done));
    // Another gateway's LOGICAL UNIT RESET: this gateway's tasks on the LU
    // are aborted, then the reset takes effect here as a local one does.
    // in_io keeps a removed LUN allocated until then.
    lun->in_io.fetch_add(1, std::memory_order_relaxed);
    // A gateway catching up after a stale spell may have missed a reset and
    // reservation changes: their unit attentions follow the reset's.
    auto finish = [this, lun, e, done = std::move(done)]() mutable {
      reset_lun(*lun, nullptr, e.reset_asc);
      apply_pr_effects(*this, *lun, e, nullptr, [lun, done = std::move(done)] {
        lun->in_io.fetch_sub(1, std::memory_order_relaxed);
        done();
      });
    };
    std::vector<Nexus*> all;
    for (const Nexus* n : lun->nexuses()) all.push_back(const_cast<Nexus*>(n));
    if (all.empty() || aborter_ == nullptr) return finish();
    aborter_->abort_nexus_tasks_for_peer(all, lun->number(), std::move(finish));
  });
}

namespace {
// A removed LUN is freed only after it has been idle this long: a command
// looks its LUN up lock-free and may hold the pointer for the few
// microseconds until its first I/O counts in Lun::in_io.
constexpr auto kRetireDelay = std::chrono::seconds(10);
}  // namespace

void DeviceImpl::add_lun(const LunOptions& options, std::unique_ptr<blockdev::BlockDevice> backing,
                         const std::vector<boost::asio::io_context*>& loops) {
  install(options, std::move(backing), loops, Install::kAdd);
}

void DeviceImpl::replace_lun(const LunOptions& options,
                             std::unique_ptr<blockdev::BlockDevice> backing,
                             const std::vector<boost::asio::io_context*>& loops) {
  install(options, std::move(backing), loops, Install::kReplace);
}

void DeviceImpl::install(const LunOptions& options, std::unique_ptr<blockdev::BlockDevice> backing,
                         const std::vector<boost::asio::io_context*>& loops, Install how) {
  const std::string name = "LUN " + std::to_string(options.number);
  if (options.number >= 16384) throw std::runtime_error(name + " is not below 16384");
  std::lock_guard lock(mutex_);
  Lun* old = find_lun(options.number);
  if (how == Install::kAdd && old != nullptr) throw std::runtime_error(name + " defined twice");
  if (how == Install::kReplace && old == nullptr)
    throw std::runtime_error(name + " does not exist");
  // The same logical unit with other options (a reload changed write_cache,
  // say) keeps its reservation state and mode parameters: sessions that
  // registered keep their registrations, and fencing stays armed.
  bool same_unit = old != nullptr && old->options().serial == options.serial &&
                   old->options().naa == options.naa &&
                   old->options().pr_state_path == options.pr_state_path &&
                   old->options().shared_reservations == options.shared_reservations;
  std::shared_ptr<ReservationStore> rs = same_unit ? old->reservation_store()
                                         : options.make_reservations
                                             ? options.make_reservations()
                                             : make_local_reservation_store(options.pr_state_path);
  std::shared_ptr<Alua> alua = same_unit ? old->alua_state() : std::make_shared<Alua>(alua_);
  auto lun =
      std::make_unique<Lun>(options, std::move(backing), loops, std::move(rs), std::move(alua));
  Lun* raw = lun.get();
  if (same_unit) {
    raw->set_d_sense(old->d_sense());
    raw->set_tas(old->tas());
  }
  // Known to every nexus before any command can find it.
  for (auto& n : nexuses_) raw->nexus_attached(n.get());
  table_.update([&](LunTable& t) {
    std::erase(t.sorted, old);
    auto pos = std::find_if(t.sorted.begin(), t.sorted.end(),
                            [&](const Lun* l) { return l->number() > options.number; });
    t.sorted.insert(pos, raw);
    if (options.number < kDirect) t.direct[options.number] = raw;
  });
  owned_.push_back(std::move(lun));
  watch_peers(raw);
  if (old != nullptr) {
    if (!same_unit) old->reservations().set_peer_effects(nullptr);
    retire_locked(old);
    return;
  }
  for (Lun* l : all_luns())
    if (l != raw) l->ua_add_others(nullptr, asc::kReportedLunsDataHasChanged);
}

bool DeviceImpl::remove_lun(uint64_t number) {
  std::lock_guard lock(mutex_);
  Lun* lun = find_lun(number);
  if (lun == nullptr) return false;
  table_.update([&](LunTable& t) {
    std::erase(t.sorted, lun);
    if (number < kDirect) t.direct[number] = nullptr;
  });
  lun->reservations().set_peer_effects(nullptr);
  retire_locked(lun);
  for (Lun* l : all_luns()) l->ua_add_others(nullptr, asc::kReportedLunsDataHasChanged);
  return true;
}

void DeviceImpl::retire_locked(Lun* lun) {
  auto now = std::chrono::steady_clock::now();
  std::erase_if(retired_, [&](const Retired& r) {
    return now - r.since > kRetireDelay && r.lun->in_io.load(std::memory_order_relaxed) == 0;
  });
  if (lun == nullptr) return;
  auto it =
      std::find_if(owned_.begin(), owned_.end(), [&](const auto& l) { return l.get() == lun; });
  retired_.push_back({std::move(*it), now});
  owned_.erase(it);
}

void DeviceImpl::report_luns_seen(const Nexus* nexus) {
  for (Lun* l : all_luns())
    if (l->ua_maybe_pending()) l->ua_clear(nexus, asc::kReportedLunsDataHasChanged);
}

std::vector<uint64_t> DeviceImpl::luns() const {
  std::vector<uint64_t> out;
  for (Lun* l : all_luns()) out.push_back(l->number());
  return out;
}

Nexus* DeviceImpl::attach(const std::string& initiator_port, const std::string& target_port,
                          uint16_t relative_target_port, uint16_t target_port_group) {
  // The transport's port index within this gateway -> the configured
  // relative target port identifier; its portal group -> this gateway's group.
  uint16_t rtpi = alua_.local_port(relative_target_port);
  if (rtpi == 0) rtpi = relative_target_port;
  (void)target_port_group;
  // With peers, each gateway is its own SCSI target port: its group is the
  // tag in the target port name ("iqn...,t,0x<group>"), so that the same
  // initiator port through two gateways is two I_T nexuses (two
  // registrations) in the reservation state they share. The iSCSI transport
  // already names its portal group by this group (TargetRegistry::
  // portal_group_tag, also the Login and SendTargets TargetPortalGroupTag);
  // a caller that names another tag gets the group's here.
  std::string port = target_port;
  if (size_t at = port.rfind(",t,0x"); alua_.has_peers() && at != std::string::npos) {
    char tag[8];
    std::snprintf(tag, sizeof tag, "%x", unsigned(alua_.local.id));
    port = port.substr(0, at + 5) + tag;
  }
  auto n = std::make_unique<NexusImpl>(initiator_port, port, rtpi, alua_.local.id);
  NexusImpl* raw = n.get();
  std::lock_guard lock(mutex_);
  nexuses_.push_back(std::move(n));
  for (Lun* l : all_luns()) l->nexus_attached(raw);
  retire_locked(nullptr);
  return raw;
}

namespace {
// SPC-2 reservations end with the nexus that holds them (SPC-2 5.5.1).
void release_spc2_of(Lun& lun, const Nexus* n) {
  lun.reservations().update([&](PrState& s) {
    if (!s.spc2 || n == nullptr) return false;
    if (s.spc2->first != n->initiator_port() || s.spc2->second != n->target_port()) return false;
    s.spc2.reset();
    return true;
  });
}
}  // namespace

void DeviceImpl::detach(Nexus* nexus) {
  std::lock_guard lock(mutex_);
  for (Lun* l : all_luns()) {
    release_spc2_of(*l, nexus);
    l->nexus_detached(nexus);
  }
  auto it = std::find_if(nexuses_.begin(), nexuses_.end(),
                         [&](const auto& n) { return n.get() == nexus; });
  if (it != nexuses_.end()) nexuses_.erase(it);
}

void DeviceImpl::reset_lun(Lun& lun, Nexus* from, uint16_t asc_ascq) {
  lun.reservations().update([](PrState& s) {
    if (!s.spc2) return false;
    s.spc2.reset();
    return true;
  });
  for (const Nexus* n : lun.nexuses()) lun.set_prevent(n, false);
  // SAM-5 5.14: the reset's unit attention goes to every I_T nexus, the one
  // that asked for the reset included.
  (void)from;
  lun.ua_add_others(nullptr, asc_ascq);
}

void DeviceImpl::lun_reset(Nexus* from, uint64_t number) {
  if (Lun* lun = find_lun(number)) reset_lun(*lun, from, asc::kBusDeviceResetFunctionOccurred);
}

void DeviceImpl::announce_lun_reset(uint64_t number, std::function<void()> done) {
  Lun* lun = find_lun(number);
  if (lun == nullptr || !lun->reservations().shared()) return done();
  PrEffects e;
  e.reset_asc = asc::kBusDeviceResetFunctionOccurred;
  lun->reservations().announce_async(std::move(e), std::move(done));
}

void DeviceImpl::announce_target_reset(std::function<void()> done) {
  std::vector<Lun*> shared;
  for (Lun* l : all_luns())
    if (l->reservations().shared()) shared.push_back(l);
  if (shared.empty()) return done();
  // done() once every shared LUN's announcement is acknowledged (the store
  // threads may finish in any order).
  auto left = std::make_shared<std::atomic<size_t>>(shared.size());
  auto all_done = std::make_shared<std::function<void()>>(std::move(done));
  for (Lun* l : shared) {
    PrEffects e;
    e.reset_asc = asc::kScsiBusResetOccurred;  // what target_reset() gives this gateway's nexuses
    l->reservations().announce_async(std::move(e), [left, all_done] {
      if (left->fetch_sub(1) == 1) (*all_done)();
    });
  }
}

void DeviceImpl::target_reset(Nexus* from) {
  for (Lun* l : all_luns()) reset_lun(*l, from, asc::kScsiBusResetOccurred);
}

bool DeviceImpl::idle() const {
  std::lock_guard lock(mutex_);
  for (auto& l : owned_)
    if (l->in_io.load(std::memory_order_relaxed) != 0) return false;
  for (auto& r : retired_)
    if (r.lun->in_io.load(std::memory_order_relaxed) != 0) return false;
  return true;
}

void DeviceImpl::abort_held(Task& task) {
  uint64_t number = 0;
  if (!decode_lun(task.lun, &number)) return;
  // The channel only compares task.io with what it holds: a task running on
  // a LUN replaced since (or not in I/O at all) is simply not found.
  Lun* lun = find_lun(number);
  if (lun != nullptr && task.loop < lun->loops()) lun->channel(task.loop).cancel(task.io);
}

bool DeviceImpl::capacity_changed(uint64_t number) {
  Lun* lun = find_lun(number);
  if (lun == nullptr || !lun->refresh_capacity()) return false;
  lun->ua_add_others(nullptr, asc::kCapacityDataHasChanged);
  return true;
}

bool DeviceImpl::set_alua_owner(uint64_t number, uint16_t owner_group) {
  Lun* lun = find_lun(number);
  if (lun == nullptr) return false;
  Alua& alua = lun->alua();
  auto states = [&alua] {
    std::vector<AluaState> out;
    for (const Alua::Group& g : alua.groups()) out.push_back(g.state);
    return out;
  };
  const std::vector<AluaState> before = states();
  const bool known = owner_group != 0 && alua.has_group(owner_group);
  // Nobody (between one holder's release and the next one's acquisition) or
  // a client that is no gateway: the last owner's states stay. Reporting the
  // preferred group in that instant sent initiators to it, whose next write
  // moved the lock there (ping-pong). Before any owner: the preferred group.
  if (!known && alua.has_owner()) return false;
  alua.set_owner(known ? owner_group : alua.preferred_group());
  if (states() == before) return false;
  lun->ua_add_others(nullptr, asc::kAsymmetricAccessStateChanged);
  return true;
}

std::vector<Device::AluaGroupState> DeviceImpl::alua_states(uint64_t number) const {
  std::vector<AluaGroupState> out;
  if (Lun* lun = find_lun(number))
    for (const Alua::Group& g : lun->alua().groups()) out.push_back({g.id, g.state, g.local});
  return out;
}

void DeviceImpl::execute(Task& task) {
  task.work.aux.reset();
  task.work.gate = 0;
  uint64_t number = 0;
  Lun* lun = decode_lun(task.lun, &number) ? find_lun(number) : nullptr;
  bool known = false;
  const OpcodeInfo* op = find_opcode(task.cdb[0], task.cdb[1] & 0x1F, &known);

  if (lun == nullptr) {
    if (op != nullptr && (op->flags & opflag::kAnyLun)) {
      op->handler(*this, nullptr, task);
      return;
    }
    fail(task, nullptr, sense_key::kIllegalRequest, asc::kLunNotSupported);
    return;
  }
  if ((op == nullptr || !(op->flags & opflag::kNoUa)) && lun->ua_maybe_pending()) {
    uint16_t ua;
    if (lun->ua_take(task.nexus, &ua)) {
      fail(task, lun, sense_key::kUnitAttention, ua);
      return;
    }
  }
  if (op == nullptr) {
    if (known)
      fail_cdb(task, lun, 1, 4);  // service action
    else
      fail(task, lun, sense_key::kIllegalRequest, asc::kInvalidOpcode);
    return;
  }
  // ALUA standby (SPC-4 5.15.2.4.5): only the commands that manage the path.
  if (lun->alua().local_state() == AluaState::kStandby && !(op->flags & opflag::kStandbyOk)) {
    fail(task, lun, sense_key::kNotReady, asc::kTargetPortInStandbyState);
    return;
  }
  if (op->access != Access::kExempt && !lun->reservations().unreserved()) {
    if (lun->reservations().stale()) {
      // Another gateway may have reserved the unit and this one cannot know:
      // refuse with a sense initiators retry until the state is read again.
      fail(task, lun, sense_key::kNotReady, asc::kLogicalUnitBecomingReady);
      return;
    }
    if (reservation_conflict(*lun, task.nexus, op->access)) {
      task.status = status::kReservationConflict;
      complete(task);
      return;
    }
  }
  // A read-only initiator may flush caches (harmless) but change nothing else.
  if (op->access == Access::kWrite && task.nexus != nullptr && task.nexus->read_only() &&
      op->opcode != 0x35 && op->opcode != 0x91) {
    fail_write_protected(task, lun);
    return;
  }
  op->handler(*this, lun, task);
}

}  // namespace sharedisk::scsi
