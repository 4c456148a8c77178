// A thin layer over yaml-cpp that keeps, for every value, the dotted key path
// and the source line, so each check can throw a precise ConfigError.
//
// MapView rejects non-mapping nodes, duplicate keys and unknown keys (with a
// "did you mean" hint) as soon as it is built.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sharedisk::config::detail {

struct Field {
  std::string path;  // e.g. targets[0].luns[1].size
  YAML::Node node;
  int line = 0;  // 1-based line of the value (of its key when the value is empty)
};

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}
  const std::string& file() const { return file_; }
  [[noreturn]] void fail(int line, const std::string& key, const std::string& message) const;
  [[noreturn]] void fail(const Field& f, const std::string& message) const {
    fail(f.line, f.path, message);
  }

  // Typed reads of a scalar; each throws on a wrong shape or value.
  std::string text(const Field& f) const;
  uint64_t number(const Field& f, uint64_t min, uint64_t max) const;
  bool flag(const Field& f) const;
  uint64_t size(const Field& f) const;
  // A YAML sequence; items carry path[i] and their own line.
  std::vector<Field> list(const Field& f) const;

 private:
  std::string file_;
};

class MapView {
 public:
  MapView(const Reader& reader, const Field& map, std::vector<std::string_view> allowed);
  std::optional<Field> get(std::string_view key) const;
  Field require(std::string_view key) const;
  const Field& self() const { return self_; }

 private:
  const Reader& reader_;
  Field self_;
  std::vector<std::pair<std::string, Field>> entries_;
};

int line_of(const YAML::Node& node);  // 1-based, 0 when unknown
std::string join_path(const std::string& parent, std::string_view key);

}  // namespace sharedisk::config::detail
