// open_aio_file(): opens (and where asked, creates or extends) a regular file
// or a block device and works out what the backing store can do.
//
// Nothing is left behind on failure: a file this call created is removed again
// if a later step fails, and an existing file is only extended (never
// truncated) once every check has passed.
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "blockdev/aio_file_device.h"
#include "blockdev/block_device.h"
#include "blockdev/unique_fd.h"

namespace sharedisk::blockdev {

namespace {

constexpr uint64_t kSector = 512;

[[noreturn]] void fail(const std::string& path, const std::string& reason) {
  throw OpenError(path + ": " + reason);
}

[[noreturn]] void fail_errno(const std::string& path, int err) {
  fail(path, std::strerror(err));
}

// Removes the file it was given unless dismissed: undoes our own creation.
class CreatedFile {
 public:
  void set(const std::string& path) { path_ = path; }
  void dismiss() { path_.clear(); }
  ~CreatedFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }

 private:
  std::string path_;
};

void create_sparse(const std::string& path, uint64_t size, CreatedFile& created) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) fail_errno(path, errno);
  created.set(path);
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
    fail(path, std::string("cannot create with size ") + std::to_string(size) + ": " +
                   std::strerror(errno));
  }
}

// O_DIRECT unless the LUN says `direct: false`. A backing that cannot do it
// (or needs more than our 512-byte granularity) is refused, never silently
// served buffered: buffered I/O runs on the device's I/O threads, which the
// operator must choose knowingly (docs/blockdev.md).
UniqueFd open_data_fd(const std::string& path, bool read_only, bool want_direct, bool& direct) {
  const int flags = (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
  direct = want_direct;
  if (!want_direct) {
    UniqueFd fd(::open(path.c_str(), flags));
    if (fd.get() < 0) fail_errno(path, errno);
    return fd;
  }
  UniqueFd fd(::open(path.c_str(), flags | O_DIRECT));
  if (fd.get() < 0) {
    if (errno != EINVAL) fail_errno(path, errno);
    fail(path,
         "the filesystem refuses O_DIRECT; set `direct: false` on this LUN to serve it through "
         "the page cache (buffered, on I/O threads)");
  }
  struct statx stx {};
  if (::statx(fd.get(), "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
      (stx.stx_mask & STATX_DIOALIGN)) {
    if (stx.stx_dio_offset_align == 0)
      fail(path,
           "the filesystem does not support O_DIRECT on this file; set `direct: false` on this "
           "LUN to serve it through the page cache (buffered, on I/O threads)");
    if (stx.stx_dio_offset_align > kSector || stx.stx_dio_mem_align > 4096)
      fail(path, "O_DIRECT needs " + std::to_string(stx.stx_dio_offset_align) +
                     "-byte aligned offsets here (more than 512); set `direct: false` on this "
                     "LUN to serve it through the page cache (buffered, on I/O threads)");
  }
  return fd;
}

// Whether fallocate(PUNCH_HOLE) works here, asked harmlessly: a hole punched
// past the end of the file (with KEEP_SIZE) changes nothing.
bool probe_punch_hole(int fd, uint64_t file_size) {
  const uint64_t beyond = (file_size + (1u << 20)) & ~uint64_t((1u << 20) - 1);
  return ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(beyond),
                     4096) == 0;
}

uint64_t sysfs_queue_value(dev_t dev, const char* name) {
  std::ifstream in("/sys/dev/block/" + std::to_string(major(dev)) + ":" +
                   std::to_string(minor(dev)) + "/queue/" + name);
  uint64_t value = 0;
  in >> value;
  return value;
}

void describe_block_device(const std::string& path, int fd, dev_t dev, DeviceInfo& info) {
  uint64_t bytes = 0;
  if (::ioctl(fd, BLKGETSIZE64, &bytes) != 0)
    fail(path, std::string("BLKGETSIZE64: ") + std::strerror(errno));
  unsigned int physical = 0;
  if (::ioctl(fd, BLKPBSZGET, &physical) == 0 && physical != 0) info.physical_block_size = physical;
  info.size_bytes = bytes & ~(kSector - 1);
  info.is_block_device = true;
  // BLKDISCARD leaves the contents undefined on most devices (and the kernel
  // no longer reports otherwise), so discarded blocks are not promised to
  // read back as zeroes.
  info.supports_discard = !info.read_only && sysfs_queue_value(dev, "discard_max_bytes") > 0;
  info.discard_zeroes = false;
}

}  // namespace

std::unique_ptr<BlockDevice> open_aio_file(const OpenOptions& options) {
  const std::string& path = options.path;
  if (path.empty()) throw OpenError("backing store path is empty");
  if (options.create_size % kSector != 0)
    fail(path, "size " + std::to_string(options.create_size) + " is not a multiple of 512");

  CreatedFile created;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    if (err != ENOENT || options.create_size == 0) fail_errno(path, err);
    if (options.read_only)
      fail(path, std::string(std::strerror(err)) + " (read-only: not created)");
    create_sparse(path, options.create_size, created);
    if (::stat(path.c_str(), &st) != 0) fail_errno(path, errno);
  }
  if (S_ISBLK(st.st_mode)) {
    if (options.create_size != 0)
      fail(path, "is a block device: its own size is used, set no size");
  } else if (!S_ISREG(st.st_mode)) {
    fail(path, "not a regular file or a block device");
  }

  DeviceInfo info;
  info.path = path;
  info.read_only = options.read_only;
  UniqueFd fd = open_data_fd(path, options.read_only, options.direct, info.direct_io);
  if (::fstat(fd.get(), &st) != 0) fail_errno(path, errno);

  if (S_ISBLK(st.st_mode)) {
    describe_block_device(path, fd.get(), st.st_rdev, info);
  } else {
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (options.create_size != 0) {
      if (size < options.create_size) {
        if (options.read_only)
          fail(path, "is smaller (" + std::to_string(size) +
                         " bytes) than the size asked for and read-only");
        if (::ftruncate(fd.get(), static_cast<off_t>(options.create_size)) != 0)
          fail(path, std::string("cannot extend: ") + std::strerror(errno));
      }
      size = options.create_size;
    }
    info.size_bytes = size & ~(kSector - 1);
    if (info.size_bytes == 0) fail(path, "is empty: give it a size to export");
    info.physical_block_size =
        st.st_blksize >= 512 && st.st_blksize <= 65536 ? st.st_blksize : 4096;
    info.supports_discard =
        !options.read_only &&
        probe_punch_hole(fd.get(), std::max<uint64_t>(static_cast<uint64_t>(st.st_size), size));
    info.discard_zeroes = info.supports_discard;
  }
  info.supports_write_zeroes = !options.read_only;
  if (info.size_bytes == 0) fail(path, "has no usable size");

  created.dismiss();
  bool follow_size = info.is_block_device || options.create_size == 0;
  return std::make_unique<AioFileDevice>(std::move(fd), std::move(info), options.cache_mode,
                                         follow_size);
}

}  // namespace sharedisk::blockdev
