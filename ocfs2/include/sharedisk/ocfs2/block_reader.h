// The only access the superblock probe needs to a volume: read bytes at an offset. Any
// source can provide it (a block device or image file through FileBlockReader, a LUN through
// an adapter kept outside this library, bytes in memory for tests).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace sharedisk::ocfs2 {

class BlockReader {
 public:
  virtual ~BlockReader() = default;
  // Reads up to `len` bytes at `offset` into `buf`. Returns the number of bytes read (short
  // or 0 only at the end of the volume) or -errno.
  virtual long long read(std::uint64_t offset, void* buf, std::size_t len) = 0;
};

// pread(2) on a device or image file, opened read-only.
class FileBlockReader final : public BlockReader {
 public:
  // Returns nullptr and sets `error` when the file cannot be opened.
  static std::unique_ptr<FileBlockReader> open(const std::filesystem::path& path,
                                               std::string* error);
  ~FileBlockReader() override;
  FileBlockReader(const FileBlockReader&) = delete;
  FileBlockReader& operator=(const FileBlockReader&) = delete;

  long long read(std::uint64_t offset, void* buf, std::size_t len) override;

 private:
  explicit FileBlockReader(int fd) : fd_(fd) {}
  int fd_;
};

class MemoryBlockReader final : public BlockReader {
 public:
  explicit MemoryBlockReader(std::vector<std::uint8_t> bytes) : bytes_(std::move(bytes)) {}
  long long read(std::uint64_t offset, void* buf, std::size_t len) override;

 private:
  std::vector<std::uint8_t> bytes_;
};

}  // namespace sharedisk::ocfs2
