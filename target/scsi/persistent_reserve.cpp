// PERSISTENT RESERVE IN / OUT (SPC-4 6.15, 6.16, 5.13): all service actions,
// ALL_TG_PT and SPEC_I_PT (iSCSI TransportIDs), all six reservation types, APTPL through
// the ReservationStore. Registrations are per I_T nexus (initiator port name,
// target port name), so they survive reconnects and restarts. With a shared
// store (several gateways) the change runs on the store's thread and every
// gateway applies its unit attentions and aborts (apply_pr_effects) before
// the command is answered.
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "scsi/cdb.h"
#include "scsi/command.h"
#include "scsi/reservations.h"

namespace sharedisk::scsi {

namespace {

bool valid_type(uint8_t t) {
  return t == 1 || t == 3 || (t >= 5 && t <= 8);
}
const std::string kEmptyPort;
const std::string& ini(const Task& t) {
  return t.nexus ? t.nexus->initiator_port() : kEmptyPort;
}
const std::string& tgt(const Task& t) {
  return t.nexus ? t.nexus->target_port() : kEmptyPort;
}

// iSCSI TransportID (SPC-4 7.6.4.6) of an initiator port name "iqn...,i,0x<isid>"
// (format 01b) or of an initiator device name registered without ISID (00b).
uint32_t transport_id(uint8_t* p, const std::string& initiator) {
  uint32_t n = static_cast<uint32_t>(std::min<size_t>(initiator.size(), 220));
  uint32_t len = std::max<uint32_t>((n + 1 + 3) & ~3u, 20);
  std::fill(p, p + 4 + len, 0);
  p[0] = initiator.find(",i,0x") != std::string::npos ? 0x45 : 0x05;  // format, protocol 5
  put_be16(p + 2, static_cast<uint16_t>(len));
  std::copy(initiator.begin(), initiator.begin() + n, p + 4);
  return 4 + len;
}

}  // namespace

void cmd_persistent_reserve_in(DeviceImpl&, Lun* lun, Task& task) {
  uint8_t sa = task.cdb[1] & 0x1F;
  uint32_t alloc = get_be16(task.cdb + 7);
  if (sa > 3) return fail_cdb(task, lun, 1, 4);
  if (lun->reservations().stale())  // this gateway may have missed a change
    return fail(task, lun, sense_key::kNotReady, asc::kLogicalUnitBecomingReady);
  static thread_local uint8_t d[8192];
  std::fill(d, d + sizeof d, 0);
  uint32_t len = 8;
  bool ptpl = lun->reservations().persistence_supported();
  lun->reservations().read([&](const PrState& s) {
    put_be32(d, s.generation);
    switch (sa) {
      case 0:  // READ KEYS
        for (const auto& r : s.registrations) {
          if (len + 8 > sizeof d) break;
          put_be64(d + len, r.key);
          len += 8;
        }
        break;
      case 1:  // READ RESERVATION
        if (s.type != 0) {
          const PrRegistration* h = s.find(s.holder_initiator, s.holder_target);
          put_be64(d + 8, pr_type::all_registrants(s.type) || !h ? 0 : h->key);
          d[8 + 13] = s.type;
          len += 16;
        }
        break;
      case 2:  // REPORT CAPABILITIES
        put_be16(d, 8);
        d[2] = 0x10 | 0x08 | 0x04 | (ptpl ? 0x01 : 0);  // CRH, SIP_C, ATP_C, PTPL_C
        d[3] = 0x80 | (s.aptpl ? 0x01 : 0);             // TMV, PTPL_A
        d[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02;        // WR_EX_AR EX_AC_RO WR_EX_RO EX_AC WR_EX
        d[5] = 0x01;                                    // EX_AC_AR
        len = 8;
        break;
      case 3:  // READ FULL STATUS
        for (const auto& r : s.registrations) {
          if (len + 24 + 256 > sizeof d) break;
          uint8_t* p = d + len;
          put_be64(p, r.key);
          bool holder = s.is_holder(r.initiator, r.target);
          p[12] = holder ? 0x01 : 0;
          if (holder) p[13] = s.type;
          put_be16(p + 18, r.rtpi);
          uint32_t tid = transport_id(p + 24, r.initiator);
          put_be32(p + 20, tid);
          len += 24 + tid;
        }
        break;
    }
  });
  if (sa != 2) put_be32(d + 4, len - 8);
  send_data_in(task, d, len, alloc);
}

namespace {

// One PERSISTENT RESERVE OUT: its parameters, and what the state change
// decided. Lives on the heap while a shared store works on another thread.
struct PrOut {
  uint8_t sa = 0, type = 0;
  uint32_t param_len = 0;
  uint64_t key = 0, sa_key = 0;
  bool aptpl = false;
  std::string me_i, me_t;
  uint16_t rtpi = 0;
  // ALL_TG_PT: every target port of the device (this gateway's and its
  // peers'), as (target port name, relative target port identifier).
  std::vector<std::pair<std::string, uint16_t>> all_ports;
  // SPEC_I_PT: the initiators its TransportIDs name (port or device names,
  // parse_spec_i_pt), registered together with the requesting nexus.
  std::vector<std::string> spec_i;
  std::vector<uint8_t> params;  // the parameter list (REGISTER AND MOVE reads its TransportID)
  enum class Out { kGood, kConflict, kInvalidRelease, kBadParam, kBadType } out = Out::kGood;
  PrEffects effects;
};

// Every target port of the device: this gateway's (`mine`, `rtpi`) and, with
// peers, each peer's, named like this gateway's with the peer's group as the
// tag (DeviceImpl::attach) and numbered by its first relative port.
std::vector<std::pair<std::string, uint16_t>> target_ports(const DeviceImpl& dev,
                                                           const std::string& mine, uint16_t rtpi) {
  std::vector<std::pair<std::string, uint16_t>> out{{mine, rtpi}};
  size_t at = mine.rfind(",t,0x");
  if (at == std::string::npos) return out;
  for (const TargetPortGroup& g : dev.alua_topology().peers) {
    char tag[8];
    std::snprintf(tag, sizeof tag, "%x", unsigned(g.id));
    out.emplace_back(mine.substr(0, at + 5) + tag,
                     g.relative_ports.empty() ? g.id : g.relative_ports.front());
  }
  return out;
}

// The change itself, on `s`; true when it changed. Sets out and effects (from
// scratch: a shared store may run it again on a newer state).
bool change_state(PrOut& c, PrState& s) {
  using Out = PrOut::Out;
  c.out = Out::kGood;
  c.effects = {};
  const std::string& me_i = c.me_i;
  const std::string& me_t = c.me_t;
  const uint8_t sa = c.sa, type = c.type;
  const uint64_t key = c.key, sa_key = c.sa_key;
  const uint8_t* p = c.params.data();
  auto& uas = c.effects.attentions;
  Out& out = c.out;

  PrRegistration* mine = nullptr;
  auto is_me = [&](const PrRegistration& r) {
    return r.target == me_t && initiator_matches(r.initiator, me_i);
  };
  for (auto& r : s.registrations)
    if (is_me(r)) mine = &r;
  auto others_registered = [&](uint16_t asc_code) {
    for (const auto& r : s.registrations)
      if (!is_me(r)) uas.push_back({r.initiator, r.target, asc_code});
  };
  auto release = [&](bool notify) {
    if (notify && pr_type::for_registrants(s.type)) others_registered(asc::kReservationsReleased);
    s.type = 0;
    s.holder_initiator.clear();
    s.holder_target.clear();
  };
  auto unregister = [&](const std::string& i, const std::string& t) {
    bool was_holder = s.is_holder(i, t) && !pr_type::all_registrants(s.type);
    s.registrations.erase(std::remove_if(s.registrations.begin(), s.registrations.end(),
                                         [&](const PrRegistration& r) {
                                           return r.target == t &&
                                                  initiator_matches(r.initiator, i);
                                         }),
                          s.registrations.end());
    if (was_holder || (pr_type::all_registrants(s.type) && s.registrations.empty())) release(true);
  };

  switch (sa) {
    case 0:  // REGISTER
    case 6:  // REGISTER AND IGNORE EXISTING KEY
      if (!c.spec_i.empty()) {
        // SPEC_I_PT (SPC-4 5.13.7): only from an unregistered I_T nexus; it
        // and every named initiator on this target port (every target port
        // with ALL_TG_PT) are registered with the key, all or none.
        if (mine != nullptr) {
          out = key != mine->key ? Out::kConflict : Out::kBadParam;
          return false;
        }
        if (key != 0) {
          out = Out::kConflict;
          return false;
        }
        if (sa_key == 0) return false;
        std::vector<std::pair<std::string, uint16_t>> ports = c.all_ports;
        if (ports.empty()) ports.emplace_back(me_t, c.rtpi);
        std::vector<std::string> who{me_i};
        for (const std::string& i : c.spec_i)
          if (!initiator_matches(i, me_i) && !initiator_matches(me_i, i)) who.push_back(i);
        for (const std::string& i : who)
          for (const auto& [port, port_rtpi] : ports)
            for (const auto& r : s.registrations)
              if (r.target == port &&
                  (initiator_matches(r.initiator, i) || initiator_matches(i, r.initiator))) {
                out = Out::kBadParam;  // a named I_T nexus is registered already
                return false;
              }
        for (const std::string& i : who)
          for (const auto& [port, port_rtpi] : ports)
            s.registrations.push_back({i, port, port_rtpi, sa_key});
        s.aptpl = c.aptpl;
        ++s.generation;
        return true;
      }
      if (!c.all_ports.empty()) {
        // ALL_TG_PT: the key is checked on the requesting nexus, then set
        // (or removed) for this initiator port on every target port.
        if (sa == 0 && (mine == nullptr ? key != 0 : key != mine->key)) {
          out = Out::kConflict;
          return false;
        }
        if (mine == nullptr && sa_key == 0) return false;
        for (const auto& [port, port_rtpi] : c.all_ports) {
          PrRegistration* r = nullptr;
          for (auto& x : s.registrations)
            if (x.target == port && initiator_matches(x.initiator, me_i)) r = &x;
          if (sa_key == 0) {
            if (r != nullptr) unregister(me_i, port);
          } else if (r != nullptr) {
            r->key = sa_key;
          } else {
            s.registrations.push_back({me_i, port, port_rtpi, sa_key});
          }
        }
        s.aptpl = c.aptpl;
        ++s.generation;
        return true;
      }
      if (mine == nullptr) {
        if (sa == 0 && key != 0) {
          out = Out::kConflict;
          return false;
        }
        if (sa_key == 0) return false;
        s.registrations.push_back({me_i, me_t, c.rtpi, sa_key});
      } else {
        if (sa == 0 && key != mine->key) {
          out = Out::kConflict;
          return false;
        }
        if (sa_key == 0)
          unregister(me_i, me_t);
        else
          mine->key = sa_key;
      }
      s.aptpl = c.aptpl;
      ++s.generation;
      return true;
    case 1:  // RESERVE
      if (mine == nullptr || mine->key != key) {
        out = Out::kConflict;
        return false;
      }
      if (s.type != 0) {
        if (!s.is_holder(me_i, me_t) || s.type != type) out = Out::kConflict;
        return false;
      }
      s.type = type;
      s.holder_initiator = me_i;
      s.holder_target = me_t;
      return true;
    case 2:  // RELEASE
      if (mine == nullptr || mine->key != key) {
        out = Out::kConflict;
        return false;
      }
      if (s.type == 0 || !s.is_holder(me_i, me_t)) return false;
      if (s.type != type) {
        out = Out::kInvalidRelease;
        return false;
      }
      release(true);
      return true;
    case 3:  // CLEAR
      if (mine == nullptr || mine->key != key) {
        out = Out::kConflict;
        return false;
      }
      others_registered(asc::kReservationsPreempted);
      s.registrations.clear();
      release(false);
      ++s.generation;
      return true;
    case 4:    // PREEMPT
    case 5: {  // PREEMPT AND ABORT (the transport aborts the tasks, apply_pr_effects)
      if (mine == nullptr || mine->key != key) {
        out = Out::kConflict;
        return false;
      }
      bool holder_preempted = false;
      if (s.type != 0) {
        if (pr_type::all_registrants(s.type))
          holder_preempted = sa_key == 0;
        else if (const PrRegistration* h = s.find(s.holder_initiator, s.holder_target))
          holder_preempted = h->key == sa_key;
      }
      if (!holder_preempted && sa_key == 0) {
        out = Out::kBadParam;
        return false;
      }
      size_t removed = 0;
      std::vector<PrRegistration> keep;
      for (auto& r : s.registrations) {
        bool self = is_me(r);
        bool match = (holder_preempted && pr_type::all_registrants(s.type) && sa_key == 0)
                         ? !self
                         : r.key == sa_key && !self;
        if (match) {
          uas.push_back({r.initiator, r.target, asc::kRegistrationsPreempted});
          ++removed;
        } else {
          keep.push_back(r);
        }
      }
      if (removed == 0 && !holder_preempted) {
        out = Out::kConflict;
        return false;
      }
      s.registrations = std::move(keep);
      if (holder_preempted) {
        s.type = type;
        s.holder_initiator = me_i;
        s.holder_target = me_t;
      }
      ++s.generation;
      c.effects.abort_preempted = sa == 5;
      return true;
    }
    case 7: {  // REGISTER AND MOVE
      if (mine == nullptr || mine->key != key) {
        out = Out::kConflict;
        return false;
      }
      if (s.type == 0 || !s.is_holder(me_i, me_t) || pr_type::all_registrants(s.type)) {
        out = Out::kConflict;
        return false;
      }
      if (sa_key == 0) {
        out = Out::kBadParam;
        return false;
      }
      uint32_t tid_len = get_be32(p + 20);
      if (c.param_len < 24 + tid_len || tid_len < 8 || (p[24] & 0x0F) != 5) {
        out = Out::kBadParam;
        return false;
      }
      std::string dest(reinterpret_cast<const char*>(p + 28),
                       strnlen(reinterpret_cast<const char*>(p + 28), tid_len - 4));
      if (dest == me_i) {
        out = Out::kBadParam;
        return false;
      }
      bool unreg = p[17] & 0x02;
      PrRegistration* target = nullptr;
      for (auto& r : s.registrations)
        if (r.initiator == dest && r.target == me_t) target = &r;
      if (target == nullptr) {
        s.registrations.push_back({dest, me_t, get_be16(p + 18), sa_key});
        target = &s.registrations.back();
      } else {
        target->key = sa_key;
      }
      s.holder_initiator = dest;
      s.holder_target = me_t;
      s.type = type;
      if (unreg)
        s.registrations.erase(std::remove_if(s.registrations.begin(), s.registrations.end(),
                                             [&](const PrRegistration& r) {
                                               return r.initiator == me_i && r.target == me_t;
                                             }),
                              s.registrations.end());
      s.aptpl = c.aptpl;
      ++s.generation;
      return true;
    }
  }
  return false;
}

// Answers the command once the state changed (or not); on task's loop.
void finish_out(DeviceImpl& dev, Lun* lun, Task& task, PrOut& c, bool persisted) {
  using Out = PrOut::Out;
  // A shared store that could not write changed nothing: nothing to announce.
  if (!persisted && lun->reservations().shared()) c.effects = {};
  switch (c.out) {
    case Out::kConflict:
      task.status = status::kReservationConflict;
      return complete(task);
    case Out::kInvalidRelease:
      return fail(task, lun, sense_key::kIllegalRequest,
                  asc::kInvalidReleaseOfPersistentReservation);
    case Out::kBadParam:
      return fail(task, lun, sense_key::kIllegalRequest, asc::kInvalidFieldInParameterList);
    case Out::kBadType:
      return fail_cdb(task, lun, 2, 3);
    case Out::kGood:
      break;
  }
  if (!persisted) {
    // A local store kept the change in memory: its attentions stand.
    PrEffects attentions_only = c.effects;
    attentions_only.abort_preempted = false;
    apply_pr_effects(dev, *lun, attentions_only, &task, [] {});
    return fail(task, lun, sense_key::kHardwareError, asc::kInsufficientRegistrationResources);
  }
  task.status = status::kGood;
  Task* t = &task;
  apply_pr_effects(dev, *lun, c.effects, &task, [t] { complete(*t); });
}

}  // namespace

void apply_pr_effects(DeviceImpl& dev, Lun& lun, const PrEffects& e, Task* by,
                      std::function<void()> done) {
  for (const auto& u : e.attentions) lun.ua_add_port(u.initiator, u.target, u.asc);
  if (!e.abort_preempted || dev.task_aborter() == nullptr) return done();
  // The preempted nexuses' tasks on this LUN are aborted before the answer.
  std::vector<Nexus*> victims;
  for (const Nexus* n : lun.nexuses()) {
    if (by != nullptr && n == by->nexus) continue;
    for (const auto& u : e.attentions)
      if (u.asc == asc::kRegistrationsPreempted &&
          initiator_matches(u.initiator, n->initiator_port()) && n->target_port() == u.target)
        victims.push_back(const_cast<Nexus*>(n));
  }
  if (victims.empty()) return done();
  if (by != nullptr)
    return dev.task_aborter()->abort_nexus_tasks(victims, lun.number(), *by, std::move(done));
  dev.task_aborter()->abort_nexus_tasks_for_peer(victims, lun.number(), std::move(done));
}

namespace {

// The TransportIDs of a SPEC_I_PT parameter list (SPC-4 6.16.3): iSCSI only,
// format 00b (initiator device name) or 01b (port name with ",i,0x<ISID>",
// the ISID as this target spells it). 0 when good, else the sense: PARAMETER
// LIST LENGTH ERROR when the list does not fit the parameter data, INVALID
// FIELD IN PARAMETER LIST (`*field` the byte) for a TransportID we refuse.
uint16_t parse_spec_i_pt(const uint8_t* p, uint32_t param_len, std::vector<std::string>* out,
                         uint16_t* field) {
  if (param_len < 28) return asc::kParameterListLengthError;
  const uint32_t tid_len = get_be32(p + 24);
  if (tid_len > param_len - 28) return asc::kParameterListLengthError;
  const uint32_t end = 28 + tid_len;
  for (uint32_t at = 28; at < end;) {
    *field = static_cast<uint16_t>(std::min<uint32_t>(at, 0xFFFF));
    if (end - at < 4) return asc::kParameterListLengthError;
    const uint32_t len = get_be16(p + at + 2);
    if (len > end - at - 4) return asc::kParameterListLengthError;  // truncated
    const uint8_t format = p[at] >> 6;
    if ((p[at] & 0x0F) != 5 || format > 1 || len < 4 || len % 4 != 0)
      return asc::kInvalidFieldInParameterList;
    const char* name = reinterpret_cast<const char*>(p + at + 4);
    std::string id(name, strnlen(name, len));
    if (id.size() == len) return asc::kInvalidFieldInParameterList;  // not NUL-terminated
    size_t sep = id.find(",i,0x");
    if (format == 0) {
      if (id.empty() || id.find(',') != std::string::npos) return asc::kInvalidFieldInParameterList;
    } else {
      // The ISID: 12 hex digits at most, normalized to this target's "%012llx".
      const std::string hex = sep == std::string::npos ? "" : id.substr(sep + 5);
      if (sep == 0 || hex.empty() || hex.size() > 12 ||
          hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
        return asc::kInvalidFieldInParameterList;
      char isid[16];
      std::snprintf(isid, sizeof isid, "%012llx", std::stoull(hex, nullptr, 16));
      id = id.substr(0, sep + 5) + isid;
    }
    if (std::find(out->begin(), out->end(), id) == out->end()) out->push_back(std::move(id));
    at += 4 + len;
  }
  if (out->empty()) {
    *field = 24;
    return asc::kInvalidFieldInParameterList;
  }
  return 0;
}

}  // namespace

void cmd_persistent_reserve_out(DeviceImpl& dev, Lun* lun, Task& task) {
  const uint8_t* cdb = task.cdb;
  uint8_t sa = cdb[1] & 0x1F;
  uint8_t scope = cdb[2] >> 4, type = cdb[2] & 0x0F;
  uint32_t param_len = get_be32(cdb + 5);
  task.transfer_length = param_len;
  if (sa > 7) return fail_cdb(task, lun, 1, 4);
  if (param_len < 24 || data_out_bytes(task) < param_len)
    return fail(task, lun, sense_key::kIllegalRequest, asc::kParameterListLengthError);
  const uint8_t* p = task.buffer.data();
  uint8_t flags = p[20];
  bool aptpl = flags & 0x01;
  // SPEC_I_PT: REGISTER only (SPC-4 6.16.3); its list follows the 24 bytes.
  const bool spec_i_pt = sa != 7 && (flags & 0x08);
  if (spec_i_pt && sa != 0) return fail_param(task, lun, 20, 3);
  if (sa != 7 && !spec_i_pt && param_len != 24)
    return fail(task, lun, sense_key::kIllegalRequest, asc::kParameterListLengthError);
  std::vector<std::string> spec_i;
  if (spec_i_pt) {
    uint16_t field = 24;
    if (uint16_t bad = parse_spec_i_pt(p, param_len, &spec_i, &field); bad != 0) {
      if (bad == asc::kInvalidFieldInParameterList) return fail_param(task, lun, field);
      return fail(task, lun, sense_key::kIllegalRequest, bad);
    }
  }
  // ALL_TG_PT counts for REGISTER (AND IGNORE EXISTING KEY) only (SPC-4 6.16.3).
  bool all_tg_pt = (sa == 0 || sa == 6) && (flags & 0x04);
  if (aptpl && !lun->reservations().persistence_supported() && (sa == 0 || sa == 6 || sa == 7))
    return fail_param(task, lun, 20, 0);
  bool by_type = sa == 1 || sa == 2 || sa == 4 || sa == 5 || sa == 7;
  if (by_type && scope != 0) return fail_cdb(task, lun, 2, 7);
  // RELEASE checks its type against the reservation (INVALID RELEASE), the
  // others need a valid type; PREEMPT with no reservation ignores it.
  if ((sa == 1 || sa == 7) && !valid_type(type)) return fail_cdb(task, lun, 2, 3);
  if ((sa == 4 || sa == 5) && type != 0 && !valid_type(type)) return fail_cdb(task, lun, 2, 3);

  auto c = std::make_shared<PrOut>();
  c->sa = sa;
  c->type = type;
  c->param_len = param_len;
  c->key = get_be64(p);
  c->sa_key = get_be64(p + 8);
  c->aptpl = aptpl;
  c->me_i = ini(task);
  c->me_t = tgt(task);
  c->rtpi = task.nexus ? task.nexus->relative_target_port() : uint16_t(0);
  c->params.assign(p, p + param_len);
  c->spec_i = std::move(spec_i);
  if (all_tg_pt) c->all_ports = target_ports(dev, c->me_t, c->rtpi);

  ReservationStore& store = lun->reservations();
  if (!store.shared()) {
    bool persisted = store.update([&](PrState& s) { return change_state(*c, s); });
    return finish_out(dev, lun, task, *c, persisted);
  }
  // The cluster may take a while: the loop serves other commands meanwhile.
  // in_io keeps a removed LUN allocated until the answer.
  lun->in_io.fetch_add(1, std::memory_order_relaxed);
  Task* t = &task;
  DeviceImpl* d = &dev;
  store.update_async([c](PrState& s) { return change_state(*c, s); }, &c->effects,
                     [c, t, d, lun](bool persisted) {
                       boost::asio::post(lun->loop(t->loop), [c, t, d, lun, persisted] {
                         lun->in_io.fetch_sub(1, std::memory_order_relaxed);
                         finish_out(*d, lun, *t, *c, persisted);
                       });
                     });
}

}  // namespace sharedisk::scsi
