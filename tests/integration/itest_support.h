// Shared bits of the integration tests: the lun.yaml preamble every test uses
// (its own admin socket, 127.0.0.1 on the chosen port) and start helpers.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "daemon_process.h"
#include "iscsi_client.h"

namespace sharedisk::itest {

// Top of a lun.yaml: logs at info, two event loops, a private admin socket
// and the single portal. Append `iscsi:` / `targets:` sections.
inline std::string preamble() {
  return "log_level: info\n"
         "threads: 2\n"
         "admin_socket: @DIR@/admin.sock\n"
         "portals: [127.0.0.1:@PORT@]\n";
}

#define START_DAEMON(daemon)                                    \
  do {                                                          \
    std::string start_error_;                                   \
    ASSERT_TRUE((daemon).start(&start_error_)) << start_error_; \
  } while (0)

#define OPEN_SESSION(var, daemon, iqn, lun, options)                                     \
  std::string var##_error_;                                                              \
  auto var = Session::open((daemon).portal(), (iqn), (lun), (options), &var##_error_);   \
  ASSERT_NE(var, nullptr) << "login to " << (iqn) << " failed: " << var##_error_ << "\n" \
                          << (daemon).output();                                          \
  ASSERT_TRUE(var->clear_unit_attentions())

}  // namespace sharedisk::itest
