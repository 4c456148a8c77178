#include "iscsi/text_keys.h"

#include <charconv>

namespace sharedisk::iscsi {

bool parse_text(const uint8_t* data, size_t len, std::vector<KeyValue>* out, std::string* error) {
  std::string_view text(reinterpret_cast<const char*>(data), len);
  while (!text.empty()) {
    size_t end = text.find('\0');
    std::string_view pair = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (pair.empty()) continue;  // padding NULs
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      *error = "text pair without '=': " + std::string(pair.substr(0, 64));
      return false;
    }
    std::string_view key = pair.substr(0, eq);
    std::string_view value = pair.substr(eq + 1);
    if (key.empty() || key.size() > kMaxKeyName) {
      *error = "bad key name length: " + std::string(key.substr(0, 64));
      return false;
    }
    if (value.size() > kMaxValue) {
      *error = "value too long for key " + std::string(key);
      return false;
    }
    for (const KeyValue& kv : *out) {
      if (kv.key == key) {
        *error = "key repeated: " + std::string(key);
        return false;
      }
    }
    out->push_back({std::string(key), std::string(value)});
  }
  return true;
}

void append_key(std::string& out, std::string_view key, std::string_view value) {
  out.append(key);
  out.push_back('=');
  out.append(value);
  out.push_back('\0');
}

bool parse_number(std::string_view text, uint64_t* value) {
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
    base = 16;
  }
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *value, base);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool parse_bool(std::string_view text, bool* value) {
  if (text == "Yes") {
    *value = true;
    return true;
  }
  if (text == "No") {
    *value = false;
    return true;
  }
  return false;
}

std::vector<std::string_view> split_list(std::string_view text) {
  std::vector<std::string_view> items;
  while (true) {
    size_t comma = text.find(',');
    items.push_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return items;
}

}  // namespace sharedisk::iscsi
