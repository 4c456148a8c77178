#include "job_file.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <set>

namespace sharedisk::bench {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

[[noreturn]] void fail(std::string_view key, std::string_view value, std::string_view why) {
  throw JobFileError(std::string(key) + "=" + std::string(value) + ": " + std::string(why));
}

// Splits "12.5k" into 12.5 and "k".
std::pair<double, std::string> number_and_unit(std::string_view key, std::string_view value) {
  value = trim(value);
  size_t i = 0;
  while (i < value.size() &&
         (std::isdigit(static_cast<unsigned char>(value[i])) || value[i] == '.'))
    ++i;
  if (i == 0) fail(key, value, "expected a number");
  double number = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + i, number);
  if (ec != std::errc() || ptr != value.data() + i) fail(key, value, "expected a number");
  return {number, lower(trim(value.substr(i)))};
}

unsigned parse_uint(std::string_view key, std::string_view value, unsigned lo, unsigned hi) {
  value = trim(value);
  unsigned v = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || ptr != value.data() + value.size())
    fail(key, value, "expected an integer");
  if (v < lo || v > hi) {
    fail(key, value, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  }
  return v;
}

bool parse_bool(std::string_view key, std::string_view value) {
  const std::string v = lower(trim(value));
  if (v.empty() || v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  fail(key, value, "expected a boolean");
}

// A size, or a percentage when `percent` is given and the value ends in '%'.
void parse_size_or_percent(std::string_view key, std::string_view value, uint64_t& bytes,
                           unsigned& percent) {
  std::string_view v = trim(value);
  if (!v.empty() && v.back() == '%') {
    percent = parse_uint(key, v.substr(0, v.size() - 1), 1, 100);
    bytes = 0;
  } else {
    bytes = parse_size(key, v);
    percent = 0;
  }
}

Pattern parse_pattern(std::string_view key, std::string_view value,
                      std::vector<std::string>& warnings) {
  std::string v = lower(trim(value));
  if (auto colon = v.find(':'); colon != std::string::npos) {
    warnings.push_back(std::string(key) + "=" + std::string(value) +
                       ": the ':N' offset modifier is ignored");
    v.resize(colon);
  }
  if (v == "read") return Pattern::kRead;
  if (v == "write") return Pattern::kWrite;
  if (v == "randread") return Pattern::kRandRead;
  if (v == "randwrite") return Pattern::kRandWrite;
  if (v == "randrw") return Pattern::kRandRw;
  if (v == "rw" || v == "readwrite") return Pattern::kSeqRw;
  fail(key, value, "supported: read, write, randread, randwrite, randrw, rw");
}

// Options only real fio acts on; accepted so the same job files run with both.
const std::set<std::string, std::less<>> kIgnoredOptions = {
    "ioengine",
    "direct",
    "buffered",
    "thread",
    "norandommap",
    "randrepeat",
    "invalidate",
    "description",
    "iodepth_batch",
    "iodepth_low",
    "iodepth_batch_submit",
    "iodepth_batch_complete_min",
    "iodepth_batch_complete_max",
    "exitall",
    "refill_buffers",
    "lat_percentiles",
    "clat_percentiles",
    "disable_slat",
    "gtod_reduce",
    "kb_base",
    "unit_base",
    "allow_file_create",
    "create_on_open",
    "do_verify",
};

void apply_option(JobSpec& job, const std::string& key, const std::string& value,
                  std::vector<std::string>& warnings) {
  if (key == "name") {
    job.name = value;
  } else if (key == "rw" || key == "readwrite") {
    job.rw = parse_pattern(key, value, warnings);
  } else if (key == "rwmixread") {
    job.rwmixread = parse_uint(key, value, 0, 100);
  } else if (key == "rwmixwrite") {
    job.rwmixread = 100 - parse_uint(key, value, 0, 100);
  } else if (key == "bs" || key == "blocksize") {
    std::string_view v = value;
    if (auto comma = v.find(','); comma != std::string_view::npos) {
      warnings.push_back(key + "=" + value + ": per-direction sizes not supported, using " +
                         std::string(v.substr(0, comma)) + " for all");
      v = v.substr(0, comma);
    }
    job.bs = parse_size(key, v);
    if (job.bs == 0 || job.bs > (64u << 20)) fail(key, value, "must be 1 byte .. 64 MiB");
  } else if (key == "iodepth") {
    job.iodepth = parse_uint(key, value, 1, 4096);
  } else if (key == "numjobs") {
    job.numjobs = parse_uint(key, value, 1, 1024);
  } else if (key == "runtime" || key == "timeout") {
    job.runtime_ns = parse_duration_ns(key, value);
  } else if (key == "time_based") {
    job.time_based = parse_bool(key, value);
  } else if (key == "size") {
    parse_size_or_percent(key, value, job.size, job.size_percent);
  } else if (key == "offset") {
    parse_size_or_percent(key, value, job.offset, job.offset_percent);
  } else if (key == "offset_increment") {
    job.offset_increment = parse_size(key, value);
  } else if (key == "io_size" || key == "io_limit") {
    job.io_size = parse_size(key, value);
  } else if (key == "ramp_time") {
    job.ramp_ns = parse_duration_ns(key, value);
  } else if (key == "verify") {
    const std::string v = lower(trim(value));
    if (v == "crc32c" || v == "crc32c-intel") {
      job.verify = true;
    } else if (v == "0" || v == "none") {
      job.verify = false;
    } else {
      fail(key, value, "only verify=crc32c is supported");
    }
  } else if (key == "filename") {
    job.filename = std::string(trim(value));
  } else if (key == "group_reporting") {
    job.group_reporting = parse_bool(key, value);
  } else if (key == "randseed") {
    job.randseed = parse_size(key, value);
  } else if (key == "stonewall" || key == "wait_for_previous" || key == "new_group") {
    warnings.push_back(key + ": jobs of one file always run concurrently here");
  } else if (kIgnoredOptions.count(key) == 0) {
    warnings.push_back("unknown option '" + key + "' ignored");
  }
}

std::string expand_env(std::string_view line, const EnvLookup& env,
                       std::vector<std::string>& warnings) {
  std::string out;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '$' && i + 1 < line.size() && line[i + 1] == '{') {
      const size_t end = line.find('}', i + 2);
      if (end != std::string_view::npos) {
        const std::string name(line.substr(i + 2, end - i - 2));
        const char* value = env ? env(name.c_str()) : nullptr;
        if (value == nullptr) warnings.push_back("environment variable " + name + " is not set");
        out += value ? value : "";
        i = end;
        continue;
      }
    }
    out += line[i];
  }
  return out;
}

}  // namespace

