// Results in fio's shapes: the human summary and --output-format=json / json+.
//
// Contract: group_results() merges the clones of jobs with group_reporting
// into one result (I/O, latency and depth counts summed, runtime the longest).
// print_text() writes fio-style blocks per job (with fio's latency range and
// IO depth lines) and the "Run status" lines;
// to_json() writes fio 3.33's JSON layout key for key (bench/tests/
// fio_json_keys_test.py compares it with real fio's): "fio version",
// "timestamp", "timestamp_ms", "time", "global options", jobs[] with jobname,
// groupid, error, eta, elapsed, "job options", read/write/trim {io_bytes,
// io_kbytes, bw_bytes, bw, iops, runtime, total_ios, short_ios, drop_ios,
// slat_ns, clat_ns (with percentile, and bins for json+), lat_ns, bw_* and
// iops_* of the per-second samples}, sync, job_runtime, usr_cpu, sys_cpu, ctx,
// majf, minf, iodepth_level/submit/complete, latency_ns/us/ms and the
// latency_target fields, plus one "sharedisk" object of our own per job. Every
// number is measured; what sharedisk-bench never does (trim, sync, a separate
// submission step) carries the zeros fio writes when it does not do it either.
// Latency is measured from queueing the command to its completion callback, so
// lat_ns and clat_ns hold the same histogram.
#pragma once

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "job_file.h"
#include "job_runner.h"

namespace sharedisk::bench {

std::vector<JobResult> group_results(std::vector<JobResult> results);

void print_text(std::FILE* out, const std::vector<JobResult>& results);

// `bins`: --output-format=json+, clat_ns also holds "bins" {"<ns>" : count} of
// every non-empty histogram bucket, keyed by fio's value for that bucket.
std::string to_json(const JobFile& file, const std::vector<JobResult>& results,
                    std::chrono::system_clock::time_point started, bool bins = false);

// Human units as fio prints them.
std::string format_iops(double iops);            // 48.6k
std::string format_bytes_binary(double bytes);   // 190MiB
std::string format_bytes_decimal(double bytes);  // 199MB

// fio's default clat percentile list.
extern const double kPercentiles[17];

}  // namespace sharedisk::bench
