// Loading cluster.conf from disk and replacing files atomically.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "sharedisk/ocfs2/cluster_conf.h"

namespace sharedisk::ocfs2 {
namespace {

std::string errno_text(int err) {
  return std::strerror(err);
}

bool write_all(int fd, std::string_view text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

ParseResult load_cluster_conf(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    if (err == ENOENT) return ParseResult{};
    ParseResult r;
    r.diagnostics.push_back({0, Severity::error, "file-unreadable",
                             "cannot read " + path.string() + ": " + errno_text(err)});
    return r;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  return parse_cluster_conf(buf.str());
}

std::string write_file_atomically(const std::filesystem::path& path, std::string_view text) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  std::string tmpl = (dir / ("." + path.filename().string() + ".XXXXXX")).string();
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) return "cannot create a temporary file in " + dir.string() + ": " + errno_text(errno);

  std::string failure;
  if (!write_all(fd, text))
    failure = "cannot write " + tmpl + ": " + errno_text(errno);
  else if (::fchmod(fd, 0644) != 0)
    failure = "cannot set the mode of " + tmpl + ": " + errno_text(errno);
  else if (::fsync(fd) != 0)
    failure = "cannot flush " + tmpl + " to disk: " + errno_text(errno);
  if (::close(fd) != 0 && failure.empty())
    failure = "cannot close " + tmpl + ": " + errno_text(errno);
  if (failure.empty() && ::rename(tmpl.c_str(), path.c_str()) != 0)
    failure = "cannot rename " + tmpl + " to " + path.string() + ": " + errno_text(errno);
  if (!failure.empty()) {
    ::unlink(tmpl.c_str());
    return failure;
  }
  // The rename is only durable once the directory entry is on disk.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace sharedisk::ocfs2
