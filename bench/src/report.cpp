#include "report.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <map>

#include "json_writer.h"
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

void lat_json(JsonWriter& j, const char* key, const LatencyHistogram& h, bool percentiles) {
  j.key(key).begin_object();
  j.key("min").value(h.min());
  j.key("max").value(h.max());
  j.key("mean").value(h.mean());
  j.key("stddev").value(h.stddev());
  j.key("N").value(h.count());
  if (percentiles && h.count() > 0) {
    j.key("percentile").begin_object();
    for (double p : kPercentiles) j.key(printf_string("%f", p)).value(h.percentile(p));
    j.end_object();
  }
  j.end_object();
}

void direction_json(JsonWriter& j, const char* key, const DirectionStats& d, uint64_t runtime_ns) {
  const double secs = seconds(runtime_ns);
  const double bw_bytes = secs > 0 ? static_cast<double>(d.bytes) / secs : 0;
  j.key(key).begin_object();
  j.key("io_bytes").value(d.bytes);
  j.key("io_kbytes").value(d.bytes / 1024);
  j.key("bw_bytes").value(static_cast<uint64_t>(std::llround(bw_bytes)));
  j.key("bw").value(static_cast<uint64_t>(std::llround(bw_bytes / 1024)));
  j.key("iops").value(secs > 0 ? static_cast<double>(d.ios) / secs : 0.0);
  j.key("runtime").value(d.ios ? runtime_ns / 1'000'000 : 0);
  j.key("total_ios").value(d.ios);
  j.key("short_ios").value(uint64_t{0});
  j.key("drop_ios").value(uint64_t{0});
  j.key("slat_ns").begin_object();
  for (const char* k : {"min", "max"}) j.key(k).value(uint64_t{0});
  j.key("mean").value(0.0);
  j.key("stddev").value(0.0);
  j.key("N").value(uint64_t{0});
  j.end_object();
  lat_json(j, "clat_ns", d.lat, true);
  lat_json(j, "lat_ns", d.lat, true);
  const auto& bws = d.bytes_per_second;
  const auto& ios = d.ios_per_second;
  const bool have = !bws.empty();
  j.key("bw_min").value(have ? *std::min_element(bws.begin(), bws.end()) / 1024 : 0);
  j.key("bw_max").value(have ? *std::max_element(bws.begin(), bws.end()) / 1024 : 0);
  j.key("bw_agg").value(have ? 100.0 : 0.0);
  j.key("bw_mean").value(mean_of(bws) / 1024);
  j.key("bw_dev").value(stddev_of(bws) / 1024);
  j.key("bw_samples").value(static_cast<uint64_t>(bws.size()));
  j.key("iops_min").value(have ? *std::min_element(ios.begin(), ios.end()) : 0);
  j.key("iops_max").value(have ? *std::max_element(ios.begin(), ios.end()) : 0);
  j.key("iops_mean").value(mean_of(ios));
  j.key("iops_stddev").value(stddev_of(ios));
  j.key("iops_samples").value(static_cast<uint64_t>(ios.size()));
  j.end_object();
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
    const double secs = std::max(seconds(r.runtime_ns), 1e-9);
    std::fprintf(out, "  cpu          : usr=%.2f%%, sys=%.2f%%, ctx=%" PRIu64 "\n",
                 100 * r.usr_seconds / secs, 100 * r.sys_seconds / secs, r.context_switches);
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

std::string to_json(const JobFile& file, const std::vector<JobResult>& results,
                    std::time_t started) {
  JsonWriter j;
  j.begin_object();
  j.key("fio version").value(std::string("sharedisk-bench-") + SHAREDISK_VERSION);
  j.key("timestamp").value(static_cast<uint64_t>(started));
  j.key("timestamp_ms").value(static_cast<uint64_t>(started) * 1000);
  char tbuf[64];
  std::tm tm{};
  localtime_r(&started, &tm);
  std::strftime(tbuf, sizeof tbuf, "%a %b %e %H:%M:%S %Y", &tm);
  j.key("time").value(std::string(tbuf));
  if (!file.global_options.empty()) {
    j.key("global options").begin_object();
    for (const auto& [k, v] : file.global_options) j.key(k).value(v);
    j.end_object();
  }
  j.key("jobs").begin_array();
  for (const auto& r : results) {
    j.begin_object();
    j.key("jobname").value(r.name);
    j.key("groupid").value(uint64_t{0});
    j.key("error").value(static_cast<uint64_t>(r.error));
    if (r.error) j.key("error_text").value(r.error_text);
    j.key("eta").value(uint64_t{0});
    j.key("elapsed").value(r.runtime_ns / 1'000'000'000);
    j.key("job options").begin_object();
    if (r.spec) {
      for (const auto& [k, v] : r.spec->options) {
        if (k != "name") j.key(k).value(v);
      }
    }
    j.end_object();
    direction_json(j, "read", r.read, r.runtime_ns);
    direction_json(j, "write", r.write, r.runtime_ns);
    j.key("job_runtime").value(r.runtime_ns / 1'000'000);
    const double secs = std::max(seconds(r.runtime_ns), 1e-9);
    j.key("usr_cpu").value(100 * r.usr_seconds / secs);
    j.key("sys_cpu").value(100 * r.sys_seconds / secs);
    j.key("ctx").value(r.context_switches);
    j.key("majf").value(uint64_t{0});
    j.key("minf").value(uint64_t{0});
    // Not in fio: what bench/compare needs to divide target CPU time by.
    j.key("sharedisk").begin_object();
    j.key("all_ios").value(r.all_ios);
    j.key("block_size").value(static_cast<uint64_t>(r.block_size));
    j.key("capacity_bytes").value(r.capacity_bytes);
    j.key("verified_chunks").value(r.verified_chunks);
    j.key("unwritten_chunks").value(r.unwritten_chunks);
    j.end_object();
    j.end_object();
  }
  j.end_array();
  j.end_object();
  return j.str() + "\n";
}

}  // namespace sharedisk::bench
