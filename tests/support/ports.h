// TCP on 127.0.0.1 for tests: never a fixed port, never another interface.
#pragma once

namespace sharedisk::test_support {

// A port on 127.0.0.1 that was free a moment ago (bind to port 0, close).
// Another process may take it before the caller binds: callers that start a
// server on it must be ready to retry. Throws when no socket can be bound.
int free_port();

// True when something accepts a TCP connection on 127.0.0.1:`port`.
bool can_connect(int port);

}  // namespace sharedisk::test_support
