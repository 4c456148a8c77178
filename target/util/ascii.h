// Case folding for names that compare without regard to ASCII case: iSCSI
// names (RFC 7143 §4.2.7.1), lun.yaml words, tgt's and the secrets file's keys.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace sharedisk::util {

// `s` with ASCII letters in lower case.
inline std::string to_lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Are `a` and `b` the same but for ASCII case? No copy is made.
inline bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace sharedisk::util
