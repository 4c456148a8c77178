// What /proc says about a process the test started: its resident set and its
// open descriptors, for checks that a long run leaks neither.
#pragma once

#include <sys/types.h>

namespace sharedisk::test_support {

// VmRSS in KiB, or -1 when the process (or the field) is not there.
long rss_kib(pid_t pid);

// Entries in /proc/<pid>/fd, or -1 when it cannot be listed.
int fd_count(pid_t pid);

}  // namespace sharedisk::test_support
