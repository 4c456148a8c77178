// The hostile-input catalogue: each case opens its own connection to the
// target, does one bad thing (before login, during login, or in a logged-in
// session) and reports what the target answered, as a short text:
//   "login 0xSSSS"            Login Response status (class << 8 | detail)
//   "reject 0xRR"             Reject PDU with that reason
//   "scsi 0xSS K/ASC/ASCQ"    SCSI Response status and sense (hex)
//   "tmf N", "nop-in", "r2t"  other answers
//   "closed"                  the target closed the connection, no answer
//   "silence"                 nothing within the wait, connection still open
// `expected` is what RFC 7143 / SPC-4 (and docs/security.md) say it must be.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace sharedisk::sectest {

struct Targets {
  std::string open;    // no auth; LUN 1 is a 64 MiB memory LUN
  std::string chap;    // auth: chap, user alice / alice-secret-123
  std::string mutual;  // auth: mutual
  std::string priv;    // access.initiators: [owner]
  std::string initiator;
};

struct Attack {
  std::string name;
  std::string expected;
  std::function<std::string(int port, const Targets&)> run;
};

std::vector<Attack> attack_cases();

}  // namespace sharedisk::sectest
