// Scalar text parsers (numbers, sizes, booleans) and the "did you mean" helper.
#include <algorithm>
#include <cctype>
#include <limits>

#include "config/config_internal.h"
#include "util/ascii.h"

namespace sharedisk::config::detail {

std::string parse_uint(std::string_view text, uint64_t& out) {
  if (text.empty()) return "is empty";
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return "'" + std::string(text) + "' is not a whole number";
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10)
      return "'" + std::string(text) + "' is too large";
    v = v * 10 + d;
  }
  out = v;
  return {};
}

std::string parse_size(std::string_view text, uint64_t& out) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) return "'" + std::string(text) + "' is not a size (e.g. 4096, 512M, 1G, 2TiB)";
  uint64_t base;
  if (auto err = parse_uint(text.substr(0, digits), base); !err.empty()) return err;
  std::string_view suffix = text.substr(digits);
  while (!suffix.empty() && suffix.front() == ' ') suffix.remove_prefix(1);
  unsigned shift = 0;
  if (!suffix.empty()) {
    static constexpr std::string_view kUnits = "KMGT";
    size_t unit = kUnits.find(suffix.front());
    bool ok = unit != std::string_view::npos && (suffix.size() == 1 || suffix.substr(1) == "iB");
    if (!ok)
      return "unknown size suffix '" + std::string(suffix) +
             "' (use K, M, G, T or KiB, MiB, GiB, TiB; all are powers of 1024)";
    shift = 10 * static_cast<unsigned>(unit + 1);
  }
  // Sizes become off_t offsets later, so the ceiling is INT64_MAX, not UINT64_MAX.
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (base > (kMax >> shift)) return "'" + std::string(text) + "' is too large";
  out = base << shift;
  return {};
}

std::string parse_bool(std::string_view text, bool& out) {
  const std::string lower = util::to_lower(std::string(text));
  if (lower == "true" || lower == "yes" || lower == "on") {
    out = true;
    return {};
  }
  if (lower == "false" || lower == "no" || lower == "off") {
    out = false;
    return {};
  }
  return "must be true or false (got '" + std::string(text) + "')";
}

bool printable_ascii(const std::string& s, char lowest) {
  for (unsigned char c : s)
    if (c < static_cast<unsigned char>(lowest) || c > 0x7e) return false;
  return true;
}

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xe ? 2 : (c >> 3) == 0x1e ? 3 : 9;
    if (n == 9 || i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    i += n + 1;
  }
  return true;
}

// Optimal string alignment distance: Levenshtein plus adjacent transpositions,
// the most common typing slip ("paht" -> "path" is one edit).
size_t edit_distance(std::string_view a, std::string_view b) {
  const size_t w = b.size() + 1;
  std::vector<size_t> d((a.size() + 1) * w);
  for (size_t i = 0; i <= a.size(); ++i) d[i * w] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      size_t v =
          std::min({d[(i - 1) * w + j] + 1, d[i * w + j - 1] + 1, d[(i - 1) * w + j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        v = std::min(v, d[(i - 2) * w + j - 2] + 1);
      d[i * w + j] = v;
    }
  }
  return d[a.size() * w + b.size()];
}

std::string closest(std::string_view key, const std::vector<std::string_view>& candidates) {
  // Up to a third of the key may differ ("blocksize" -> "block_size", "iqm" -> "iqn").
  size_t limit = std::max<size_t>(1, key.size() / 3);
  std::string best;
  size_t best_distance = limit + 1;
  for (auto c : candidates) {
    size_t d = edit_distance(key, c);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(c);
    }
  }
  return best;
}

}  // namespace sharedisk::config::detail
