// Endpoint text form: "a.b.c.d[:port]" and "[v6][:port]", numeric only.
#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "config/config.h"
#include "config/config_internal.h"

namespace sharedisk::config {

std::string Endpoint::to_string() const {
  if (address.find(':') != std::string::npos) return "[" + address + "]:" + std::to_string(port);
  return address + ":" + std::to_string(port);
}

std::string parse_endpoint(const std::string& text, uint16_t default_port, Endpoint& out) {
  if (text.empty()) return "is empty";
  std::string host;
  std::string port_text;
  bool bracketed = text[0] == '[';
  if (bracketed) {
    size_t close = text.find(']');
    if (close == std::string::npos) return "'" + text + "': missing ']' after the IPv6 address";
    host = text.substr(1, close - 1);
    std::string tail = text.substr(close + 1);
    if (!tail.empty()) {
      if (tail[0] != ':') return "'" + text + "': expected ':port' after ']'";
      port_text = tail.substr(1);
      if (port_text.empty()) return "'" + text + "': empty port after ':'";
    }
  } else {
    size_t colons = std::count(text.begin(), text.end(), ':');
    if (colons > 1)
      return "'" + text + "': write IPv6 addresses in brackets, e.g. [" + text + "]:3260";
    size_t colon = text.find(':');
    host = text.substr(0, colon);
    if (colon != std::string::npos) {
      port_text = text.substr(colon + 1);
      if (port_text.empty()) return "'" + text + "': empty port after ':'";
    }
  }

  unsigned char raw[16];
  char canon[INET6_ADDRSTRLEN];
  if (bracketed) {
    if (inet_pton(AF_INET6, host.c_str(), raw) != 1)
      return "'" + host + "' is not a numeric IPv6 address";
    inet_ntop(AF_INET6, raw, canon, sizeof canon);
  } else {
    if (inet_pton(AF_INET, host.c_str(), raw) != 1)
      return "'" + host + "' is not a numeric IPv4 address (host names are not resolved)";
    inet_ntop(AF_INET, raw, canon, sizeof canon);
  }

  uint64_t port = default_port;
  if (!port_text.empty()) {
    if (!detail::parse_uint(port_text, port).empty())
      return "port '" + port_text + "' is not a number";
    if (port < 1 || port > 65535) return "port must be between 1 and 65535 (got " + port_text + ")";
  } else if (default_port == 0) {
    return "'" + text + "': a port is required, e.g. " +
           (bracketed ? "[" + host + "]:9100" : host + ":9100");
  }
  out.address = canon;
  out.port = static_cast<uint16_t>(port);
  return {};
}

}  // namespace sharedisk::config
