// iSCSI text key=value data (RFC 7143 §6): parsing and building the
// NUL-separated "key=value" lists carried by Login and Text PDUs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sharedisk::iscsi {

struct KeyValue {
  std::string key;
  std::string value;
};

constexpr size_t kMaxKeyName = 63;
constexpr size_t kMaxValue = 8192;

// Parses `len` bytes of text data. A trailing pair without its NUL is accepted
// (only when `final`; otherwise it is an error the caller avoids by buffering
// continued PDUs). Returns false with `error` set on malformed data: a pair
// without '=', an empty or too long key, a too long value, a repeated key.
bool parse_text(const uint8_t* data, size_t len, std::vector<KeyValue>* out, std::string* error);

// Appends "key=value\0".
void append_key(std::string& out, std::string_view key, std::string_view value);

// Value helpers: RFC 7143 numbers (decimal, 0x hex), booleans, lists.
bool parse_number(std::string_view text, uint64_t* value);
bool parse_bool(std::string_view text, bool* value);              // "Yes" / "No"
std::vector<std::string_view> split_list(std::string_view text);  // "a,b,c"

}  // namespace sharedisk::iscsi
