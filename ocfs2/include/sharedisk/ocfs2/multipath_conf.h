// /etc/multipath.conf (multipath-tools): the block format multipathd reads, and the settings
// that decide what dm-multipath does when a path dies: how fast the iSCSI layer fails its
// I/O (fast_io_fail_tmo), how long I/O queues when no path is left (no_path_retry times
// polling_interval) and whether it queues forever.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sharedisk/ocfs2/diagnostic.h"

namespace sharedisk::ocfs2 {

inline constexpr const char* kDefaultMultipathConfPath = "/etc/multipath.conf";
inline constexpr const char* kDefaultMultipathConfDir = "/etc/multipath/conf.d";

struct MultipathAttribute {
  std::string keyword;
  std::string value;  // unquoted ("" inside quotes already turned into ")
  int line = 0;
};

// "name {" ... "}": its attributes and subsections, in file order.
struct MultipathSection {
  std::string name;
  int line = 0;
  std::vector<MultipathAttribute> attributes;
  std::vector<MultipathSection> subsections;

  // The last setting of the keyword in this section (multipathd keeps the last one).
  const MultipathAttribute* find(std::string_view keyword) const;
};

struct MultipathConf {
  std::vector<MultipathSection> sections;  // top level: defaults, devices, overrides, ...
};

struct MultipathConfResult {
  MultipathConf conf;
  Diagnostics diagnostics;
  bool found = true;  // false: no file (multipathd then runs on its built-in values)
};

// Parses the syntax of multipath.conf(5): '#' and '!' start a comment outside double quotes,
// a value is one word or one "quoted string" ("" for a quote), '{' follows the section name
// on its line, '}' closes it. Values of the timing keywords are checked (an error with the
// line); unknown top-level sections are warnings, as multipathd ignores them.
MultipathConfResult parse_multipath_conf(std::string_view text);
MultipathConfResult load_multipath_conf(const std::filesystem::path& path);

enum class NoPathRetry { fail, queue, count };
enum class FastIoFail { off, zero, seconds };

// Where a resolved value came from: "overrides", "device", "defaults" or "built-in", and
// the line (0 for built-in).
struct SettingSource {
  std::string section = "built-in";
  int line = 0;
  std::string describe() const;  // "multipath.conf line 12 (device)" or "multipathd default"
};

// The settings multipathd would apply to a path of the given vendor and product, with the
// precedence of multipath-tools 0.9: overrides, then the matching device entries (a later
// entry wins), then defaults, then the built-in values.
struct MultipathSettings {
  std::uint32_t polling_interval = 5;
  SettingSource polling_interval_from;
  NoPathRetry no_path_retry = NoPathRetry::fail;
  std::uint32_t no_path_retry_count = 0;  // when count
  SettingSource no_path_retry_from;
  FastIoFail fast_io_fail = FastIoFail::seconds;
  std::uint32_t fast_io_fail_tmo = 5;  // when seconds
  SettingSource fast_io_fail_from;
  std::optional<std::uint32_t> dev_loss_tmo;  // unset: left to the transport; UINT32_MAX: infinity
  SettingSource dev_loss_from;
  bool device_entry_found = false;  // a devices/device entry matched the vendor and product
  int device_entry_line = 0;        // the last one that matched
};

// Diagnostics go to `out` (bad regular expressions, device entries without vendor/product).
MultipathSettings resolve_multipath_settings(const MultipathConf& conf, std::string_view vendor,
                                             std::string_view product, Diagnostics& out);

}  // namespace sharedisk::ocfs2
