#include "scsi/lun.h"

#include <algorithm>
#include <bit>
#include <stdexcept>

#include "scsi/alua.h"
#include "scsi/reservations.h"
#include "scsi/sense.h"
#include "scsi/write_gate.h"

namespace sharedisk::scsi {

struct Lun::UaQueue {
  const Nexus* nexus;
  std::vector<uint16_t> pending;  // oldest first
};

Lun::Lun(const LunOptions& options, std::unique_ptr<blockdev::BlockDevice> backing,
         const std::vector<boost::asio::io_context*>& loops, std::shared_ptr<ReservationStore> rs,
         std::shared_ptr<Alua> alua)
    : options_(options),
      backing_(std::move(backing)),
      loops_(loops),
      reservations_(std::move(rs)),
      alua_(std::move(alua)) {
  if (!backing_) throw std::runtime_error("LUN " + std::to_string(options.number) + ": no backing");
  if (options.block_size != 512 && options.block_size != 4096)
    throw std::runtime_error("LUN " + std::to_string(options.number) +
                             ": block size must be 512 or 4096");
  if (loops.empty()) throw std::runtime_error("no event loops given");
  block_shift_ = std::countr_zero(options.block_size);
  const auto& inf = backing_->info();
  if (inf.size_bytes < options.block_size)
    throw std::runtime_error("LUN " + std::to_string(options.number) + ": backing " + inf.path +
                             " is smaller than one block");
  num_blocks_ = inf.size_bytes >> block_shift_;
  read_only_ = options.read_only || inf.read_only;
  thin_ = options.thin && inf.supports_discard;
  // A file's st_blksize is the filesystem's allocation unit, not a physical
  // sector: only block devices report a physical block bigger than a logical one.
  if (inf.is_block_device && inf.physical_block_size > options.block_size)
    lbppbe_ = std::countr_zero(inf.physical_block_size / options.block_size);
  channels_.reserve(loops.size());
  for (auto* loop : loops) channels_.push_back(backing_->make_channel(*loop));
  gate_ = std::make_unique<WriteGate>(*this, loops);
}

Lun::~Lun() = default;

bool Lun::refresh_capacity() {
  uint64_t n = backing_->refresh_size() >> block_shift_;
  return num_blocks_.exchange(n) != n;
}

void Lun::set_prevent(const Nexus* n, bool prevent) {
  std::lock_guard lock(ua_mutex_);
  auto it = std::find(prevent_.begin(), prevent_.end(), n);
  if (prevent && it == prevent_.end()) prevent_.push_back(n);
  if (!prevent && it != prevent_.end()) prevent_.erase(it);
  prevent_count_.store(static_cast<uint32_t>(prevent_.size()), std::memory_order_relaxed);
}

void Lun::nexus_attached(const Nexus* n) {
  {
    std::lock_guard lock(ua_mutex_);
    ua_.push_back(std::make_unique<UaQueue>(UaQueue{n, {}}));
  }
  // 29/00 rather than the narrower 29/01: it is the code initiators (libiscsi's
  // tools, the Linux midlayer) recognise as "the device just came online" and
  // simply retry after, which is what a new I_T nexus is.
  ua_add(n, asc::kPowerOnResetOrBusDeviceReset);
}

void Lun::nexus_detached(const Nexus* n) {
  std::lock_guard lock(ua_mutex_);
  for (auto it = ua_.begin(); it != ua_.end(); ++it) {
    if ((*it)->nexus == n) {
      ua_count_.fetch_sub(static_cast<uint32_t>((*it)->pending.size()));
      ua_.erase(it);
      break;
    }
  }
  auto p = std::find(prevent_.begin(), prevent_.end(), n);
  if (p != prevent_.end()) prevent_.erase(p);
  prevent_count_.store(static_cast<uint32_t>(prevent_.size()), std::memory_order_relaxed);
}

namespace {
// A reset/power-on condition subsumes the older ones of its class (SAM-5 5.14).
bool is_reset(uint16_t a) {
  return (a >> 8) == 0x29;
}
}  // namespace

void Lun::ua_add(const Nexus* n, uint16_t asc_ascq) {
  std::lock_guard lock(ua_mutex_);
  for (auto& q : ua_) {
    if (q->nexus != n) continue;
    auto& v = q->pending;
    if (std::find(v.begin(), v.end(), asc_ascq) != v.end()) return;
    if (is_reset(asc_ascq)) {
      // A reset discards earlier attentions: they describe state it replaced.
      ua_count_.fetch_sub(static_cast<uint32_t>(v.size()));
      v.clear();
    } else if (v.size() >= 16) {
      return;
    }
    v.push_back(asc_ascq);
    ua_count_.fetch_add(1, std::memory_order_release);
    return;
  }
}

void Lun::ua_add_others(const Nexus* except, uint16_t asc_ascq) {
  for (const Nexus* n : nexuses())
    if (n != except) ua_add(n, asc_ascq);
}

void Lun::ua_add_port(const std::string& initiator, const std::string& target, uint16_t asc_ascq) {
  for (const Nexus* n : nexuses())
    if (initiator_matches(initiator, n->initiator_port()) &&
        (target.empty() || n->target_port() == target))
      ua_add(n, asc_ascq);
}

void Lun::ua_clear(const Nexus* n, uint16_t asc_ascq) {
  std::lock_guard lock(ua_mutex_);
  for (auto& q : ua_) {
    if (q->nexus != n) continue;
    if (std::erase(q->pending, asc_ascq) != 0) ua_count_.fetch_sub(1, std::memory_order_release);
    return;
  }
}

bool Lun::ua_take(const Nexus* n, uint16_t* asc_ascq) {
  std::lock_guard lock(ua_mutex_);
  for (auto& q : ua_) {
    if (q->nexus != n || q->pending.empty()) continue;
    *asc_ascq = q->pending.front();
    q->pending.erase(q->pending.begin());
    ua_count_.fetch_sub(1, std::memory_order_release);
    return true;
  }
  return false;
}

std::vector<const Nexus*> Lun::nexuses() const {
  std::lock_guard lock(ua_mutex_);
  std::vector<const Nexus*> out;
  out.reserve(ua_.size());
  for (auto& q : ua_) out.push_back(q->nexus);
  return out;
}

}  // namespace sharedisk::scsi
