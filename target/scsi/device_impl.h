// The Device implementation shared by the command files: the LUN table, the
// nexus list and the target name. Private to target/scsi.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "scsi/copy_manager.h"
#include "scsi/device.h"
#include "scsi/lun.h"
#include "scsi/reservations.h"
#include "util/published.h"

namespace sharedisk::scsi {

class NexusImpl final : public Nexus {
 public:
  NexusImpl(std::string ip, std::string tp, uint16_t rtpi, uint16_t tpg)
      : Nexus(std::move(ip), std::move(tp), rtpi, tpg) {}

  // EXTENDED COPY operations of this nexus (RECEIVE COPY RESULTS).
  xcopy::CopyResults copies;
};

// Every Nexus handed to the SCSI layer was made by DeviceImpl::attach().
inline NexusImpl* nexus_impl(Nexus* n) {
  return static_cast<NexusImpl*>(n);
}

class DeviceImpl final : public Device {
 public:
  DeviceImpl(std::string target_name, AluaTopology alua)
      : target_name_(std::move(target_name)), alua_(std::move(alua)) {}
  ~DeviceImpl() override;

  void add_lun(const LunOptions& options, std::unique_ptr<blockdev::BlockDevice> backing,
               const std::vector<boost::asio::io_context*>& loops) override;
  void replace_lun(const LunOptions& options, std::unique_ptr<blockdev::BlockDevice> backing,
                   const std::vector<boost::asio::io_context*>& loops) override;
  bool remove_lun(uint64_t number) override;
  Nexus* attach(const std::string& initiator_port, const std::string& target_port,
                uint16_t relative_target_port, uint16_t target_port_group) override;
  void detach(Nexus* nexus) override;
  void execute(Task& task) override;
  std::vector<uint64_t> luns() const override;
  bool has_lun(uint64_t lun) const override { return find_lun(lun) != nullptr; }
  void lun_reset(Nexus* from, uint64_t lun) override;
  void announce_lun_reset(uint64_t lun, std::function<void()> done) override;
  void announce_target_reset(std::function<void()> done) override;
  void target_reset(Nexus* from) override;
  bool idle() const override;
  ControlMode control_mode(uint64_t lun) const override {
    const Lun* l = find_lun(lun);
    if (l == nullptr) return {};
    return {l->tas(), l->d_sense()};
  }
  bool capacity_changed(uint64_t lun) override;
  void abort_held(Task& task) override;
  std::vector<AluaGroupState> alua_states(uint64_t lun) const override;
  bool set_alua_owner(uint64_t lun, uint16_t owner_group) override;
  void set_task_aborter(TaskAborter* aborter) override { aborter_ = aborter; }
  TaskAborter* task_aborter() const { return aborter_; }

  const std::string& target_name() const { return target_name_; }
  // Lock-free: one load of the current table snapshot.
  Lun* find_lun(uint64_t number) const {
    const LunTable& t = table_.get();
    if (number < kDirect) return t.direct[number];
    for (Lun* l : t.sorted)
      if (l->number() == number) return l;
    return nullptr;
  }
  // The LUNs in service, ascending by number.
  const std::vector<Lun*>& all_luns() const { return table_.get().sorted; }
  const AluaTopology& alua_topology() const { return alua_; }
  // REPORT LUNS from `nexus`: its REPORTED LUNS DATA HAS CHANGED is cleared on every LUN.
  void report_luns_seen(const Nexus* nexus);

 private:
  static constexpr uint64_t kDirect = 256;
  struct LunTable {
    std::vector<Lun*> sorted;  // ascending by number
    std::array<Lun*, kDirect> direct{};
  };
  enum class Install { kAdd, kReplace };
  void install(const LunOptions& options, std::unique_ptr<blockdev::BlockDevice> backing,
               const std::vector<boost::asio::io_context*>& loops, Install how);
  void retire_locked(Lun* lun);
  void watch_peers(Lun* lun);
  void reset_lun(Lun& lun, Nexus* from, uint16_t asc_ascq);

  std::string target_name_;
  const AluaTopology alua_;
  util::Published<LunTable> table_;
  TaskAborter* aborter_ = nullptr;
  // Serialises LUN table changes with attach/detach, so that every LUN knows
  // exactly the attached nexuses. Never taken on the data path.
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<NexusImpl>> nexuses_;
  std::vector<std::unique_ptr<Lun>> owned_;  // in service
  struct Retired {
    std::unique_ptr<Lun> lun;
    std::chrono::steady_clock::time_point since;
  };
  // Out of service; freed once idle for a while (a command may still hold the
  // pointer between its lookup and its first I/O).
  std::vector<Retired> retired_;
};

// The unit attentions and aborts of a reservation change, on this gateway's
// nexuses of `lun`: each attention goes to the attached nexuses it names; with
// abort_preempted, the tasks of those given REGISTRATIONS PREEMPTED (other
// than by's nexus) are aborted first. done() then runs: on by's loop for a
// local command, on some loop for a peer gateway's change (by == null), or
// right here when there is nothing to wait for.
void apply_pr_effects(DeviceImpl& dev, Lun& lun, const PrEffects& e, Task* by,
                      std::function<void()> done);

}  // namespace sharedisk::scsi
