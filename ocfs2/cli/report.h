// What a command found, printed either for a person or (with --json) for a provisioning
// tool. The JSON document is one object:
//   {"command": ..., "ok": bool, "exit_code": 0|1, "file": ..., "diagnostics": [
//      {"line": N, "severity": "error|warning|info", "code": ..., "message": ...}], ...}
// plus fields specific to the command, added through `extra`.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include "sharedisk/ocfs2/diagnostic.h"

namespace sharedisk::ocfs2::cli {

using Json = nlohmann::ordered_json;  // keys in the order written

// The one way a JSON document leaves the program: compact, and bytes that are not UTF-8
// (cluster.conf and volume labels are not checked for it) written as U+FFFD.
std::string dump_json(const Json& j);

struct Report {
  std::string command;
  std::string file;  // the file diagnostics' line numbers refer to
  Diagnostics diagnostics;
  std::vector<std::string> text;     // result lines for a person
  std::function<void(Json&)> extra;  // adds command-specific "key": value pairs
  bool strict = false;               // warnings count as problems
  // Commands that read several files: the file of each diagnostic (same index; empty or
  // missing: `file`), printed as FILE:LINE and given as "file" in JSON.
  std::vector<std::string> files;
  bool bad_input = false;  // a file could not be read or parsed: exit code 2

  const std::string& file_of(std::size_t i) const {
    return i < files.size() && !files[i].empty() ? files[i] : file;
  }

  int exit_code() const;
  void print(bool json) const;
};

inline Report new_report(std::string command) {
  Report r;
  r.command = std::move(command);
  return r;
}

}  // namespace sharedisk::ocfs2::cli
