// A private temporary directory, created with mkdtemp under a chosen base and
// removed with everything in it on destruction. Construction throws when the
// directory cannot be created, so a test never runs against a missing one.
#pragma once

#include <sys/types.h>

#include <string>

namespace sharedisk::test_support {

// $TMPDIR when set and not empty, else /tmp.
std::string default_temp_base();

class TempDir {
 public:
  // Creates `base`/`prefix`XXXXXX with permission bits `mode`.
  TempDir(const std::string& base, const std::string& prefix, mode_t mode = 0700);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace sharedisk::test_support
