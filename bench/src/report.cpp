#include "report.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <map>
#include <tuple>

#include <nlohmann/json.hpp>

#include "sharedisk/version.h"

namespace sharedisk::bench {

const double kPercentiles[17] = {1,  5,  10, 20, 30,   40,   50,    60,   70,
                                 80, 90, 95, 99, 99.5, 99.9, 99.95, 99.99};

namespace {

std::string printf_string(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// Up to four significant characters, like fio's num2str.
std::string scaled(double v, double base, const char* const* units, int nunits) {
  int u = 0;
  while (v >= 9999.5 && u + 1 < nunits) {
    v /= base;
    ++u;
  }
  const char* fmt = v < 9.995 && u > 0 ? "%.2f%s" : v < 99.95 && u > 0 ? "%.1f%s" : "%.0f%s";
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v, units[u]);
  return buf;
}

double seconds(uint64_t ns) {
  return static_cast<double>(ns) / 1e9;
}

struct DirView {
  const char* name;
  const DirectionStats& d;
};

double mean_of(const std::vector<uint64_t>& v) {
  if (v.empty()) return 0;
  double s = 0;
  for (auto x : v) s += static_cast<double>(x);
  return s / static_cast<double>(v.size());
}

double stddev_of(const std::vector<uint64_t>& v) {
  if (v.size() < 2) return 0;
  const double m = mean_of(v);
  double s = 0;
  for (auto x : v) s += (static_cast<double>(x) - m) * (static_cast<double>(x) - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

// Latency unit for one block of text: the largest that keeps values readable.
struct LatUnit {
  const char* name;
  double div;
};
LatUnit lat_unit(const LatencyHistogram& h) {
  if (h.mean() < 10'000) return {"nsec", 1};
  if (h.mean() < 10'000'000) return {"usec", 1e3};
  return {"msec", 1e6};
}

void print_direction(std::FILE* out, const char* label, const DirectionStats& d,
                     uint64_t runtime_ns) {
  const double secs = std::max(seconds(runtime_ns), 1e-9);
  const double bw = static_cast<double>(d.bytes) / secs;
  std::fprintf(out, "  %s: IOPS=%s, BW=%s/s (%s/s)(%s/%" PRIu64 "msec)\n", label,
               format_iops(static_cast<double>(d.ios) / secs).c_str(),
               format_bytes_binary(bw).c_str(), format_bytes_decimal(bw).c_str(),
               format_bytes_binary(static_cast<double>(d.bytes)).c_str(), runtime_ns / 1'000'000);
  const LatUnit u = lat_unit(d.lat);
  for (const char* which : {"clat", " lat"}) {
    std::fprintf(out, "    %s (%s): min=%.0f, max=%.0f, avg=%.2f, stdev=%.2f\n", which, u.name,
                 d.lat.min() / u.div, d.lat.max() / u.div, d.lat.mean() / u.div,
                 d.lat.stddev() / u.div);
  }
  std::fprintf(out, "    clat percentiles (%s):\n", u.name);
  for (int i = 0; i < 17; ++i) {
    std::fprintf(out, "%s%5.2fth=[%5.0f]%s", i % 4 == 0 ? "     | " : "", kPercentiles[i],
                 d.lat.percentile(kPercentiles[i]) / u.div,
                 i == 16      ? "\n"
                 : i % 4 == 3 ? ",\n"
                              : ", ");
  }
  if (!d.bytes_per_second.empty()) {
    const auto [bmin, bmax] =
        std::minmax_element(d.bytes_per_second.begin(), d.bytes_per_second.end());
    std::fprintf(out,
                 "   bw (  KiB/s): min=%" PRIu64 ", max=%" PRIu64
                 ", avg=%.2f, stdev=%.2f, "
                 "samples=%zu\n",
                 *bmin / 1024, *bmax / 1024, mean_of(d.bytes_per_second) / 1024,
                 stddev_of(d.bytes_per_second) / 1024, d.bytes_per_second.size());
    const auto [imin, imax] = std::minmax_element(d.ios_per_second.begin(), d.ios_per_second.end());
    std::fprintf(out,
                 "   iops        : min=%" PRIu64 ", max=%" PRIu64
                 ", avg=%.2f, stdev=%.2f, "
                 "samples=%zu\n",
                 *imin, *imax, mean_of(d.ios_per_second), stddev_of(d.ios_per_second),
                 d.ios_per_second.size());
  }
}

// fio's labels for the depth distributions and the latency ranges.
const char* const kDepthLabels[] = {"1", "2", "4", "8", "16", "32", ">=64"};
const char* const kBatchLabels[] = {"0", "4", "8", "16", "32", "64", ">=64"};
const char* const kRangeLabels[] = {"2",   "4",   "10",  "20",   "50",   "100",
                                    "250", "500", "750", "1000", "2000", ">=2000"};

// fio's "IO depths : 1=0.0%, 2=0.0%, 4=100.0%, ..." lines.
void print_depths(std::FILE* out, const char* label, const DepthMap& m, const char* const* labels) {
  uint64_t total = 0;
  for (uint64_t c : m) total += c;
  std::fprintf(out, "%s", label);
  for (size_t i = 0; i < m.size(); ++i) {
    std::fprintf(out, "%s %s=%.1f%%", i ? "," : "", labels[i],
                 total ? 100.0 * static_cast<double>(m[i]) / static_cast<double>(total) : 0.0);
  }
  std::fprintf(out, "\n");
}

// fio's "lat (usec) : 100=39.78%, 250=2.84%" lines: the non-empty ranges, five per line.
void print_latency_ranges(std::FILE* out, const JobResult& r) {
  const uint64_t all = r.read.lat.count() + r.write.lat.count();
  if (all == 0) return;
  static const struct {
    const char* unit;
    int first, n;
  } kUnits[] = {{"nsec", 0, 10}, {"usec", 10, 10}, {"msec", 20, 12}};
  for (const auto& u : kUnits) {
    int on_line = 0;
    for (int i = 0; i < u.n; ++i) {
      const uint64_t c = r.read.lat.range_count(u.first + i) + r.write.lat.range_count(u.first + i);
      if (c == 0) continue;
      if (on_line == 5) {
        std::fprintf(out, "\n");
        on_line = 0;
      }
      if (on_line == 0) std::fprintf(out, "  lat (%s)   : ", u.unit);
      std::fprintf(out, "%s%s=%.2f%%", on_line ? ", " : "", kRangeLabels[i],
                   100.0 * static_cast<double>(c) / static_cast<double>(all));
      ++on_line;
    }
    if (on_line) std::fprintf(out, "\n");
  }
}

void merge_samples(std::vector<uint64_t>& into, const std::vector<uint64_t>& from) {
  if (into.size() < from.size()) into.resize(from.size(), 0);
  for (size_t i = 0; i < from.size(); ++i) into[i] += from[i];
}

void merge_direction(DirectionStats& into, const DirectionStats& from) {
  into.ios += from.ios;
  into.bytes += from.bytes;
  into.lat.merge(from.lat);
  merge_samples(into.bytes_per_second, from.bytes_per_second);
  merge_samples(into.ios_per_second, from.ios_per_second);
}

}  // namespace

std::string format_iops(double iops) {
  static const char* const units[] = {"", "k", "M", "G"};
  return scaled(iops, 1000, units, 4);
}
std::string format_bytes_binary(double bytes) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  return scaled(bytes, 1024, units, 5);
}
std::string format_bytes_decimal(double bytes) {
  static const char* const units[] = {"B", "kB", "MB", "GB", "TB"};
  return scaled(bytes, 1000, units, 5);
}

std::vector<JobResult> group_results(std::vector<JobResult> results) {
  std::vector<JobResult> out;
  std::map<const JobSpec*, size_t> group_of;
  for (auto& r : results) {
    if (!r.spec || !r.spec->group_reporting) {
      out.push_back(std::move(r));
      continue;
    }
    auto it = group_of.find(r.spec);
    if (it == group_of.end()) {
      group_of[r.spec] = out.size();
      out.push_back(std::move(r));
      continue;
    }
    JobResult& g = out[it->second];
    merge_direction(g.read, r.read);
    merge_direction(g.write, r.write);
    g.runtime_ns = std::max(g.runtime_ns, r.runtime_ns);
    g.usr_seconds += r.usr_seconds;
    g.sys_seconds += r.sys_seconds;
    g.context_switches += r.context_switches;
    g.minor_faults += r.minor_faults;
    g.major_faults += r.major_faults;
    g.elapsed_ns = std::max(g.elapsed_ns, r.elapsed_ns);
    for (size_t i = 0; i < g.depth.size(); ++i) {
      g.depth[i] += r.depth[i];
      g.submit[i] += r.submit[i];
      g.complete[i] += r.complete[i];
    }
    g.all_ios += r.all_ios;
    g.verified_chunks += r.verified_chunks;
    g.unwritten_chunks += r.unwritten_chunks;
    if (g.error == 0 && r.error != 0) {
      g.error = r.error;
      g.error_text = r.error_text;
    }
  }
  return out;
}

void print_text(std::FILE* out, const std::vector<JobResult>& results) {
  DirectionStats total_read, total_write;
  uint64_t min_rt = UINT64_MAX, max_rt = 0;
  for (const auto& r : results) {
    const unsigned jobs = r.spec && r.spec->group_reporting ? r.spec->numjobs : 1;
    std::fprintf(out, "%s: (groupid=0, jobs=%u): err=%2d: %s\n", r.name.c_str(), jobs, r.error,
                 r.error ? r.error_text.c_str() : "");
    if (r.read.ios) print_direction(out, "read", r.read, r.runtime_ns);
    if (r.write.ios) print_direction(out, "write", r.write, r.runtime_ns);
    print_latency_ranges(out, r);
    const double secs = std::max(seconds(r.runtime_ns), 1e-9);
    std::fprintf(out,
                 "  cpu          : usr=%.2f%%, sys=%.2f%%, ctx=%" PRIu64 ", majf=%" PRIu64
                 ", minf=%" PRIu64 "\n",
                 100 * r.usr_seconds / secs, 100 * r.sys_seconds / secs, r.context_switches,
                 r.major_faults, r.minor_faults);
    print_depths(out, "  IO depths    :", r.depth, kDepthLabels);
    print_depths(out, "     submit    :", r.submit, kBatchLabels);
    print_depths(out, "     complete  :", r.complete, kBatchLabels);
    std::fprintf(
        out, "     issued rwts: total=%" PRIu64 ",%" PRIu64 ",0,0 short=0,0,0,0 dropped=0,0,0,0\n",
        r.read.ios, r.write.ios);
    std::fprintf(out, "     latency   : target=0, window=0, percentile=100.00%%, depth=%u\n",
                 r.spec ? r.spec->iodepth : 1u);
    if (r.spec && r.spec->verify) {
      std::fprintf(out, "  verify       : %" PRIu64 " chunks checked, %" PRIu64 " never written\n",
                   r.verified_chunks, r.unwritten_chunks);
    }
    std::fprintf(out, "\n");
    merge_direction(total_read, r.read);
    merge_direction(total_write, r.write);
    min_rt = std::min(min_rt, r.runtime_ns);
    max_rt = std::max(max_rt, r.runtime_ns);
  }
  std::fprintf(out, "Run status group 0 (all jobs):\n");
  for (const auto& [label, d] : {DirView{"READ", total_read}, DirView{"WRITE", total_write}}) {
    if (d.ios == 0) continue;
    const double bw = static_cast<double>(d.bytes) / std::max(seconds(max_rt), 1e-9);
    std::fprintf(out, "%8s: bw=%s/s (%s/s), io=%s (%s), run=%" PRIu64 "-%" PRIu64 "msec\n", label,
                 format_bytes_binary(bw).c_str(), format_bytes_decimal(bw).c_str(),
                 format_bytes_binary(static_cast<double>(d.bytes)).c_str(),
                 format_bytes_decimal(static_cast<double>(d.bytes)).c_str(), min_rt / 1'000'000,
                 max_rt / 1'000'000);
  }
}

namespace {

using Json = nlohmann::ordered_json;

// What fio's JSON writes for a finished job's "eta".
constexpr uint64_t kFioEtaDone = 2147483647;

Json lat_json(const LatencyHistogram& h, bool percentiles, bool bins) {
  Json o;
  o["min"] = h.min();
  o["max"] = h.max();
  o["mean"] = h.mean();
  o["stddev"] = h.stddev();
  o["N"] = h.count();
  if (percentiles && h.count() > 0) {
    Json p = Json::object();
    for (double pct : kPercentiles) p[printf_string("%f", pct)] = h.percentile(pct);
    o["percentile"] = std::move(p);
    if (bins) {
      Json b = Json::object();
      for (int i = 0; i < LatencyHistogram::kBuckets; ++i) {
        if (h.bucket_count(i))
          b[std::to_string(LatencyHistogram::bin_value(i))] = h.bucket_count(i);
      }
      o["bins"] = std::move(b);
    }
  }
  return o;
}

Json zero_lat_json() {
  Json o;
  o["min"] = uint64_t{0};
  o["max"] = uint64_t{0};
  o["mean"] = 0.0;
  o["stddev"] = 0.0;
  o["N"] = uint64_t{0};
  return o;
}

// One of read/write/trim; `agg_bytes_per_s` is the group's bandwidth in this
// direction, for bw_agg (this job's share of it, in percent, as fio computes it).
Json direction_json(const DirectionStats& d, uint64_t runtime_ns, double agg_bytes_per_s,
                    bool bins) {
  const double secs = seconds(runtime_ns);
  const auto bw_bytes =
      static_cast<uint64_t>(secs > 0 ? std::llround(static_cast<double>(d.bytes) / secs) : 0);
  Json o;
  o["io_bytes"] = d.bytes;
  o["io_kbytes"] = d.bytes / 1024;
  o["bw_bytes"] = bw_bytes;
  o["bw"] = bw_bytes / 1024;
  o["iops"] = secs > 0 ? static_cast<double>(d.ios) / secs : 0.0;
  o["runtime"] = d.ios ? runtime_ns / 1'000'000 : 0;
  o["total_ios"] = d.ios;
  o["short_ios"] = uint64_t{0};  // a short transfer fails the job instead
  o["drop_ios"] = uint64_t{0};
  o["slat_ns"] = zero_lat_json();  // no separate submission step: fio writes zeros then too
  o["clat_ns"] = lat_json(d.lat, true, bins);
  o["lat_ns"] = lat_json(d.lat, false, false);
  // Per-second samples; a direction the job did not use has none, as in fio.
  const bool have = d.ios > 0 && !d.bytes_per_second.empty();
  const auto& bws = d.bytes_per_second;
  const auto& ios = d.ios_per_second;
  const double bw_mean = have ? mean_of(bws) / 1024 : 0.0;
  o["bw_min"] = have ? *std::min_element(bws.begin(), bws.end()) / 1024 : 0;
  o["bw_max"] = have ? *std::max_element(bws.begin(), bws.end()) / 1024 : 0;
  o["bw_agg"] =
      have && agg_bytes_per_s > 0 ? std::min(100.0, bw_mean * 100 / (agg_bytes_per_s / 1024)) : 0.0;
  o["bw_mean"] = bw_mean;
  o["bw_dev"] = have ? stddev_of(bws) / 1024 : 0.0;
  o["bw_samples"] = have ? static_cast<uint64_t>(bws.size()) : 0;
  o["iops_min"] = have ? *std::min_element(ios.begin(), ios.end()) : 0;
  o["iops_max"] = have ? *std::max_element(ios.begin(), ios.end()) : 0;
  o["iops_mean"] = have ? mean_of(ios) : 0.0;
  o["iops_stddev"] = have ? stddev_of(ios) : 0.0;
  o["iops_samples"] = have ? static_cast<uint64_t>(ios.size()) : 0;
  return o;
}

// Counts as percentages of their sum, under fio's labels.
Json distribution(const uint64_t* counts, const char* const* labels, int n) {
  uint64_t total = 0;
  for (int i = 0; i < n; ++i) total += counts[i];
  Json o;
  for (int i = 0; i < n; ++i) {
    o[labels[i]] =
        total ? 100.0 * static_cast<double>(counts[i]) / static_cast<double>(total) : 0.0;
  }
  return o;
}

// fio lists only options that have a value (a bare `time_based` is left out).
Json options_json(const std::vector<Option>& options) {
  Json o = Json::object();
  for (const auto& [k, v] : options) {
    if (!v.empty()) o[k] = v;
  }
  return o;
}

}  // namespace

std::string to_json(const JobFile& file, const std::vector<JobResult>& results,
                    std::chrono::system_clock::time_point started, bool bins) {
  Json root;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(started.time_since_epoch());
  const std::time_t secs = std::chrono::system_clock::to_time_t(started);
  root["fio version"] = std::string("sharedisk-bench-") + SHAREDISK_VERSION;
  root["timestamp"] = static_cast<uint64_t>(secs);
  root["timestamp_ms"] = static_cast<uint64_t>(ms.count());
  char tbuf[64];
  std::tm tm{};
  localtime_r(&secs, &tm);
  std::strftime(tbuf, sizeof tbuf, "%a %b %e %H:%M:%S %Y", &tm);
  root["time"] = tbuf;
  const Json globals = options_json(file.global_options);
  if (!globals.empty()) root["global options"] = globals;

  // The group's bandwidth per direction, for bw_agg: all bytes over the longest runtime.
  uint64_t read_bytes = 0, write_bytes = 0, max_runtime_ns = 0;
  for (const auto& r : results) {
    read_bytes += r.read.bytes;
    write_bytes += r.write.bytes;
    max_runtime_ns = std::max(max_runtime_ns, r.runtime_ns);
  }
  const double group_secs = seconds(max_runtime_ns);
  const double read_agg = group_secs > 0 ? static_cast<double>(read_bytes) / group_secs : 0;
  const double write_agg = group_secs > 0 ? static_cast<double>(write_bytes) / group_secs : 0;

  Json jobs = Json::array();
  for (const auto& r : results) {
    Json j;
    j["jobname"] = r.name;
    j["groupid"] = 0;
    j["error"] = r.error;
    j["eta"] = kFioEtaDone;
    j["elapsed"] = (r.elapsed_ns + 999'999'999) / 1'000'000'000;
    j["job options"] = options_json(r.spec ? r.spec->options : std::vector<Option>{});
    j["read"] = direction_json(r.read, r.runtime_ns, read_agg, bins);
    j["write"] = direction_json(r.write, r.runtime_ns, write_agg, bins);
    j["trim"] = direction_json(DirectionStats{}, 0, 0, bins);               // no UNMAP issued
    j["sync"] = {{"total_ios", uint64_t{0}}, {"lat_ns", zero_lat_json()}};  // no SYNC CACHE
    j["job_runtime"] = r.runtime_ns / 1'000'000;
    const double run_secs = std::max(seconds(r.runtime_ns), 1e-9);
    j["usr_cpu"] = 100 * r.usr_seconds / run_secs;
    j["sys_cpu"] = 100 * r.sys_seconds / run_secs;
    j["ctx"] = r.context_switches;
    j["majf"] = r.major_faults;
    j["minf"] = r.minor_faults;
    j["iodepth_level"] = distribution(r.depth.data(), kDepthLabels, 7);
    j["iodepth_submit"] = distribution(r.submit.data(), kBatchLabels, 7);
    j["iodepth_complete"] = distribution(r.complete.data(), kBatchLabels, 7);
    // Completion latency of every measured I/O, both directions, in fio's ranges.
    uint64_t ranges[LatencyHistogram::kRanges];
    const uint64_t all = r.read.lat.count() + r.write.lat.count();
    for (int i = 0; i < LatencyHistogram::kRanges; ++i) {
      ranges[i] = r.read.lat.range_count(i) + r.write.lat.range_count(i);
    }
    for (const auto& [key, first, n] :
         {std::tuple{"latency_ns", 0, 10}, {"latency_us", 10, 10}, {"latency_ms", 20, 12}}) {
      Json o;
      for (int i = 0; i < n; ++i) {
        o[kRangeLabels[i]] =
            all ? 100.0 * static_cast<double>(ranges[first + i]) / static_cast<double>(all) : 0.0;
      }
      j[key] = std::move(o);
    }
    // No latency_target: what fio writes without one.
    j["latency_depth"] = r.spec ? r.spec->iodepth : 1u;
    j["latency_target"] = 0;
    j["latency_percentile"] = 100.0;
    j["latency_window"] = 0;
    // Not in fio: what bench/compare needs to divide target CPU time by, and why a job failed.
    Json ext;
    ext["all_ios"] = r.all_ios;
    ext["block_size"] = r.block_size;
    ext["capacity_bytes"] = r.capacity_bytes;
    ext["verified_chunks"] = r.verified_chunks;
    ext["unwritten_chunks"] = r.unwritten_chunks;
    if (r.error) ext["error_text"] = r.error_text;
    j["sharedisk"] = std::move(ext);
    jobs.push_back(std::move(j));
  }
  root["jobs"] = std::move(jobs);
  // Names and job options may hold any bytes: invalid UTF-8 becomes U+FFFD, never bad JSON.
  return root.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace sharedisk::bench