bool is_random(Pattern p) {
  return p == Pattern::kRandRead || p == Pattern::kRandWrite || p == Pattern::kRandRw;
}
bool does_reads(Pattern p) {
  return p == Pattern::kRead || p == Pattern::kRandRead || p == Pattern::kRandRw ||
         p == Pattern::kSeqRw;
}
bool does_writes(Pattern p) {
  return p == Pattern::kWrite || p == Pattern::kRandWrite || p == Pattern::kRandRw ||
         p == Pattern::kSeqRw;
}
const char* pattern_name(Pattern p) {
  switch (p) {
    case Pattern::kRead:
      return "read";
    case Pattern::kWrite:
      return "write";
    case Pattern::kRandRead:
      return "randread";
    case Pattern::kRandWrite:
      return "randwrite";
    case Pattern::kRandRw:
      return "randrw";
    case Pattern::kSeqRw:
      return "rw";
  }
  return "?";
}

uint64_t parse_size(std::string_view key, std::string_view value) {
  auto [number, unit] = number_and_unit(key, value);
  double scale = 1;
  if (unit.empty() || unit == "b") {
    scale = 1;
  } else if (unit == "k" || unit == "kb" || unit == "kib") {
    scale = 1024.0;
  } else if (unit == "m" || unit == "mb" || unit == "mib") {
    scale = 1024.0 * 1024;
  } else if (unit == "g" || unit == "gb" || unit == "gib") {
    scale = 1024.0 * 1024 * 1024;
  } else if (unit == "t" || unit == "tb" || unit == "tib") {
    scale = 1024.0 * 1024 * 1024 * 1024;
  } else {
    fail(key, value, "unknown size unit '" + unit + "'");
  }
  const double bytes = number * scale;
  if (bytes >= 18e18) fail(key, value, "too large");
  return static_cast<uint64_t>(std::llround(bytes));
}

