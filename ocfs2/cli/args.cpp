#include "args.h"

namespace sharedisk::ocfs2::cli {

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& with_value,
           const std::set<std::string>& flags) {
  bool options_done = false;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (options_done || a.size() < 3 || a.rfind("--", 0) != 0) {
      if (a == "--") {
        options_done = true;
        continue;
      }
      if (!options_done && a.size() > 1 && a[0] == '-')
        throw UsageError("unknown option '" + a + "'");
      positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    if (with_value.count(name)) {
      if (!value) {
        if (i + 1 >= argv.size()) throw UsageError("option --" + name + " needs a value");
        value = argv[++i];
      }
      values_.emplace(name, *value);
    } else if (flags.count(name)) {
      if (value) throw UsageError("option --" + name + " takes no value");
      flags_.insert(name);
    } else {
      throw UsageError("unknown option '--" + name + "'");
    }
  }
}

void Args::expect_positional(std::size_t min, std::size_t max, const char* usage) const {
  if (positional_.size() < min || positional_.size() > max)
    throw UsageError(std::string("usage: sharedisk-ocfs2 ") + usage);
}

std::optional<std::string> Args::get(const std::string& name) const {
  auto range = values_.equal_range(name);
  if (range.first == range.second) return std::nullopt;
  return std::prev(range.second)->second;
}

std::vector<std::string> Args::all(const std::string& name) const {
  std::vector<std::string> out;
  for (auto [it, end] = values_.equal_range(name); it != end; ++it) out.push_back(it->second);
  return out;
}

std::optional<std::uint32_t> Args::number(const std::string& name) const {
  auto v = get(name);
  if (!v) return std::nullopt;
  if (v->empty() || v->size() > 9 || v->find_first_not_of("0123456789") != std::string::npos)
    throw UsageError("--" + name + " needs a whole number, not '" + *v + "'");
  return static_cast<std::uint32_t>(std::stoul(*v));
}

}  // namespace sharedisk::ocfs2::cli
