// A minimal streaming JSON writer for `status --json` (objects, arrays,
// strings with escaping, numbers, booleans); commas are placed automatically.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sharedisk::daemon {

class JsonWriter {
 public:
  JsonWriter& begin_object(const char* key = nullptr) { return open(key, '{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array(const char* key = nullptr) { return open(key, '['); }
  JsonWriter& end_array() { return close(']'); }
  JsonWriter& value(const char* key, const std::string& v);
  JsonWriter& value(const char* key, const char* v) { return value(key, std::string(v)); }
  JsonWriter& value(const char* key, uint64_t v);
  JsonWriter& value(const char* key, bool v);
  JsonWriter& value(const std::string& v) { return value(nullptr, v); }
  const std::string& str() const { return out_; }

  static std::string quote(const std::string& s);

 private:
  JsonWriter& open(const char* key, char c);
  JsonWriter& close(char c);
  void prefix(const char* key);
  std::string out_;
  std::vector<bool> first_;  // per open container: no element yet
};

}  // namespace sharedisk::daemon
