// Whole-file helpers for tests: configs written in one go, logs read back.
#pragma once

#include <string>

namespace sharedisk::test_support {

// The file's bytes; "" when it cannot be read.
std::string read_file(const std::string& path);
// Replaces the file's contents; throws when the write fails.
void write_file(const std::string& path, const std::string& text);
// True for anything at `path`, a dangling symlink included.
bool file_exists(const std::string& path);

}  // namespace sharedisk::test_support
