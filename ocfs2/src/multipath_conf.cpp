// multipath.conf reader and the settings multipathd would pick for one device.
#include "sharedisk/ocfs2/multipath_conf.h"

#include <regex.h>

#include <fstream>
#include <limits>
#include <sstream>

namespace sharedisk::ocfs2 {
namespace {

struct Token {
  std::string text;
  bool quoted = false;
};

// Splits one line as multipathd's parser does. Returns false (with `error`) on an
// unterminated quote.
bool tokenize(const std::string& line, std::vector<Token>& out, std::string& error) {
  std::size_t i = 0;
  while (i < line.size()) {
    const char c = line[i];
    if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
    } else if (c == '#' || c == '!') {
      break;
    } else if (c == '{' || c == '}') {
      out.push_back({std::string(1, c), false});
      ++i;
    } else if (c == '"') {
      std::string s;
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            s += '"';
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        s += line[i++];
      }
      if (!closed) {
        error = "unterminated quoted string";
        return false;
      }
      out.push_back({s, true});
    } else {
      std::string s;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' &&
             line[i] != '{' && line[i] != '}' && line[i] != '"' && line[i] != '#' && line[i] != '!')
        s += line[i++];
      out.push_back({s, false});
    }
  }
  return true;
}

bool whole_number(const std::string& v) {
  return !v.empty() && v.size() <= 9 && v.find_first_not_of("0123456789") == std::string::npos;
}

// The value checks for the keywords this library interprets; empty when the value is good.
std::string check_value(const std::string& key, const std::string& v) {
  if (key == "polling_interval") {
    if (!whole_number(v) || std::stoul(v) == 0) return "must be a whole number of seconds above 0";
  } else if (key == "no_path_retry") {
    if (v != "fail" && v != "queue" && !whole_number(v))
      return "must be 'fail', 'queue' or a number of polling intervals";
  } else if (key == "fast_io_fail_tmo") {
    if (v != "off" && v != "-1" && !whole_number(v))
      return "must be 'off' or a whole number of seconds";
  } else if (key == "dev_loss_tmo") {
    if (v != "infinity" && !whole_number(v))
      return "must be 'infinity' or a whole number of seconds";
  }
  return {};
}

bool known_top_section(const std::string& name) {
  return name == "defaults" || name == "blacklist" || name == "blacklist_exceptions" ||
         name == "devices" || name == "multipaths" || name == "overrides";
}

}  // namespace

const MultipathAttribute* MultipathSection::find(std::string_view keyword) const {
  const MultipathAttribute* found = nullptr;
  for (const auto& a : attributes)
    if (a.keyword == keyword) found = &a;
  return found;
}

std::string SettingSource::describe() const {
  if (line == 0) return "multipathd default";
  return "multipath.conf line " + std::to_string(line) + " (" + section + ")";
}

MultipathConfResult parse_multipath_conf(std::string_view text) {
  MultipathConfResult r;
  std::istringstream in{std::string(text)};
  std::string raw;
  int line_no = 0;
  // The open sections, outermost first; each points into its parent's storage, so the
  // parent is never appended to while a child is open.
  std::vector<MultipathSection*> open;
  auto error = [&](int line, const std::string& code, const std::string& message) {
    r.diagnostics.push_back({line, Severity::error, code, message});
  };
  while (std::getline(in, raw)) {
    ++line_no;
    std::vector<Token> tokens;
    std::string tok_error;
    if (!tokenize(raw, tokens, tok_error)) {
      error(line_no, "multipath-syntax", tok_error);
      continue;
    }
    if (tokens.empty()) continue;
    if (!tokens[0].quoted && tokens[0].text == "}") {
      if (tokens.size() > 1) error(line_no, "multipath-syntax", "'}' must be alone on its line");
      if (open.empty())
        error(line_no, "multipath-syntax", "'}' without an open section");
      else
        open.pop_back();
      continue;
    }
    if (tokens[0].quoted || tokens[0].text == "{") {
      error(line_no, "multipath-syntax", "a line must start with a keyword");
      continue;
    }
    const std::string& keyword = tokens[0].text;
    if (tokens.size() >= 2 && !tokens[1].quoted && tokens[1].text == "{") {
      if (tokens.size() > 2)
        error(line_no, "multipath-syntax",
              "nothing may follow '{' on the line of '" + keyword + "'");
      MultipathSection s;
      s.name = keyword;
      s.line = line_no;
      if (open.empty()) {
        if (!known_top_section(keyword))
          r.diagnostics.push_back({line_no, Severity::warning, "multipath-unknown-section",
                                   "unknown section '" + keyword + "'; multipathd ignores it"});
        r.conf.sections.push_back(std::move(s));
        open.push_back(&r.conf.sections.back());
      } else {
        open.back()->subsections.push_back(std::move(s));
        open.push_back(&open.back()->subsections.back());
      }
      continue;
    }
    if (open.empty()) {
      if (known_top_section(keyword))
        error(line_no, "multipath-syntax",
              "'{' must follow the section name '" + keyword + "' on the same line");
      else
        error(line_no, "multipath-syntax", "'" + keyword + "' outside of any section");
      continue;
    }
    if (tokens.size() < 2) {
      if (keyword == "defaults" || keyword == "device" || keyword == "devices" ||
          keyword == "multipath" || keyword == "overrides")
        error(line_no, "multipath-syntax",
              "'{' must follow the section name '" + keyword + "' on the same line");
      else
        error(line_no, "multipath-missing-value", "'" + keyword + "' has no value");
      continue;
    }
    if (tokens.size() > 2)
      r.diagnostics.push_back(
          {line_no, Severity::warning, "multipath-extra-words",
           "'" + keyword +
               "': multipathd reads one word or one quoted string; the rest is ignored"});
    MultipathAttribute a{keyword, tokens[1].text, line_no};
    if (auto bad = check_value(keyword, a.value); !bad.empty()) {
      error(line_no, "multipath-bad-value", keyword + " '" + a.value + "': " + bad);
      continue;
    }
    if (keyword == "polling_interval" && open.back()->name != "defaults")
      r.diagnostics.push_back({line_no, Severity::warning, "multipath-misplaced",
                               "polling_interval is read from the defaults section only"});
    open.back()->attributes.push_back(std::move(a));
  }
  for (const auto* s : open)
    error(s->line, "multipath-unclosed", "section '" + s->name + "' is not closed with '}'");
  return r;
}

