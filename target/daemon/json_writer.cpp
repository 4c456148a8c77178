#include "daemon/json_writer.h"

#include <cstdio>

namespace sharedisk::daemon {

std::string JsonWriter::quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  return out + "\"";
}

void JsonWriter::prefix(const char* key) {
  if (!first_.empty()) {
    if (!first_.back()) out_ += ',';
    first_.back() = false;
  }
  if (key != nullptr) out_ += quote(key) + ':';
}

JsonWriter& JsonWriter::open(const char* key, char c) {
  prefix(key);
  out_ += c;
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::close(char c) {
  out_ += c;
  first_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::value(const char* key, const std::string& v) {
  prefix(key);
  out_ += quote(v);
  return *this;
}

JsonWriter& JsonWriter::value(const char* key, uint64_t v) {
  prefix(key);
  out_ += std::to_string(v);
  return *this;
}

JsonWriter& JsonWriter::value(const char* key, bool v) {
  prefix(key);
  out_ += v ? "true" : "false";
  return *this;
}

}  // namespace sharedisk::daemon
