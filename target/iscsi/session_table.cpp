#include "iscsi/session_table.h"

#include <algorithm>

#include "iscsi/pdu.h"

namespace sharedisk::iscsi {

uint16_t SessionTable::admit(const SessionKey& key, uint16_t requested_tsih,
                             std::weak_ptr<ConnectionEngine> conn,
                             std::shared_ptr<ConnectionEngine>* replaced, uint16_t* status) {
  std::lock_guard lock(mutex_);
  auto same = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
    return e.key.isid == key.isid && e.key.initiator == key.initiator && e.key.target == key.target;
  });
  uint16_t tsih = 0;
  if (requested_tsih != 0) {
    if (same == entries_.end() || same->tsih != requested_tsih) {
      *status = login_status::kSessionDoesNotExist;
      return 0;
    }
    tsih = requested_tsih;
  }
  if (same != entries_.end()) {
    *replaced = same->conn.lock();
    entries_.erase(same);
  }
  if (tsih == 0) {
    // Skip 0 (reserved) and any TSIH still in use.
    do {
      tsih = next_tsih_++;
    } while (tsih == 0 || std::any_of(entries_.begin(), entries_.end(),
                                      [&](const Entry& e) { return e.tsih == tsih; }));
  }
  auto locked = conn.lock();
  Entry e{key, tsih, std::move(conn), locked.get(), {}};
  e.info.key = key;
  e.info.tsih = tsih;
  entries_.push_back(std::move(e));
  return tsih;
}

void SessionTable::remove(uint16_t tsih, const ConnectionEngine* conn) {
  std::lock_guard lock(mutex_);
  std::erase_if(entries_, [&](const Entry& e) { return e.tsih == tsih && e.raw == conn; });
}

void SessionTable::describe(uint16_t tsih, const ConnectionEngine* conn, SessionInfo info) {
  std::lock_guard lock(mutex_);
  for (Entry& e : entries_) {
    if (e.tsih == tsih && e.raw == conn) {
      info.key = e.key;
      info.tsih = tsih;
      e.info = std::move(info);
    }
  }
}

std::vector<std::pair<SessionInfo, std::shared_ptr<ConnectionEngine>>> SessionTable::sessions()
    const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<SessionInfo, std::shared_ptr<ConnectionEngine>>> out;
  for (const Entry& e : entries_)
    if (auto c = e.conn.lock()) out.emplace_back(e.info, std::move(c));
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.first.tsih < b.first.tsih; });
  return out;
}

size_t SessionTable::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::vector<std::shared_ptr<ConnectionEngine>> SessionTable::connections() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<ConnectionEngine>> out;
  for (const Entry& e : entries_)
    if (auto c = e.conn.lock()) out.push_back(std::move(c));
  return out;
}

}  // namespace sharedisk::iscsi
