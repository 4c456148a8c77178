// ConfigError: "file:line: key: message", with the line or key left out when unknown.
#include "config/config.h"

namespace sharedisk::config {
namespace {

std::string format(const std::string& file, int line, const std::string& key,
                   const std::string& message) {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!key.empty()) out += key + ": ";
  return out + message;
}

}  // namespace

ConfigError::ConfigError(std::string file, int line, std::string key, std::string message)
    : std::runtime_error(format(file, line, key, message)),
      file_(std::move(file)),
      line_(line),
      key_(std::move(key)),
      message_(std::move(message)) {}

const char* to_string(BackingType type) {
  switch (type) {
    case BackingType::kFile:
      return "file";
    case BackingType::kBlock:
      return "block";
    case BackingType::kMemory:
      return "memory";
    case BackingType::kRbd:
      return "rbd";
  }
  return "?";
}

const char* to_string(Thin thin) {
  switch (thin) {
    case Thin::kAuto:
      return "auto";
    case Thin::kOn:
      return "on";
    case Thin::kOff:
      return "off";
  }
  return "?";
}

}  // namespace sharedisk::config
