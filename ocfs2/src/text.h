// Text helpers shared by the readers of configuration files.
#pragma once

#include <algorithm>
#include <cctype>
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

// `s` with ASCII letters in lower case (key and mode names are compared without case).
inline std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace sharedisk::ocfs2
