// BlockReader implementations: pread(2) on a file or device, and bytes in memory.
#include "sharedisk/ocfs2/block_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sharedisk::ocfs2 {

std::unique_ptr<FileBlockReader> FileBlockReader::open(const std::filesystem::path& path,
                                                       std::string* error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (error) *error = "cannot open " + path.string() + ": " + std::strerror(errno);
    return nullptr;
  }
  return std::unique_ptr<FileBlockReader>(new FileBlockReader(fd));
}

FileBlockReader::~FileBlockReader() {
  ::close(fd_);
}

long long FileBlockReader::read(std::uint64_t offset, void* buf, std::size_t len) {
  std::size_t done = 0;
  auto* out = static_cast<char*>(buf);
  while (done < len) {
    const ssize_t n = ::pread(fd_, out + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return static_cast<long long>(done);
}

long long MemoryBlockReader::read(std::uint64_t offset, void* buf, std::size_t len) {
  if (offset >= bytes_.size()) return 0;
  const std::size_t n = std::min<std::size_t>(len, bytes_.size() - offset);
  std::memcpy(buf, bytes_.data() + offset, n);
  return static_cast<long long>(n);
}

}  // namespace sharedisk::ocfs2
