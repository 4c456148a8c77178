#include "iscsi/task_sets.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "iscsi/connection_engine.h"

namespace sharedisk::iscsi {

void TaskSets::add(scsi::Nexus* nexus, const TargetNode* target,
                   std::weak_ptr<ConnectionEngine> owner) {
  std::lock_guard lock(mutex_);
  entries_.push_back({nexus, target, std::move(owner)});
}

void TaskSets::remove(scsi::Nexus* nexus) {
  std::lock_guard lock(mutex_);
  std::erase_if(entries_, [&](const Entry& e) { return e.nexus == nexus; });
}

std::vector<scsi::Nexus*> TaskSets::others(const TargetNode* target,
                                           const scsi::Nexus* except) const {
  std::lock_guard lock(mutex_);
  std::vector<scsi::Nexus*> out;
  for (const Entry& e : entries_)
    if (e.target == target && e.nexus != except) out.push_back(e.nexus);
  return out;
}

void TaskSets::abort_tasks(const std::vector<scsi::Nexus*>& victims, uint64_t lun,
                           unsigned done_loop, std::function<void()> done) {
  std::vector<std::shared_ptr<ConnectionEngine>> owners;
  {
    std::lock_guard lock(mutex_);
    for (scsi::Nexus* v : victims)
      for (const Entry& e : entries_)
        if (e.nexus == v)
          if (auto c = e.owner.lock()) owners.push_back(std::move(c));
  }
  boost::asio::io_context& home = *loops_.at(done_loop);
  if (owners.empty()) {
    boost::asio::post(home, std::move(done));
    return;
  }
  // The count is touched only on `home`, where every drain report is posted.
  auto remaining = std::make_shared<size_t>(owners.size());
  auto finish = std::make_shared<std::function<void()>>(std::move(done));
  for (auto& owner : owners) {
    boost::asio::post(owner->loop().io, [owner, lun, &home, remaining, finish] {
      owner->abort_lun_tasks(lun, [&home, remaining, finish] {
        boost::asio::post(home, [remaining, finish] {
          if (--*remaining == 0) (*finish)();
        });
      });
    });
  }
}

void TaskSets::abort_nexus_tasks(const std::vector<scsi::Nexus*>& victims, uint64_t lun,
                                 scsi::Task& by, std::function<void()> done) {
  abort_tasks(victims, lun, by.loop, std::move(done));
}

void TaskSets::abort_nexus_tasks_for_peer(const std::vector<scsi::Nexus*>& victims, uint64_t lun,
                                          std::function<void()> done) {
  abort_tasks(victims, lun, 0, std::move(done));
}

}  // namespace sharedisk::iscsi
