// A small RADOS object that several gateways share: versioned content changed
// with a compare-and-swap, and announced with watch/notify.
//
// The object holds opaque bytes and an xattr "ver" (decimal). write() is one
// RADOS write operation: cmpxattr(ver == expected) + setxattr(ver = expected
// + 1) + write_full(data), so of two gateways racing from the same version
// exactly one wins and the other gets -ECANCELED. notify() reaches every
// watcher of the object (this process included) and returns once each one has
// acknowledged, or after the timeout.
//
// No librados type appears here, so that the SCSI layer can use a shared
// object without including librados. Every call is bounded in time: the
// connection's rados_osd_op_timeout / rados_mon_op_timeout (rbd_cluster.h)
// bound reads and writes, notify() has its own timeout.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace sharedisk::blockdev {

class BlockDevice;
struct RbdOptions;

class SharedObject {
 public:
  class Watcher {
   public:
    // A notify from the process with RADOS instance id `notifier` (compare
    // with SharedObject::self_id()). Runs on a librados thread and must not
    // block; ack() must be called exactly once, from any thread, when the
    // notification has taken effect here (the notifier waits for it).
    virtual void notified(uint64_t notifier, std::string payload, std::function<void()> ack) = 0;
    // The watch broke (this process was disconnected, or the OSD dropped it):
    // notifications may have been missed. Runs on a librados thread.
    virtual void watch_lost(int err) = 0;

   protected:
    ~Watcher() = default;
  };

  virtual ~SharedObject() = default;
  // "pool/namespace/object", for messages.
  virtual const std::string& name() const = 0;
  // This process's RADOS client instance id.
  virtual uint64_t self_id() const = 0;
  // Creates the object with version 1 and `data` unless it exists. 0 or -errno.
  virtual int create(const std::string& data) = 0;
  // The version and the whole content. 0 or -errno (-ENOENT: no object).
  virtual int read(uint64_t* version, std::string* data) = 0;
  // Replaces the content if the version is still `expected`; it becomes
  // expected + 1. 0, -ECANCELED when the version moved, or another -errno.
  virtual int write(uint64_t expected, const std::string& data) = 0;
  // Sends `payload` to every watcher and waits for their acks. 0, or
  // -ETIMEDOUT when some watcher did not ack within timeout_ms.
  virtual int notify(const std::string& payload, uint32_t timeout_ms) = 0;
  // (Re-)registers `watcher` (dropping a previous watch of this object). The
  // OSD forgets a watcher that stops answering its pings for timeout_s.
  virtual int watch(Watcher* watcher, uint32_t timeout_s) = 0;
  // Ends the watch and waits until no callback of it runs.
  virtual void unwatch() = 0;
  // Milliseconds since the watch was last confirmed by the OSD, or a
  // negative errno when it is broken or there is none.
  virtual int64_t watch_age_ms() = 0;
};

// Opens object `oid` in the pool (and namespace) of an RBD LUN, on the same
// shared cluster connection as the image. Throws RbdOpenError.
std::unique_ptr<SharedObject> open_shared_object(const RbdOptions& where, const std::string& oid);

// The RBD image id (rbd_get_id: stays the same when the image is renamed) of
// a device made by open_rbd(); empty for any other backend.
std::string rbd_image_id(BlockDevice& device);

}  // namespace sharedisk::blockdev
