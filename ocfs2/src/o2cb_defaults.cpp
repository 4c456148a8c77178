// /etc/default/o2cb reader. The file is sourced by a shell, so it is read as KEY=VALUE lines
// with optional quotes, '#' comments and an optional "export ".
#include "sharedisk/ocfs2/o2cb_defaults.h"

#include <fstream>
#include <sstream>

#include "text.h"

namespace sharedisk::ocfs2 {
namespace {

// The o2cb init script refuses values below these.
constexpr std::uint32_t kMinDeadThreshold = 7;
constexpr std::uint32_t kMinIdleTimeoutMs = 5000;
constexpr std::uint32_t kMinKeepaliveDelayMs = 1000;
constexpr std::uint32_t kMinReconnectDelayMs = 2000;

std::string unquote(std::string v) {
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
    return v.substr(1, v.size() - 2);
  return v;
}

}  // namespace

O2cbTimeouts O2cbTimeouts::defaults() {
  return {31, 30000, 2000, 2000};
}

O2cbDefaultsResult parse_o2cb_defaults(std::string_view text) {
  O2cbDefaultsResult r;
  std::istringstream in{std::string(text)};
  std::string raw;
  int line_no = 0;
  while (std::getline(in, raw)) {
    ++line_no;
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("export ", 0) == 0) line = trim(line.substr(7));
    const auto eq = line.find('=');
    if (eq == std::string::npos) {
      r.diagnostics.push_back({line_no, Severity::warning, "defaults-line-ignored",
                               "line is not KEY=VALUE and is ignored"});
      continue;
    }
    const std::string key = trim(line.substr(0, eq));
    const std::string value = unquote(trim(line.substr(eq + 1)));
    auto number = [&](std::optional<std::uint32_t>& field) {
      if (value.empty()) {  // the init script skips empty values: the kernel default stays
        field.reset();
        return;
      }
      std::uint64_t v = 0;
      for (char c : value) {
        if (c < '0' || c > '9' || v > 0xffffffffu) {
          r.diagnostics.push_back({line_no, Severity::error, "defaults-not-a-number",
                                   key + " = '" + value + "' is not a whole number"});
          return;
        }
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
      }
      if (v > 0xffffffffu) {
        r.diagnostics.push_back(
            {line_no, Severity::error, "defaults-not-a-number", key + " is far too large"});
        return;
      }
      field = static_cast<std::uint32_t>(v);
    };
    auto& t = r.values.timeouts;
    if (key == "O2CB_ENABLED")
      r.values.enabled = value == "true";
    else if (key == "O2CB_STACK")
      r.values.stack = value;
    else if (key == "O2CB_BOOTCLUSTER")
      r.values.boot_cluster = value;
    else if (key == "O2CB_HEARTBEAT_THRESHOLD")
      number(t.heartbeat_dead_threshold);
    else if (key == "O2CB_IDLE_TIMEOUT_MS")
      number(t.idle_timeout_ms);
    else if (key == "O2CB_KEEPALIVE_DELAY_MS")
      number(t.keepalive_delay_ms);
    else if (key == "O2CB_RECONNECT_DELAY_MS")
      number(t.reconnect_delay_ms);
  }
  return r;
}

O2cbDefaultsResult load_o2cb_defaults(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) {
    O2cbDefaultsResult r;
    r.values.timeouts = O2cbTimeouts::defaults();
    r.diagnostics.push_back({0, Severity::info, "defaults-missing",
                             path.string() + " not found; using the default timeouts"});
    return r;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  return parse_o2cb_defaults(buf.str());
}

Diagnostics validate_timeouts(const O2cbTimeouts& t) {
  Diagnostics d;
  auto at_least = [&](const std::optional<std::uint32_t>& v, std::uint32_t min, const char* key) {
    if (v && *v < min)
      d.push_back({0, Severity::error, "timeout-too-small",
                   std::string(key) + " = " + std::to_string(*v) + " is below the minimum of " +
                       std::to_string(min)});
  };
  at_least(t.heartbeat_dead_threshold, kMinDeadThreshold, "O2CB_HEARTBEAT_THRESHOLD");
  at_least(t.idle_timeout_ms, kMinIdleTimeoutMs, "O2CB_IDLE_TIMEOUT_MS");
  at_least(t.keepalive_delay_ms, kMinKeepaliveDelayMs, "O2CB_KEEPALIVE_DELAY_MS");
  at_least(t.reconnect_delay_ms, kMinReconnectDelayMs, "O2CB_RECONNECT_DELAY_MS");
  const std::uint32_t idle = t.idle_timeout_ms.value_or(30000);
  const std::uint32_t keepalive = t.keepalive_delay_ms.value_or(2000);
  if (keepalive >= idle)
    d.push_back({0, Severity::error, "timeout-keepalive-not-below-idle",
                 "O2CB_KEEPALIVE_DELAY_MS (" + std::to_string(keepalive) +
                     ") must be smaller than O2CB_IDLE_TIMEOUT_MS (" + std::to_string(idle) +
                     "); the kernel refuses it otherwise"});
  return d;
}

}  // namespace sharedisk::ocfs2
