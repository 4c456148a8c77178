// Log set-up: to stderr, with timestamps on a terminal; under systemd
// (JOURNAL_STREAM set) without timestamps and with a "<N>" syslog priority
// prefix per line, which journald turns into the entry's priority.
#pragma once

namespace sharedisk::daemon {

void setup_logging();

}  // namespace sharedisk::daemon
