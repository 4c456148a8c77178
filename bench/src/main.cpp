// sharedisk-bench: fio job files against iSCSI LUNs through libiscsi.
//
// Contract: runs the jobs of each job file given (or, with none, the job that
// the --name=... options on the command line describe, as fio does), every
// clone on its own session and thread, and prints fio's normal summary or
// --output-format=json or json+ (with clat_ns bins). Command-line job options (--runtime=5,
// --filename=...) override the file's. The filename falls back to $SHAREDISK_BENCH_DEV. Exit status
// is 0 only when every job ran without error. SIGINT stops all jobs (they drain and report); a
// second SIGINT kills the program.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <latch>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "job_file.h"
#include "job_runner.h"
#include "report.h"
#include "sharedisk/version.h"

namespace sharedisk::bench {
namespace {

std::atomic<bool> g_stop{false};

void on_sigint(int) {
  g_stop.store(true);
  signal(SIGINT, SIG_DFL);
}

struct Cli {
  std::string output_format = "normal";
  std::string output_file;
  int progress = -1;  // -1: when stderr is a TTY
  bool header_digest = false;
  std::string initiator;
  std::vector<std::string> job_files;
  std::vector<Option> options;  // --key=value job options, in order
};

constexpr const char* kFooter =
    "Any other --KEY=VALUE is a job option (rw, bs, iodepth, numjobs, runtime, time_based,\n"
    "size, offset, ramp_time, rwmixread, verify, filename, name, ...) and overrides the job\n"
    "files; with no job file, --name=... starts a job as in fio. filename is an\n"
    "iscsi://host[:port]/target-iqn/lun URL; when no job sets one, $SHAREDISK_BENCH_DEV is\n"
    "used. Exit status: 0 every job ran without error, 1 a job failed, 2 usage error.\n";

// Parses the command line with CLI11; job options (--KEY=VALUE) are what CLI11 does not
// know, kept in order. Throws CLI::ParseError (help and version included).
Cli parse_cli(CLI::App& app, int argc, char** argv) {
  Cli cli;
  app.set_version_flag("--version", std::string("sharedisk-bench ") + SHAREDISK_VERSION,
                       "print the version and exit");
  app.allow_extras();
  app.footer(kFooter);
  app.add_option("--output-format", cli.output_format, "summary format")
      ->check(CLI::IsMember({"normal", "json", "json+"}))
      ->capture_default_str();
  app.add_option("--output", cli.output_file, "write the summary to FILE")->type_name("FILE");
  bool progress = false, no_progress = false;
  auto* on = app.add_flag("--progress", progress, "live progress line on stderr (default: TTY)");
  app.add_flag("--no-progress", no_progress, "no progress line")->excludes(on);
  app.add_flag("--header-digest", cli.header_digest, "negotiate HeaderDigest=CRC32C");
  app.add_option("--initiator-name", cli.initiator, "initiator name prefix")->type_name("IQN");
  app.add_option("jobfile", cli.job_files, "fio job files")->type_name("JOBFILE");
  app.parse(argc, argv);
  if (progress) cli.progress = 1;
  if (no_progress) cli.progress = 0;
  for (const std::string& a : app.remaining()) {
    if (a.size() < 3 || a.rfind("--", 0) != 0)
      throw CLI::ValidationError(a, "job options are written --KEY=VALUE");
    const size_t eq = a.find('=');
    cli.options.emplace_back(a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2),
                             eq == std::string::npos ? "" : a.substr(eq + 1));
  }
  return cli;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw JobFileError("cannot read job file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// fio semantics for command-line-only jobs: options before the first --name
// are global, each --name starts a job.
std::string job_text_from_cli(const std::vector<Option>& options) {
  std::string text = "[global]\n";
  for (const auto& [k, v] : options) {
    if (k == "name") text += "[" + v + "]\n";
    text += k + "=" + v + "\n";
  }
  return text;
}

std::string rate(uint64_t bytes_per_s) {
  return format_bytes_binary(double(bytes_per_s)) + "/s";
}

void print_progress(std::FILE* err, bool tty, const std::vector<LiveCounters>& live,
                    const std::vector<const JobSpec*>& specs, uint64_t started_ns, uint64_t& last_r,
                    uint64_t& last_w, uint64_t& last_ri, uint64_t& last_wi, uint64_t& last_ns) {
  uint64_t r = 0, w = 0, ri = 0, wi = 0;
  int running = 0, ramp = 0, connecting = 0;
  uint64_t expected_ns = 0;
  for (size_t i = 0; i < live.size(); ++i) {
    r += live[i].read_bytes.load();
    w += live[i].write_bytes.load();
    ri += live[i].read_ios.load();
    wi += live[i].write_ios.load();
    const int s = live[i].state.load();
    running += s == LiveCounters::kRunning;
    ramp += s == LiveCounters::kRamp;
    connecting += s == LiveCounters::kConnecting;
    if (specs[i]->runtime_ns) {
      expected_ns = std::max(expected_ns, specs[i]->runtime_ns + specs[i]->ramp_ns);
    }
  }
  const uint64_t now = monotonic_ns();
  const double dt = std::max(1e-9, double(now - last_ns) / 1e9);
  const auto rbw = static_cast<uint64_t>(double(r - last_r) / dt);
  const auto wbw = static_cast<uint64_t>(double(w - last_w) / dt);
  const double riops = double(ri - last_ri) / dt, wiops = double(wi - last_wi) / dt;
  last_r = r, last_w = w, last_ri = ri, last_wi = wi, last_ns = now;
  const uint64_t elapsed = now - started_ns;
  char pct[16] = "--.-%", eta[32] = "--m:--s";
  if (expected_ns) {
    std::snprintf(pct, sizeof pct, "%.1f%%",
                  std::min(100.0, 100.0 * double(elapsed) / double(expected_ns)));
    const uint64_t left = expected_ns > elapsed ? (expected_ns - elapsed) / 1'000'000'000 : 0;
    std::snprintf(eta, sizeof eta, "%02" PRIu64 "m:%02" PRIu64 "s", left / 60, left % 60);
  }
  std::fprintf(err, "%sJobs: %d (f=%d): [%s%s%s][%s][r=%s,w=%s][r=%s,w=%s IOPS][eta %s]%s",
               tty ? "\r" : "", running + ramp, running + ramp, connecting ? "connecting " : "",
               ramp ? "ramp " : "", running ? "run" : "", pct, rate(rbw).c_str(), rate(wbw).c_str(),
               format_iops(riops).c_str(), format_iops(wiops).c_str(), eta, tty ? "    " : "\n");
  std::fflush(err);
}

int run_file(const JobFile& file, const Cli& cli, std::vector<JobResult>& all_results) {
  bool filename_given = false;
  for (const auto& o : cli.options) filename_given |= o.first == "filename";
  for (const auto& w : file.warnings) {
    // filename=${SHAREDISK_BENCH_DEV} is expected to be unset when --filename replaces it.
    if (filename_given && w.find("SHAREDISK_BENCH_DEV") != std::string::npos) continue;
    std::fprintf(stderr, "sharedisk-bench: warning: %s\n", w.c_str());
  }
  std::vector<const JobSpec*> clones;
  std::vector<unsigned> clone_index;
  for (const auto& spec : file.jobs) {
    for (unsigned c = 0; c < spec.numjobs; ++c) {
      clones.push_back(&spec);
      clone_index.push_back(c);
    }
  }
  std::vector<LiveCounters> live(clones.size());
  std::vector<JobResult> results(clones.size());
  std::latch gate(static_cast<std::ptrdiff_t>(clones.size()));
  std::vector<RunnerOptions> options(clones.size());
  std::atomic<size_t> finished{0};
  std::vector<std::thread> threads;
  const std::string prefix =
      cli.initiator.empty() ? "iqn.2024-01.io.sharedisk:bench" : cli.initiator;
  for (size_t i = 0; i < clones.size(); ++i) {
    options[i].header_digest = cli.header_digest;
    // A distinct initiator per session: each clone is its own I_T nexus.
    options[i].initiator_name = prefix + "." + std::to_string(getpid()) + "." + std::to_string(i);
    threads.emplace_back([&, i] {
      results[i] = run_job(*clones[i], clone_index[i], options[i], live[i], gate, g_stop);
      finished.fetch_add(1);
    });
  }
  const bool tty = isatty(STDERR_FILENO);
  const bool show = cli.progress == 1 || (cli.progress == -1 && tty);
  const uint64_t started = monotonic_ns();
  uint64_t lr = 0, lw = 0, lri = 0, lwi = 0, lns = started;
  uint64_t next = started + 1'000'000'000;
  while (finished.load() < clones.size()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (show && monotonic_ns() >= next) {
      print_progress(stderr, tty, live, clones, started, lr, lw, lri, lwi, lns);
      next += 1'000'000'000;
    }
  }
  if (show && tty) std::fprintf(stderr, "\r%100s\r", "");
  for (auto& t : threads) t.join();
  int errors = 0;
  for (auto& r : results) {
    if (r.error) {
      std::fprintf(stderr, "sharedisk-bench: %s (clone %u): %s\n", r.name.c_str(), r.clone,
                   r.error_text.c_str());
      ++errors;
    }
    all_results.push_back(std::move(r));
  }
  return errors;
}

int main_impl(int argc, char** argv) {
  CLI::App app{"sharedisk-bench: fio job files against iSCSI LUNs through libiscsi.",
               "sharedisk-bench"};
  Cli cli;
  try {
    cli = parse_cli(app, argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  const char* env_dev = std::getenv("SHAREDISK_BENCH_DEV");
  std::vector<JobFile> files;
  auto env = [](const char* name) -> const char* { return std::getenv(name); };
  if (cli.job_files.empty()) {
    bool named = false;
    for (const auto& o : cli.options) named |= o.first == "name";
    if (!named) {
      std::fprintf(stderr, "sharedisk-bench: no job file and no --name=JOB\n%s",
                   app.help().c_str());
      return 2;
    }
    files.push_back(parse_job_file(job_text_from_cli(cli.options), {}, env));
  } else {
    for (const auto& path : cli.job_files) {
      files.push_back(parse_job_file(read_file(path), cli.options, env));
    }
  }
  for (auto& f : files) {
    for (auto& j : f.jobs) {
      if (j.filename.empty() && env_dev) j.filename = env_dev;
      if (j.filename.empty()) {
        throw JobFileError("job " + j.name +
                           " has no filename (set --filename or "
                           "SHAREDISK_BENCH_DEV to an iscsi:// URL)");
      }
      if (j.runtime_ns == 0 && j.size == 0 && j.size_percent == 0 && j.io_size == 0) {
        std::fprintf(stderr,
                     "sharedisk-bench: note: job %s has neither runtime nor size; it runs one "
                     "pass over the whole LUN\n",
                     j.name.c_str());
      }
    }
  }

  signal(SIGINT, on_sigint);
  signal(SIGPIPE, SIG_IGN);
  const auto started = std::chrono::system_clock::now();
  int errors = 0;
  JobFile combined;
  std::vector<JobResult> results;
  for (const auto& f : files) {
    errors += run_file(f, cli, results);
    if (g_stop.load()) break;
  }
  results = group_results(std::move(results));

  std::FILE* out = stdout;
  if (!cli.output_file.empty()) {
    out = std::fopen(cli.output_file.c_str(), "w");
    if (!out) {
      std::fprintf(stderr, "sharedisk-bench: cannot write %s: %s\n", cli.output_file.c_str(),
                   std::strerror(errno));
      return 1;
    }
  }
  if (cli.output_format == "json" || cli.output_format == "json+") {
    const std::string json = to_json(files.front(), results, started, cli.output_format == "json+");
    std::fwrite(json.data(), 1, json.size(), out);
  } else {
    print_text(out, results);
  }
  if (out != stdout) std::fclose(out);
  return errors ? 1 : 0;
}

}  // namespace
}  // namespace sharedisk::bench

int main(int argc, char** argv) {
  try {
    return sharedisk::bench::main_impl(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sharedisk-bench: %s\n", e.what());
    return 2;
  }
}
