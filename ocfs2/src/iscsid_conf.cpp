// iscsid.conf reader: the three timeouts of a session's error recovery.
#include "sharedisk/ocfs2/iscsid_conf.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "text.h"

namespace sharedisk::ocfs2 {
namespace {}  // namespace

IscsidConfResult parse_iscsid_conf(std::string_view text) {
  IscsidConfResult r;
  std::istringstream in{std::string(text)};
  std::string raw;
  int line_no = 0;
  while (std::getline(in, raw)) {
    ++line_no;
    const std::string line = trim(raw, " \t\r");
    if (line.empty() || line[0] == '#') continue;
    // As idbm_recinfo_config(): the name runs to a blank or '=', then blanks and '=' are
    // skipped and the rest is the value (so "name value" is read too).
    const auto name_end = line.find_first_of(" \t=");
    const std::string key = line.substr(0, name_end);
    const auto value_start = name_end == std::string::npos
                                 ? std::string::npos
                                 : line.find_first_not_of(" \t=", name_end);
    const std::string value = value_start == std::string::npos ? "" : line.substr(value_start);
    if (value.empty()) {
      r.diagnostics.push_back({line_no, Severity::warning, "iscsid-line-ignored",
                               "'" + key + "' has no value; iscsid ignores the line"});
      continue;
    }
    std::uint32_t* field = nullptr;
    int* field_line = nullptr;
    auto& v = r.values;
    if (key == "node.session.timeo.replacement_timeout") {
      field = &v.replacement_timeout;
      field_line = &v.replacement_timeout_line;
    } else if (key == "node.conn[0].timeo.noop_out_interval") {
      field = &v.noop_out_interval;
      field_line = &v.noop_out_interval_line;
    } else if (key == "node.conn[0].timeo.noop_out_timeout") {
      field = &v.noop_out_timeout;
      field_line = &v.noop_out_timeout_line;
    } else {
      continue;  // one of open-iscsi's many other settings
    }
    if (value.size() > 9 || value.find_first_not_of("0123456789") != std::string::npos) {
      // iscsid itself takes the leading digits (strtoul) and silently drops the rest.
      const auto digits = value.find_first_not_of("0123456789");
      const std::string lead = value.substr(0, std::min<std::size_t>(digits, 9));
      r.diagnostics.push_back({line_no, Severity::error, "iscsid-not-a-number",
                               key + " = '" + value +
                                   "' is not a whole number of seconds (iscsid would read " +
                                   (lead.empty() ? std::string("0") : lead) + ")"});
      continue;
    }
    *field = static_cast<std::uint32_t>(std::stoul(value));
    *field_line = line_no;
  }
  return r;
}

IscsidConfResult load_iscsid_conf(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) {
    IscsidConfResult r;
    r.found = false;
    r.diagnostics.push_back({0, Severity::info, "iscsid-conf-missing",
                             path.string() + " not found; using open-iscsi's built-in timeouts"});
    return r;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  return parse_iscsid_conf(buf.str());
}

}  // namespace sharedisk::ocfs2
