#include "report.h"

#include <cstdio>

namespace sharedisk::ocfs2::cli {

std::string dump_json(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

int Report::exit_code() const {
  if (bad_input) return 2;
  return has_errors(diagnostics) || (strict && has_warnings(diagnostics)) ? 1 : 0;
}

void Report::print(bool json) const {
  if (json) {
    Json j = {{"command", command}, {"ok", exit_code() == 0}, {"exit_code", exit_code()}};
    if (!file.empty()) j["file"] = file;
    Json list = Json::array();
    for (std::size_t i = 0; i < diagnostics.size(); ++i) {
      const Diagnostic& d = diagnostics[i];
      Json item = {{"line", d.line},
                   {"severity", severity_name(d.severity)},
                   {"code", d.code},
                   {"message", d.message}};
      if (i < files.size() && !files[i].empty()) item["file"] = files[i];
      list.push_back(std::move(item));
    }
    j["diagnostics"] = std::move(list);
    if (extra) extra(j);
    std::printf("%s\n", dump_json(j).c_str());
    return;
  }
  for (const auto& line : text) std::printf("%s\n", line.c_str());
  for (std::size_t i = 0; i < diagnostics.size(); ++i) {
    const Diagnostic& d = diagnostics[i];
    // Line-less diagnostics about a file still name it, so a person knows where to look.
    std::fprintf(stdout, "%s\n", d.to_string(d.line > 0 ? file_of(i) : std::string()).c_str());
  }
  std::size_t errors = 0, warnings = 0;
  for (const auto& d : diagnostics) {
    errors += d.severity == Severity::error;
    warnings += d.severity == Severity::warning;
  }
  if (errors || warnings) std::printf("%zu error(s), %zu warning(s)\n", errors, warnings);
}

}  // namespace sharedisk::ocfs2::cli
