#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "scsi/reservations.h"

namespace sharedisk::scsi {

bool initiator_matches(const std::string& registered, const std::string& port) {
  if (registered == port) return true;
  // A device name (no ",i,0x") covers "<name>,i,0x<isid>".
  return port.size() > registered.size() + 5 &&
         port.compare(0, registered.size(), registered) == 0 &&
         port.compare(registered.size(), 5, ",i,0x") == 0 &&
         registered.find(",i,0x") == std::string::npos;
}

const PrRegistration* PrState::find(const std::string& initiator, const std::string& target) const {
  for (const auto& r : registrations)
    if (r.target == target && initiator_matches(r.initiator, initiator)) return &r;
  return nullptr;
}

bool PrState::is_holder(const std::string& initiator, const std::string& target) const {
  if (type == 0) return false;
  if (pr_type::all_registrants(type)) return find(initiator, target) != nullptr;
  return holder_target == target && initiator_matches(holder_initiator, initiator);
}

std::string serialize_pr_state(const PrState& s) {
  std::ostringstream o;
  o << "sharedisk-pr 1\n";
  o << "generation " << s.generation << "\n";
  o << "aptpl " << (s.aptpl ? 1 : 0) << "\n";
  if (s.resets != 0) o << "resets " << s.resets << " " << s.last_reset_asc << "\n";
  o << "reservation " << unsigned(s.type) << " " << (s.type ? s.holder_initiator : "-") << " "
    << (s.type ? s.holder_target : "-") << "\n";
  for (const auto& r : s.registrations) {
    char key[20];
    std::snprintf(key, sizeof key, "%016llx", static_cast<unsigned long long>(r.key));
    o << "registration " << key << " " << r.rtpi << " " << r.initiator << " " << r.target << "\n";
  }
  o << "end\n";
  return o.str();
}

bool parse_pr_state(const std::string& text, PrState* out) {
  std::istringstream in(text);
  std::string word;
  int version = 0;
  if (!(in >> word >> version) || word != "sharedisk-pr" || version != 1) return false;
  PrState s;
  bool ended = false;
  while (in >> word) {
    if (word == "generation") {
      if (!(in >> s.generation)) return false;
    } else if (word == "aptpl") {
      int v;
      if (!(in >> v)) return false;
      s.aptpl = v != 0;
    } else if (word == "resets") {
      if (!(in >> s.resets >> s.last_reset_asc)) return false;
    } else if (word == "reservation") {
      unsigned type;
      if (!(in >> type >> s.holder_initiator >> s.holder_target) || type > 8) return false;
      s.type = static_cast<uint8_t>(type);
      if (s.type == 0) s.holder_initiator.clear(), s.holder_target.clear();
    } else if (word == "registration") {
      PrRegistration r;
      std::string key;
      if (!(in >> key >> r.rtpi >> r.initiator >> r.target)) return false;
      r.key = std::stoull(key, nullptr, 16);
      s.registrations.push_back(std::move(r));
    } else if (word == "end") {
      ended = true;
      break;
    } else {
      return false;
    }
  }
  if (!ended) return false;
  *out = std::move(s);
  return true;
}

namespace {

bool write_atomically(const std::string& path, const std::string& data) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    done += static_cast<size_t>(n);
  }
  bool ok = ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return false;
  }
  // Make the rename itself durable.
  std::string dir =
      path.substr(0, path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/'));
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

class LocalReservationStore final : public ReservationStore {
 public:
  explicit LocalReservationStore(std::string path) : path_(std::move(path)) {
    if (path_.empty()) return;
    std::ifstream f(path_);
    if (!f) return;  // nothing persisted yet
    std::stringstream ss;
    ss << f.rdbuf();
    PrState s;
    if (!parse_pr_state(ss.str(), &s))
      throw std::runtime_error("persistent reservation file " + path_ + " is corrupt");
    state_ = std::move(s);
    reserved_.store(state_.reserved(), std::memory_order_release);
  }

  bool unreserved() const override { return !reserved_.load(std::memory_order_acquire); }

  void read(const std::function<void(const PrState&)>& fn) const override {
    std::lock_guard lock(mutex_);
    fn(state_);
  }

  bool update(const std::function<bool(PrState&)>& fn, const PrEffects*) override {
    std::lock_guard lock(mutex_);
    bool was_aptpl = state_.aptpl;
    if (!fn(state_)) return true;
    reserved_.store(state_.reserved(), std::memory_order_release);
    if (path_.empty()) return true;
    if (state_.aptpl) {
      PrState durable = state_;
      durable.spc2.reset();
      return write_atomically(path_, serialize_pr_state(durable));
    }
    if (was_aptpl) return ::unlink(path_.c_str()) == 0 || errno == ENOENT;
    return true;
  }

  bool persistence_supported() const override { return !path_.empty(); }

 private:
  std::string path_;
  mutable std::mutex mutex_;
  PrState state_;
  std::atomic<bool> reserved_{false};
};

}  // namespace

std::unique_ptr<ReservationStore> make_local_reservation_store(const std::string& aptpl_path) {
  return std::make_unique<LocalReservationStore>(aptpl_path);
}

}  // namespace sharedisk::scsi
