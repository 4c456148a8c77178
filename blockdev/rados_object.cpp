#include "blockdev/rados_object.h"

#include <rados/librados.h>
#include <rbd/librbd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "blockdev/rbd_cluster.h"
#include "blockdev/rbd_device.h"

namespace sharedisk::blockdev {

namespace {

constexpr const char* kVersionXattr = "ver";
// Larger than any state the SCSI layer writes (its PR IN buffer is 8 KiB).
constexpr size_t kMaxObject = 256 * 1024;

// The I/O context outlives the object while an ack is still to be sent.
// A borrowed one (open_shared_object_in) belongs to its lender.
struct Io {
  std::shared_ptr<RadosCluster> cluster;
  rados_ioctx_t ioctx = nullptr;
  bool owned = true;
  ~Io() {
    if (ioctx != nullptr && owned) rados_ioctx_destroy(ioctx);
  }
};

class RadosSharedObject final : public SharedObject {
 public:
  RadosSharedObject(std::shared_ptr<Io> io, std::string oid, std::string name)
      : io_(std::move(io)), oid_(std::move(oid)), name_(std::move(name)) {}
  ~RadosSharedObject() override { unwatch(); }

  const std::string& name() const override { return name_; }
  uint64_t self_id() const override { return rados_get_instance_id(io_->cluster->handle()); }

  int create(const std::string& data) override {
    rados_write_op_t op = rados_create_write_op();
    rados_write_op_create(op, LIBRADOS_CREATE_EXCLUSIVE, nullptr);
    rados_write_op_setxattr(op, kVersionXattr, "1", 1);
    rados_write_op_write_full(op, data.data(), data.size());
    int rc = rados_write_op_operate(op, io_->ioctx, oid_.c_str(), nullptr, 0);
    rados_release_write_op(op);
    return rc == -EEXIST ? 0 : rc;
  }

  int read(uint64_t* version, std::string* data) override {
    rados_read_op_t op = rados_create_read_op();
    rados_xattrs_iter_t attrs = nullptr;
    int attrs_rc = 0, read_rc = 0;
    size_t got = 0;
    std::string buf(kMaxObject, '\0');
    rados_read_op_getxattrs(op, &attrs, &attrs_rc);
    rados_read_op_read(op, 0, buf.size(), buf.data(), &got, &read_rc);
    int rc = rados_read_op_operate(op, io_->ioctx, oid_.c_str(), 0);
    rados_release_read_op(op);
    if (rc == 0 && attrs_rc < 0) rc = attrs_rc;
    if (rc == 0 && read_rc < 0) rc = read_rc;
    uint64_t v = 0;
    if (attrs != nullptr) {
      const char* n;
      const char* val;
      size_t len;
      while (rados_getxattrs_next(attrs, &n, &val, &len) == 0 && n != nullptr)
        if (std::strcmp(n, kVersionXattr) == 0)
          v = std::strtoull(std::string(val, len).c_str(), nullptr, 10);
      rados_getxattrs_end(attrs);
    }
    if (rc < 0) return rc;
    if (v == 0 || got >= buf.size()) return -EINVAL;  // not ours, or larger than we write
    buf.resize(got);
    *version = v;
    *data = std::move(buf);
    return 0;
  }

  int write(uint64_t expected, const std::string& data) override {
    const std::string want = std::to_string(expected), next = std::to_string(expected + 1);
    rados_write_op_t op = rados_create_write_op();
    rados_write_op_cmpxattr(op, kVersionXattr, LIBRADOS_CMPXATTR_OP_EQ, want.data(), want.size());
    rados_write_op_setxattr(op, kVersionXattr, next.data(), next.size());
    rados_write_op_write_full(op, data.data(), data.size());
    int rc = rados_write_op_operate(op, io_->ioctx, oid_.c_str(), nullptr, 0);
    rados_release_write_op(op);
    return rc;
  }

  int notify(const std::string& payload, uint32_t timeout_ms) override {
    char* reply = nullptr;
    size_t reply_len = 0;
    int rc = rados_notify2(io_->ioctx, oid_.c_str(), payload.data(), int(payload.size()),
                           timeout_ms, &reply, &reply_len);
    if (reply != nullptr) rados_buffer_free(reply);
    return rc;
  }

