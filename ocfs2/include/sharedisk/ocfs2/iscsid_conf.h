// /etc/iscsi/iscsid.conf (and the node records open-iscsi writes under /etc/iscsi/nodes/,
// which use the same "name = value" lines): the initiator timeouts that decide how long a
// dead iSCSI path stalls I/O before it is failed to the layer above.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "sharedisk/ocfs2/diagnostic.h"

namespace sharedisk::ocfs2 {

inline constexpr const char* kDefaultIscsidConfPath = "/etc/iscsi/iscsid.conf";

// open-iscsi's built-in values are used for keys the file does not set; *_line is the line
// that set the value (0: the built-in default).
struct IscsidTimeouts {
  std::uint32_t replacement_timeout = 120;  // node.session.timeo.replacement_timeout
  std::uint32_t noop_out_interval = 5;      // node.conn[0].timeo.noop_out_interval
  std::uint32_t noop_out_timeout = 5;       // node.conn[0].timeo.noop_out_timeout
  int replacement_timeout_line = 0;
  int noop_out_interval_line = 0;
  int noop_out_timeout_line = 0;
};

struct IscsidConfResult {
  IscsidTimeouts values;
  Diagnostics diagnostics;
  bool found = true;  // false: the file does not exist (built-in defaults)
};

// Reads the lines as iscsid's idbm does: '#' starts a comment line, "name = value" with
// optional blanks around '=', the last setting of a name wins. A line that is not
// "name = value" is a warning; a timeout that is not a whole number is an error.
IscsidConfResult parse_iscsid_conf(std::string_view text);
// A missing file gives the built-in values, found = false and an info diagnostic.
IscsidConfResult load_iscsid_conf(const std::filesystem::path& path);

}  // namespace sharedisk::ocfs2
