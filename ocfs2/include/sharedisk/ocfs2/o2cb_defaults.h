// /etc/default/o2cb: the O2CB service settings (shell KEY=VALUE lines) that the o2cb init
// script reads, notably the timeouts it writes into configfs after registering a cluster.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "sharedisk/ocfs2/diagnostic.h"

namespace sharedisk::ocfs2 {

inline constexpr const char* kDefaultO2cbDefaultsPath = "/etc/default/o2cb";

// A timeout left unset is not written to configfs, so the kernel keeps its own value.
struct O2cbTimeouts {
  std::optional<std::uint32_t> heartbeat_dead_threshold;  // O2CB_HEARTBEAT_THRESHOLD
  std::optional<std::uint32_t> idle_timeout_ms;           // O2CB_IDLE_TIMEOUT_MS
  std::optional<std::uint32_t> keepalive_delay_ms;        // O2CB_KEEPALIVE_DELAY_MS
  std::optional<std::uint32_t> reconnect_delay_ms;        // O2CB_RECONNECT_DELAY_MS

  // The values `dpkg-reconfigure ocfs2-tools` proposes: 31, 30000, 2000, 2000.
  static O2cbTimeouts defaults();
};

struct O2cbDefaults {
  bool enabled = false;        // O2CB_ENABLED
  std::string stack = "o2cb";  // O2CB_STACK
  std::string boot_cluster;    // O2CB_BOOTCLUSTER
  O2cbTimeouts timeouts;
};

struct O2cbDefaultsResult {
  O2cbDefaults values;
  Diagnostics diagnostics;
};

O2cbDefaultsResult parse_o2cb_defaults(std::string_view text);
// A missing file gives the built-in defaults and an info diagnostic.
O2cbDefaultsResult load_o2cb_defaults(const std::filesystem::path& path);

// The minimums the o2cb init script enforces and the ordering the kernel enforces
// (keepalive delay below idle timeout).
Diagnostics validate_timeouts(const O2cbTimeouts& t);

}  // namespace sharedisk::ocfs2
