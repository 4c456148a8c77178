// fio job files: the subset sharedisk-bench runs.
//
// Contract: parse_job_file() reads fio's INI dialect ([global] and job
// sections, key=value or bare boolean keys, ';' and '#' comments, ${VAR}
// expanded from the environment) and returns one JobSpec per job section with
// the [global] options that preceded it applied first, then the section's own,
// then `overrides` (command-line options, which win). Values use fio's units:
// sizes with k/m/g/t suffixes (base 1024) or a percentage of the device for
// size/offset, times in seconds unless suffixed (us, ms, s, m, h). Options that
// only matter to real fio (ioengine, direct, ...) are accepted silently; any
// other unknown option becomes a warning. Invalid values throw JobFileError.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sharedisk::bench {

class JobFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Pattern { kRead, kWrite, kRandRead, kRandWrite, kRandRw, kSeqRw };

bool is_random(Pattern p);
bool does_reads(Pattern p);
bool does_writes(Pattern p);
const char* pattern_name(Pattern p);

using Option = std::pair<std::string, std::string>;  // key, value ("" for bare keys)

struct JobSpec {
  std::string name;
  Pattern rw = Pattern::kRead;
  unsigned rwmixread = 50;  // percent of reads for kRandRw / kSeqRw
  uint64_t bs = 4096;
  unsigned iodepth = 1;
  unsigned numjobs = 1;
  uint64_t runtime_ns = 0;  // 0: not limited by time
  bool time_based = false;  // keep going over the region until runtime
  uint64_t size = 0;        // region length in bytes; 0 with size_percent 0: to end of device
  unsigned size_percent = 0;
  uint64_t offset = 0;  // region start in bytes
  unsigned offset_percent = 0;
  uint64_t offset_increment = 0;  // job clone i starts at offset + i * offset_increment
  uint64_t io_size = 0;           // bytes to transfer; 0: one pass over the region
  uint64_t ramp_ns = 0;           // run this long before statistics start
  bool verify = false;            // verify=crc32c
  bool group_reporting = false;
  uint64_t randseed = 0x5eed;
  std::string filename;
  std::vector<Option> options;  // the section's own and the command line's, for "job options"
};

struct JobFile {
  std::vector<Option> global_options;  // as written in [global] sections
  std::vector<JobSpec> jobs;
  std::vector<std::string> warnings;
};

using EnvLookup = std::function<const char*(const char*)>;

JobFile parse_job_file(std::string_view text, const std::vector<Option>& overrides,
                       const EnvLookup& env);

// "4k" -> 4096; "1.5m" -> 1572864. Throws JobFileError naming `key`.
uint64_t parse_size(std::string_view key, std::string_view value);
// "10" -> 10 s, "500ms", "2m", "1h", in nanoseconds. Throws JobFileError.
uint64_t parse_duration_ns(std::string_view key, std::string_view value);

}  // namespace sharedisk::bench
