// Backing stores behind one asynchronous interface.
//
// A BlockDevice is shared by every event loop of the daemon; it hands each loop
// its own IoChannel. A channel is used from its loop's thread only, so no lock
// is taken on the I/O path (the SPDK bdev/io_channel model). Completions run on
// that same loop, never from inside submit(), so a caller may submit from
// within a completion without recursion.
//
// Requests are caller-owned and carry no allocation: the caller (a SCSI task)
// embeds an IoRequest and implements IoCallback. Buffers handed to read/write
// must be aligned to info().buffer_alignment and their lengths a multiple of
// 512, so that O_DIRECT backends can use them as they are.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

namespace boost::asio {
class io_context;
}

namespace sharedisk::blockdev {

enum class IoOp : uint8_t {
  kRead,
  kWrite,
  kFlush,    // make every completed write durable (fdatasync)
  kDiscard,  // deallocate [offset, offset+length); reads back zeroes where info().discard_zeroes
  kWriteZeroes,  // [offset, offset+length) reads back zeroes afterwards; may deallocate if `unmap`
  // Which blocks of [offset, offset+length) are mapped: fills the
  // AllocationMap that iov[0] points to (iovcnt 1). Only where
  // info().supports_allocation_map; elsewhere it fails with -EOPNOTSUPP.
  kAllocationMap,
  // [offset, offset+length) filled with copies of iov[0] (iovcnt 1, one
  // block; length a multiple of it). Only where info().supports_write_same;
  // elsewhere it fails with -EOPNOTSUPP.
  kWriteSame,
  // Compare [offset, offset+length) with iov[0] and, only where equal, write
  // iov[1] there, atomically in the store, against every client of it (iovcnt
  // 2, each `length` bytes). A mismatch fails with -EILSEQ and sets
  // miscompare_offset. Only where 0 < length <= info().max_compare_and_write
  // and offset is a multiple of it; elsewhere it fails with -EOPNOTSUPP.
  kCompareAndWrite,
};

// kAllocationMap's answer: runs of whole blocks of `block_size` bytes, the
// first at the request's offset, each after the previous one, alternately
// mapped and deallocated (a deallocated block reads back as zeroes). They may
// end before the end of the request (at most max_runs runs, and a store may
// bound the work one request does): SBC-3's GET LBA STATUS allows that.
struct AllocationMap {
  static constexpr uint32_t kMaxRuns = 64;
  struct Run {
    uint64_t offset;  // bytes
    uint64_t length;  // bytes, a multiple of block_size
    bool mapped;
  };
  uint32_t block_size = 512;     // in: a power of two, >= 512; the request is aligned to it
  uint32_t max_runs = kMaxRuns;  // in: 1..kMaxRuns
  uint32_t runs = 0;             // out
  Run run[kMaxRuns];
};

struct IoRequest;

// Called exactly once per submitted request, on the submitting channel's loop.
class IoCallback {
 public:
  // result: 0 on success, a negative errno on failure.
  virtual void io_done(IoRequest& req, int result) = 0;

