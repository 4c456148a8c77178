// Diagnostic helpers: printing, severity queries and ordering.
#include "sharedisk/ocfs2/diagnostic.h"

#include <algorithm>

namespace sharedisk::ocfs2 {

std::string_view severity_name(Severity s) {
  switch (s) {
    case Severity::error:
      return "error";
    case Severity::warning:
      return "warning";
    case Severity::info:
      return "info";
  }
  return "error";
}

std::string Diagnostic::to_string(std::string_view file) const {
  std::string out;
  if (!file.empty()) {
    out += file;
    out += ':';
  }
  if (line > 0) {
    out += std::to_string(line);
    out += ':';
  }
  if (!out.empty()) out += ' ';
  out += severity_name(severity);
  out += ": ";
  out += message;
  if (!code.empty()) {
    out += " [";
    out += code;
    out += ']';
  }
  return out;
}

bool has_errors(const Diagnostics& d) {
  return std::any_of(d.begin(), d.end(),
                     [](const Diagnostic& x) { return x.severity == Severity::error; });
}

bool has_warnings(const Diagnostics& d) {
  return std::any_of(d.begin(), d.end(),
                     [](const Diagnostic& x) { return x.severity == Severity::warning; });
}

void sort_by_line(Diagnostics& d) {
  std::stable_sort(d.begin(), d.end(), [](const Diagnostic& a, const Diagnostic& b) {
    const int la = a.line > 0 ? a.line : 1 << 30;
    const int lb = b.line > 0 ? b.line : 1 << 30;
    return la < lb;
  });
}

}  // namespace sharedisk::ocfs2