uint64_t parse_duration_ns(std::string_view key, std::string_view value) {
  auto [number, unit] = number_and_unit(key, value);
  double scale = 1e9;
  if (unit.empty() || unit == "s" || unit == "sec") {
    scale = 1e9;
  } else if (unit == "us" || unit == "usec") {
    scale = 1e3;
  } else if (unit == "ms" || unit == "msec") {
    scale = 1e6;
  } else if (unit == "m" || unit == "min") {
    scale = 60e9;
  } else if (unit == "h") {
    scale = 3600e9;
  } else if (unit == "d") {
    scale = 86400e9;
  } else {
    fail(key, value, "unknown time unit '" + unit + "'");
  }
  const double ns = number * scale;
  if (ns >= 9e18) fail(key, value, "too long");
  return static_cast<uint64_t>(std::llround(ns));
}

JobFile parse_job_file(std::string_view text, const std::vector<Option>& overrides,
                       const EnvLookup& env) {
  JobFile file;
  std::vector<Option> globals;
  struct Section {
    std::string name;
    std::vector<Option> options;  // the [global] ones first, then the section's own
    size_t own_from = 0;
  };
  std::vector<Section> sections;
  bool in_global = false;
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    const std::string line = expand_env(trim(raw), env, file.warnings);
    std::string_view l = trim(line);
    if (l.empty() || l.front() == ';' || l.front() == '#') continue;
    if (l.front() == '[') {
      if (l.back() != ']' || l.size() < 3) {
        throw JobFileError("line " + std::to_string(line_no) + ": bad section header");
      }
      const std::string name(trim(l.substr(1, l.size() - 2)));
      in_global = name == "global";
      if (!in_global) sections.push_back({name, globals, globals.size()});
      continue;
    }
    const size_t eq = l.find('=');
    Option opt{lower(trim(l.substr(0, eq))),
               eq == std::string_view::npos ? std::string() : std::string(trim(l.substr(eq + 1)))};
    if (opt.first.empty()) throw JobFileError("line " + std::to_string(line_no) + ": no key");
    if (in_global) {
      globals.push_back(opt);
      file.global_options.push_back(opt);
    } else if (!sections.empty()) {
      sections.back().options.push_back(std::move(opt));
    } else {
      throw JobFileError("line " + std::to_string(line_no) + ": option outside any section");
    }
  }
  if (sections.empty()) throw JobFileError("no job sections defined");
  for (auto& section : sections) {
    JobSpec job;
    job.name = section.name;
    for (const auto& o : overrides) section.options.push_back(o);
    for (size_t i = 0; i < section.options.size(); ++i) {
      const auto& [key, value] = section.options[i];
      apply_option(job, key, value, file.warnings);
      // "job options" are the section's own and the command line's, as fio lists them
      // ([global] ones go to "global options"); a later setting of a key replaces it.
      if (i < section.own_from) continue;
      auto same = [&](const Option& o) { return o.first == key; };
      std::erase_if(job.options, same);
      job.options.emplace_back(key, value);
    }
    if (job.time_based && job.runtime_ns == 0) {
      throw JobFileError("job " + job.name + ": time_based needs a runtime");
    }
    file.jobs.push_back(std::move(job));
  }
  // The same warning repeats once per job when it comes from [global]: keep one.
  std::vector<std::string> unique;
  for (auto& w : file.warnings) {
    if (std::find(unique.begin(), unique.end(), w) == unique.end()) unique.push_back(w);
  }
  file.warnings = std::move(unique);
  return file;
}

}  // namespace sharedisk::bench