 protected:
  ~IoCallback() = default;
};

struct IoRequest {
  IoOp op = IoOp::kRead;
  bool fua = false;            // kWrite: durable on stable storage before completion
  bool unmap = false;          // kWriteZeroes: the range may be deallocated
  const iovec* iov = nullptr;  // kRead/kWrite buffers
  int iovcnt = 0;
  uint64_t offset = 0;  // bytes from the start of the device
  uint64_t length = 0;  // bytes; for kRead/kWrite the sum of the iov lengths
  IoCallback* callback = nullptr;
  void* user = nullptr;            // free for the caller
  uint64_t miscompare_offset = 0;  // kCompareAndWrite, -EILSEQ: first differing byte from offset
};

// Per event loop; not thread-safe. Destroy only when nothing is in flight.
class IoChannel {
 public:
  virtual ~IoChannel() = default;
  virtual void submit(IoRequest& req) = 0;
  // Requests submitted and not yet completed.
  virtual unsigned in_flight() const = 0;
  // A request this channel still holds back (the RBD owner dwell), not yet
  // handed to the store: it is taken out and completes with -ECANCELED, later
  // on the loop as every completion, and never reaches the store; true. False
  // when `req` is not held here (it completes as usual). For aborts.
  virtual bool cancel(IoRequest& req) {
    (void)req;
    return false;
  }
};

// Who holds the owner token of a store several gateways export (the RBD
// exclusive lock), for implicit ALUA.
struct LockOwner {
  enum class Holder : uint8_t {
    kNobody,       // the lock is free
    kThisGateway,  // this process holds it
    kPeer,         // a gateway that registered its target port group holds it
    kUnknown,      // a client that is not a registered gateway holds it
  };
  Holder holder = Holder::kNobody;
  uint16_t group = 0;  // kThisGateway / kPeer: the holder's ALUA target port group
  std::string client;  // the holder's RADOS client address (empty: kNobody)
  bool operator==(const LockOwner&) const = default;
};

enum class CacheMode : uint8_t {
  kWriteBack,     // writes may sit in a volatile cache until kFlush or a FUA write
  kWriteThrough,  // every write is durable before it completes
};

struct DeviceInfo {
  std::string path;         // what was opened ("memory" for RAM)
  uint64_t size_bytes = 0;  // usable size
  uint32_t buffer_alignment = 4096;
  uint32_t physical_block_size = 512;  // of the underlying store (BLKPBSZGET / st_blksize)
  bool is_block_device = false;
  bool read_only = false;
  bool direct_io = false;         // opened with O_DIRECT; false: buffered, on I/O threads
  bool supports_discard = false;  // kDiscard deallocates
  bool discard_zeroes = false;    // a discarded range reads back as zeroes (LBPRZ)
  bool supports_write_zeroes = true;
  bool supports_allocation_map = false;  // kAllocationMap (an RBD image: rbd_diff_iterate2)
  bool supports_write_same = false;      // kWriteSame (an RBD image: rbd_aio_writesame)
  // kCompareAndWrite's largest length (an RBD image: 512, the one sector
  // rbd_aio_compare_and_write covers in Ceph 16); 0: not supported.
  uint32_t max_compare_and_write = 0;
};

class BlockDevice {
 public:
  virtual ~BlockDevice() = default;
  virtual const DeviceInfo& info() const = 0;
  // Thread-safe. The channel delivers completions on `loop`.
  virtual std::unique_ptr<IoChannel> make_channel(boost::asio::io_context& loop) = 0;
  // Thread-safe; takes effect for requests submitted afterwards.
  virtual void set_cache_mode(CacheMode mode) = 0;
  virtual CacheMode cache_mode() const = 0;
  // Thread-safe. Re-reads the size of a store that exports its whole extent
  // (a block device, a file opened without a size) and returns the size now
  // served: requests up to it are accepted from then on. Stores of a fixed
  // size return it unchanged.
  virtual uint64_t refresh_size() { return info().size_bytes; }
  // Stores whose size can change under the target without a reload (an RBD
  // image resized with `rbd resize`) call `changed` from a thread of their own
  // after each change; the owner then calls refresh_size() on a thread that
  // may block briefly (never an I/O loop). Other stores never call it. Call
  // once, before serving; `changed` is not called after the store is destroyed.
  virtual void watch_size(std::function<void()> changed) { (void)changed; }
  // Stores with an owner token (an RBD image with the exclusive-lock feature)
  // record `group`, this gateway's ALUA target port group, where the other
  // gateways of the store find it, and call `changed` from a thread of their
  // own with the holder: once right away, then after every change (woken by
  // the store's notifications, not polled per command). Returns false, and
  // never calls `changed`, for stores without one. Call once, before serving;
  // `changed` is not called after the store is destroyed.
  virtual bool watch_owner(uint16_t group, std::function<void(const LockOwner&)> changed) {
    (void)group;
    (void)changed;
    return false;
  }
  // Stores with an owner token: a write (anything that makes the store take
  // the token: write, discard, write zeroes/same, compare-and-write, flush)
  // submitted on a gateway that does not hold it, less than `dwell_ms` after
  // the token last moved (as this gateway saw it), is held back until then, so
  // that writers on several gateways move the token at most about once per
  // dwell. 0: off. Thread-safe, takes effect for writes submitted afterwards.
  virtual void set_lock_dwell(uint32_t dwell_ms) { (void)dwell_ms; }
};

// Opening or creating a backing store failed; what() names the path and the reason.
class OpenError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct OpenOptions {
  std::string path;
  // Regular file: 0 = the file must exist and its whole size is exported.
  // Otherwise the exported size: a missing file is created sparse with it, a
  // smaller one is extended (sparse); a larger one is never truncated, only its
  // first create_size bytes are exported. Block devices: must be 0 (the
  // device's own size is used).
  uint64_t create_size = 0;
  bool read_only = false;
  CacheMode cache_mode = CacheMode::kWriteBack;
  // O_DIRECT (Linux AIO); a backing that cannot do it is refused (OpenError).
  // false: buffered, every request on the device's I/O threads, never in
  // io_submit (which runs buffered I/O synchronously, on the event loop).
  bool direct = true;
};

// A file or block device through libaio (blockdev/aio_file.cpp). Throws OpenError.
std::unique_ptr<BlockDevice> open_aio_file(const OpenOptions& options);

// RAM backing for tests and benchmarks (blockdev/memory.cpp); zero-filled.
std::unique_ptr<BlockDevice> make_memory(uint64_t size_bytes);

}  // namespace sharedisk::blockdev
