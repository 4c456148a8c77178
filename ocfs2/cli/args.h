// Command-line parsing for sharedisk-ocfs2: positional arguments and --options (with a value
// as "--opt VALUE" or "--opt=VALUE"), checked against what each command accepts.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace sharedisk::ocfs2::cli {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Args {
 public:
  // `with_value` and `flags` list the options this command accepts (without "--").
  Args(const std::vector<std::string>& argv, const std::set<std::string>& with_value,
       const std::set<std::string>& flags);

  const std::vector<std::string>& positional() const { return positional_; }
  void expect_positional(std::size_t min, std::size_t max, const char* usage) const;
  std::optional<std::string> get(const std::string& name) const;
  std::vector<std::string> all(const std::string& name) const;
  bool flag(const std::string& name) const { return flags_.count(name) > 0; }
  std::optional<std::uint32_t> number(const std::string& name) const;

 private:
  std::vector<std::string> positional_;
  std::multimap<std::string, std::string> values_;
  std::set<std::string> flags_;
};

}  // namespace sharedisk::ocfs2::cli
