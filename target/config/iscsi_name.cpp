// check_iscsi_name(): RFC 3720 section 3.2.6 / RFC 7143 section 4.2.7 names.
//
// We accept the ASCII subset of what the stringprep profile (RFC 3722) allows
// after normalization: an "iqn." name is lowercase letters, digits, '-', '.'
// and ':'; "eui." and "naa." names are hex digits in either case, as in the
// RFC's own examples.
#include <cctype>
#include <cstdio>

#include "config/config.h"

namespace sharedisk::config {
namespace {

constexpr size_t kMaxNameBytes = 223;

std::string show_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7f) return std::string("'") + c + "'";
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", u);
  return buf;
}

bool all_hex(std::string_view s) {
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

bool is_digits(std::string_view s) {
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return !s.empty();
}

std::string check_iqn(const std::string& name) {
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c >= 'A' && c <= 'Z')
      return "must be lowercase (" + show_char(c) + " at offset " + std::to_string(i) + ")";
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == ':';
    if (!ok)
      return "character " + show_char(c) + " at offset " + std::to_string(i) +
             " is not allowed (use a-z, 0-9, '-', '.', ':')";
  }
  // iqn.yyyy-mm.reversed.domain[:anything]
  std::string_view rest(name);
  rest.remove_prefix(4);
  if (rest.size() < 8 || !is_digits(rest.substr(0, 4)) || rest[4] != '-' ||
      !is_digits(rest.substr(5, 2)) || rest[7] != '.')
    return "expected iqn.yyyy-mm.reversed.domain[:identifier], e.g. iqn.2019-02.lb2:odcfs2";
  int month = (rest[5] - '0') * 10 + (rest[6] - '0');
  if (month < 1 || month > 12)
    return "month " + std::string(rest.substr(5, 2)) + " in the date is not 01..12";
  rest.remove_prefix(8);
  size_t colon = rest.find(':');
  std::string_view authority = rest.substr(0, colon);
  if (authority.empty()) return "the naming authority (reversed domain name) is missing";
  size_t start = 0;
  while (true) {
    size_t dot = authority.find('.', start);
    std::string_view label =
        authority.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty())
      return "empty label in the naming authority '" + std::string(authority) + "'";
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (colon != std::string_view::npos && colon + 1 == rest.size())
    return "nothing after ':' (drop the ':' or add an identifier)";
  return {};
}

}  // namespace

std::string check_iscsi_name(const std::string& name) {
  if (name.empty()) return "is empty";
  if (name.size() > kMaxNameBytes)
    return "is " + std::to_string(name.size()) + " bytes long; iSCSI names are at most 223 bytes";
  std::string prefix;
  for (size_t i = 0; i < 4 && i < name.size(); ++i)
    prefix += static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
  if (prefix == "iqn." || prefix == "eui." || prefix == "naa.") {
    if (name.compare(0, 4, prefix) != 0) return "type prefix must be lowercase '" + prefix + "'";
  } else {
    return "must start with 'iqn.', 'eui.' or 'naa.'";
  }
  if (prefix == "iqn.") return check_iqn(name);
  std::string_view digits(name);
  digits.remove_prefix(4);
  if (!all_hex(digits)) return "'" + prefix + "' must be followed by hex digits only";
  if (prefix == "eui." && digits.size() != 16)
    return "'eui.' must be followed by exactly 16 hex digits (got " +
           std::to_string(digits.size()) + ")";
  if (prefix == "naa." && digits.size() != 16 && digits.size() != 32)
    return "'naa.' must be followed by 16 or 32 hex digits (got " + std::to_string(digits.size()) +
           ")";
  return {};
}

}  // namespace sharedisk::config
