// Diagnostics: one problem found in a cluster.conf, an /etc/default/o2cb file, a configfs
// tree or a volume. Every check in this library reports through this type so that a caller
// gets all problems at once, each with the line it comes from (0 when it has none), a
// severity, a stable code for tools and a message written for a sysadmin.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sharedisk::ocfs2 {

enum class Severity { error, warning, info };

std::string_view severity_name(Severity s);

struct Diagnostic {
  int line = 0;  // 1-based line in the file the check read, 0 if not tied to a line
  Severity severity = Severity::error;
  std::string code;     // stable identifier, e.g. "node-number-duplicate"
  std::string message;  // one sentence a sysadmin can act on

  // "FILE:LINE: error: MESSAGE [code]" (FILE and LINE left out when empty / 0).
  std::string to_string(std::string_view file = {}) const;
};

using Diagnostics = std::vector<Diagnostic>;

bool has_errors(const Diagnostics& d);
bool has_warnings(const Diagnostics& d);

// Sorts by line (line-less diagnostics last), keeping the order of equal lines.
void sort_by_line(Diagnostics& d);

}  // namespace sharedisk::ocfs2
