#include "config/yaml_view.h"

#include "config/config.h"
#include "config/config_internal.h"

namespace sharedisk::config::detail {
namespace {

const char* shape(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
      return "empty";
    default:
      return "a single value";
  }
}

}  // namespace

int line_of(const YAML::Node& node) {
  YAML::Mark m = node.Mark();
  return m.line >= 0 ? m.line + 1 : 0;
}

std::string join_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

void Reader::fail(int line, const std::string& key, const std::string& message) const {
  throw ConfigError(file_, line, key, message);
}

std::string Reader::text(const Field& f) const {
  if (f.node.IsNull()) fail(f, "needs a value");
  if (!f.node.IsScalar()) fail(f, std::string("must be a single value, not ") + shape(f.node));
  return f.node.Scalar();
}

uint64_t Reader::number(const Field& f, uint64_t min, uint64_t max) const {
  std::string t = text(f);
  uint64_t v = 0;
  if (auto err = parse_uint(t, v); !err.empty()) fail(f, err);
  if (v < min || v > max)
    fail(f, "must be between " + std::to_string(min) + " and " + std::to_string(max) + " (got " +
                t + ")");
  return v;
}

bool Reader::flag(const Field& f) const {
  bool v = false;
  if (auto err = parse_bool(text(f), v); !err.empty()) fail(f, err);
  return v;
}

uint64_t Reader::size(const Field& f) const {
  uint64_t v = 0;
  if (auto err = parse_size(text(f), v); !err.empty()) fail(f, err);
  return v;
}

std::vector<Field> Reader::list(const Field& f) const {
  if (!f.node.IsSequence())
    fail(f, std::string("must be a list (\"- item\" lines or [a, b]), not ") + shape(f.node));
  std::vector<Field> out;
  for (size_t i = 0; i < f.node.size(); ++i) {
    YAML::Node item = f.node[i];
    int line = item.IsNull() ? f.line : line_of(item);
    out.push_back({f.path + "[" + std::to_string(i) + "]", item, line ? line : f.line});
  }
  return out;
}

MapView::MapView(const Reader& reader, const Field& map, std::vector<std::string_view> allowed)
    : reader_(reader), self_(map) {
  if (!map.node.IsMap())
    reader.fail(map, std::string("must be a mapping of keys, not ") + shape(map.node));
  for (YAML::const_iterator it = map.node.begin(); it != map.node.end(); ++it) {
    // Copies, not references: the iterator hands out a temporary pair.
    YAML::detail::iterator_value kv = *it;
    YAML::Node k = kv.first;
    int key_line = line_of(k);
    if (!k.IsScalar()) reader.fail(key_line, map.path, "keys must be plain words");
    std::string key = k.Scalar();
    std::string path = join_path(map.path, key);
    bool known = false;
    for (auto a : allowed) known = known || a == key;
    if (!known) {
      std::string hint = closest(key, allowed);
      std::string message = "unknown key '" + key + "'";
      if (!hint.empty()) {
        message += " (did you mean '" + hint + "'?)";
      } else {
        message += " (valid keys:";
        for (size_t i = 0; i < allowed.size(); ++i)
          message += (i ? ", " : " ") + std::string(allowed[i]);
        message += ")";
      }
      reader.fail(key_line, path, message);
    }
    for (const auto& e : entries_)
      if (e.first == key)
        reader.fail(key_line, path,
                    "duplicate key (first given on line " + std::to_string(e.second.line) + ")");
    YAML::Node v = kv.second;
    int value_line = v.IsNull() || line_of(v) == 0 ? key_line : line_of(v);
    entries_.push_back({key, Field{path, v, value_line}});
  }
}

std::optional<Field> MapView::get(std::string_view key) const {
  for (const auto& e : entries_)
    if (e.first == key) return e.second;
  return std::nullopt;
}

Field MapView::require(std::string_view key) const {
  auto f = get(key);
  if (!f) reader_.fail(self_.line, join_path(self_.path, key), "is required");
  return *f;
}

}  // namespace sharedisk::config::detail
