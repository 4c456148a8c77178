#include "report.h"

#include <cstdio>

namespace sharedisk::ocfs2::cli {

int Report::exit_code() const {
  return has_errors(diagnostics) || (strict && has_warnings(diagnostics)) ? 1 : 0;
}

void Report::print(bool json) const {
  if (json) {
    JsonWriter w;
    w.begin_object();
    w.key("command").value(command);
    w.key("ok").value(exit_code() == 0);
    w.key("exit_code").value(exit_code());
    if (!file.empty()) w.key("file").value(file);
    w.key("diagnostics").begin_array();
    for (const auto& d : diagnostics) {
      w.begin_object();
      w.key("line").value(d.line);
      w.key("severity").value(severity_name(d.severity));
      w.key("code").value(d.code);
      w.key("message").value(d.message);
      w.end_object();
    }
    w.end_array();
    if (extra) extra(w);
    w.end_object();
    std::printf("%s\n", w.str().c_str());
    return;
  }
  for (const auto& line : text) std::printf("%s\n", line.c_str());
  for (const auto& d : diagnostics) {
    // Line-less diagnostics about a file still name it, so a person knows where to look.
    std::fprintf(stdout, "%s\n", d.to_string(d.line > 0 ? file : std::string()).c_str());
  }
  std::size_t errors = 0, warnings = 0;
  for (const auto& d : diagnostics) {
    errors += d.severity == Severity::error;
    warnings += d.severity == Severity::warning;
  }
  if (errors || warnings) std::printf("%zu error(s), %zu warning(s)\n", errors, warnings);
}

}  // namespace sharedisk::ocfs2::cli
