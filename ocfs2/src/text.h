// Text helpers shared by the readers of configuration files.
#pragma once

#include <string>
#include <string_view>

namespace sharedisk::ocfs2 {

// `s` without the leading and trailing characters of `blanks`.
inline std::string trim(std::string_view s, std::string_view blanks = " \t") {
  const auto b = s.find_first_not_of(blanks);
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(blanks);
  return std::string(s.substr(b, e - b + 1));
}

}  // namespace sharedisk::ocfs2