  int watch(Watcher* watcher, uint32_t timeout_s) override {
    unwatch();
    std::lock_guard lock(mutex_);
    watcher_ = watcher;
    uint64_t cookie = 0;
    int rc = rados_watch3(io_->ioctx, oid_.c_str(), &cookie, &RadosSharedObject::on_notify,
                          &RadosSharedObject::on_error, timeout_s, this);
    if (rc < 0) return rc;
    cookie_ = cookie;
    watching_ = true;
    return 0;
  }

  void unwatch() override {
    uint64_t cookie;
    {
      std::lock_guard lock(mutex_);
      if (!watching_) return;
      watching_ = false;
      cookie = cookie_;
    }
    rados_unwatch2(io_->ioctx, cookie);
    // No callback of the old watch runs after this.
    rados_watch_flush(io_->cluster->handle());
  }

  int64_t watch_age_ms() override {
    std::lock_guard lock(mutex_);
    if (!watching_) return -ENOTCONN;
    return rados_watch_check(io_->ioctx, cookie_);
  }

 private:
  static void on_notify(void* arg, uint64_t notify_id, uint64_t cookie, uint64_t notifier,
                        void* data, size_t len) {
    auto* self = static_cast<RadosSharedObject*>(arg);
    std::shared_ptr<Io> io = self->io_;
    std::string oid = self->oid_;
    auto ack = [io, oid, notify_id, cookie] {
      rados_notify_ack(io->ioctx, oid.c_str(), notify_id, cookie, nullptr, 0);
    };
    Watcher* w = self->current_watcher();
    if (w == nullptr) return ack();
    w->notified(notifier, std::string(static_cast<const char*>(data), len), std::move(ack));
  }

  static void on_error(void* arg, uint64_t, int err) {
    auto* self = static_cast<RadosSharedObject*>(arg);
    if (Watcher* w = self->current_watcher()) w->watch_lost(err);
  }

  Watcher* current_watcher() {
    std::lock_guard lock(mutex_);
    return watcher_;
  }

  std::shared_ptr<Io> io_;
  std::string oid_;
  std::string name_;
  std::mutex mutex_;
  Watcher* watcher_ = nullptr;
  uint64_t cookie_ = 0;
  bool watching_ = false;
};

}  // namespace

std::unique_ptr<SharedObject> open_shared_object(const RbdOptions& o, const std::string& oid) {
  ClusterKey key{o.ceph_conf, o.client, o.keyring, o.io_timeout_s, o.connect_timeout_s};
  auto io = std::make_shared<Io>();
  io->cluster = connect_cluster(key);
  std::string name = o.pool + "/" + (o.ns.empty() ? "" : o.ns + "/") + oid;
  int rc = rados_ioctx_create(io->cluster->handle(), o.pool.c_str(), &io->ioctx);
  if (rc < 0)
    throw RbdOpenError(RbdFailure::kPool, name + ": pool '" + o.pool + "': " + std::strerror(-rc));
  if (!o.ns.empty()) rados_ioctx_set_namespace(io->ioctx, o.ns.c_str());
  return std::make_unique<RadosSharedObject>(std::move(io), oid, std::move(name));
}

std::unique_ptr<SharedObject> open_shared_object_in(std::shared_ptr<RadosCluster> cluster,
                                                    rados_ioctx_t ioctx, const std::string& oid) {
  auto io = std::make_shared<Io>();
  io->cluster = std::move(cluster);
  io->ioctx = ioctx;
  io->owned = false;
  return std::make_unique<RadosSharedObject>(std::move(io), oid, oid);
}

std::string rbd_image_id(BlockDevice& device) {
  auto* rbd = dynamic_cast<RbdDevice*>(&device);
  if (rbd == nullptr) return {};
  char id[128] = {};
  if (rbd_get_id(rbd->image(), id, sizeof id) < 0) return {};
  return id;
}

}  // namespace sharedisk::blockdev