MultipathConfResult load_multipath_conf(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) {
    MultipathConfResult r;
    r.found = false;
    r.diagnostics.push_back({0, Severity::info, "multipath-conf-missing",
                             path.string() + " not found; using multipathd's built-in values"});
    return r;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  return parse_multipath_conf(buf.str());
}

MultipathSettings resolve_multipath_settings(const MultipathConf& conf, std::string_view vendor,
                                             std::string_view product, Diagnostics& out) {
  MultipathSettings m;
  // Sections may repeat; a later one wins key by key.
  std::vector<const MultipathSection*> defaults, overrides;
  std::vector<const MultipathSection*> devices;  // matching entries, file order
  for (const auto& s : conf.sections) {
    if (s.name == "defaults") defaults.push_back(&s);
    if (s.name == "overrides") overrides.push_back(&s);
    if (s.name != "devices") continue;
    for (const auto& d : s.subsections) {
      if (d.name != "device") continue;
      const auto* v = d.find("vendor");
      const auto* p = d.find("product");
      if (!v || !p) {
        out.push_back({d.line, Severity::warning, "multipath-device-incomplete",
                       "device entry without vendor and product; multipathd ignores it"});
        continue;
      }
      bool match = true;
      for (const auto& [attr, subject] :
           {std::pair<const MultipathAttribute*, std::string_view>{v, vendor}, {p, product}}) {
        regex_t re;
        if (regcomp(&re, attr->value.c_str(), REG_EXTENDED | REG_NOSUB) != 0) {
          out.push_back({attr->line, Severity::error, "multipath-bad-regex",
                         attr->keyword + " '" + attr->value + "' is not a regular expression"});
          match = false;
          break;
        }
        const std::string s(subject);
        if (regexec(&re, s.c_str(), 0, nullptr, 0) != 0) match = false;
        regfree(&re);
        if (!match) break;
      }
      if (match) {
        devices.push_back(&d);
        m.device_entry_found = true;
        m.device_entry_line = d.line;
      }
    }
  }
  // The attribute in precedence order: overrides, the last matching device, defaults.
  auto last = [](const std::vector<const MultipathSection*>& in, std::string_view key,
                 const char* what, SettingSource& from) -> const MultipathAttribute* {
    for (auto it = in.rbegin(); it != in.rend(); ++it)
      if (const auto* a = (*it)->find(key)) {
        from = {what, a->line};
        return a;
      }
    return nullptr;
  };
  auto pick = [&](std::string_view key, SettingSource& from) -> const MultipathAttribute* {
    if (const auto* a = last(overrides, key, "overrides", from)) return a;
    if (const auto* a = last(devices, key, "device", from)) return a;
    return last(defaults, key, "defaults", from);
  };
  if (const auto* a = last(defaults, "polling_interval", "defaults", m.polling_interval_from))
    m.polling_interval = static_cast<std::uint32_t>(std::stoul(a->value));
  if (const auto* a = pick("no_path_retry", m.no_path_retry_from)) {
    if (a->value == "queue") {
      m.no_path_retry = NoPathRetry::queue;
    } else if (a->value == "fail" || a->value == "0") {
      m.no_path_retry = NoPathRetry::fail;
    } else {
      m.no_path_retry = NoPathRetry::count;
      m.no_path_retry_count = static_cast<std::uint32_t>(std::stoul(a->value));
    }
  } else {
    // The deprecated feature queues forever when no_path_retry is not set.
    SettingSource from;
    if (const auto* f = pick("features", from);
        f && f->value.find("queue_if_no_path") != std::string::npos) {
      m.no_path_retry = NoPathRetry::queue;
      m.no_path_retry_from = from;
    }
  }
  if (const auto* a = pick("fast_io_fail_tmo", m.fast_io_fail_from)) {
    if (a->value == "off" || a->value == "-1") {
      m.fast_io_fail = FastIoFail::off;
    } else if (a->value == "0") {
      m.fast_io_fail = FastIoFail::zero;
    } else {
      m.fast_io_fail_tmo = static_cast<std::uint32_t>(std::stoul(a->value));
    }
  }
  if (const auto* a = pick("dev_loss_tmo", m.dev_loss_from)) {
    m.dev_loss_tmo = a->value == "infinity" ? std::numeric_limits<std::uint32_t>::max()
                                            : static_cast<std::uint32_t>(std::stoul(a->value));
  }
  return m;
}

}  // namespace sharedisk::ocfs2
