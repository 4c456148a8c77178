// CIDR networks and the access checks built on them.
//
// An IPv4 peer may reach us as a v4-mapped IPv6 address (::ffff:a.b.c.d) when
// the portal is an IPv6 wildcard socket; contains() treats both spellings as
// the same host so a "192.168.55.0/24" rule holds either way.
#include <arpa/inet.h>

#include <cstring>

#include "config/config.h"
#include "config/config_internal.h"
#include "util/ascii.h"

namespace sharedisk::config {
namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// Numeric address text to 16 bytes in IPv6 form (IPv4 becomes v4-mapped).
bool to_v6_bytes(std::string text, uint8_t out[16]) {
  if (!text.empty() && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  size_t zone = text.find('%');  // fe80::1%eth0
  if (zone != std::string::npos) text.resize(zone);
  uint8_t v4[4];
  if (inet_pton(AF_INET, text.c_str(), v4) == 1) {
    std::memcpy(out, kMappedPrefix, 12);
    std::memcpy(out + 12, v4, 4);
    return true;
  }
  return inet_pton(AF_INET6, text.c_str(), out) == 1;
}

bool prefix_matches(const uint8_t* a, const uint8_t* b, unsigned bits) {
  unsigned whole = bits / 8;
  if (std::memcmp(a, b, whole) != 0) return false;
  unsigned rest = bits % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

bool Network::contains(const std::string& address) const {
  uint8_t peer[16];
  if (!to_v6_bytes(address, peer)) return false;
  if (!v6) {
    if (std::memcmp(peer, kMappedPrefix, 12) != 0) return false;
    return prefix_matches(peer + 12, addr, prefix);
  }
  return prefix_matches(peer, addr, prefix);
}

std::string parse_network(const std::string& text, Network& out) {
  if (text.empty()) return "is empty";
  size_t slash = text.find('/');
  std::string host = text.substr(0, slash);
  Network n;
  n.text = text;
  unsigned max_prefix;
  if (inet_pton(AF_INET, host.c_str(), n.addr) == 1) {
    n.v6 = false;
    max_prefix = 32;
  } else if (inet_pton(AF_INET6, host.c_str(), n.addr) == 1) {
    n.v6 = true;
    max_prefix = 128;
  } else {
    return "'" + host + "' is not a numeric IPv4 or IPv6 address";
  }
  uint64_t len = max_prefix;
  if (slash != std::string::npos) {
    std::string len_text = text.substr(slash + 1);
    if (!detail::parse_uint(len_text, len).empty() || len > max_prefix)
      return "prefix length '" + len_text + "' must be 0.." + std::to_string(max_prefix);
  }
  n.prefix = static_cast<uint8_t>(len);

  // Host bits set usually means a typo in the address or the length; refuse it
  // rather than guess which one was meant.
  uint8_t masked[16] = {};
  unsigned bytes = max_prefix / 8;
  for (unsigned i = 0; i < bytes; ++i) {
    unsigned bit = i * 8;
    uint8_t mask = bit + 8 <= len ? 0xff
                   : bit >= len   ? 0
                                  : static_cast<uint8_t>(0xff << (8 - (len - bit)));
    masked[i] = n.addr[i] & mask;
  }
  if (std::memcmp(masked, n.addr, bytes) != 0) {
    char canon[INET6_ADDRSTRLEN];
    inet_ntop(n.v6 ? AF_INET6 : AF_INET, masked, canon, sizeof canon);
    return "'" + text + "' has host bits set; the network is " + canon + "/" + std::to_string(len);
  }
  out = n;
  return {};
}

bool Target::allows(const std::string& initiator_name, const std::string& address) const {
  if (!allowed_initiators.empty()) {
    bool found = false;
    for (const auto& name : allowed_initiators) {
      if (util::iequal(name, initiator_name)) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  if (!allowed_networks.empty()) {
    for (const auto& net : allowed_networks)
      if (net.contains(address)) return true;
    return false;
  }
  return true;
}

}  // namespace sharedisk::config
