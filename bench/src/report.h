// Results in fio's shapes: the human summary and --output-format=json.
//
// Contract: group_results() merges the clones of jobs with group_reporting
// into one result (I/O and latency summed, runtime the longest). print_text()
// writes fio-style blocks per job and the "Run status" lines; to_json() writes
// an object shaped like fio 3.x JSON output ("fio version", "global options",
// jobs[] with jobname, job options, read/write {io_bytes, io_kbytes, bw_bytes,
// bw (KiB/s), iops, runtime (ms), total_ios, slat_ns, clat_ns, lat_ns with
// percentiles, bw_/iops_ min/max/mean/dev/samples}, usr_cpu, sys_cpu, ctx),
// so tools that read fio results read these. Latency here is measured from
// queueing the command to its completion callback: lat_ns and clat_ns hold
// the same histogram and slat_ns is zero.
#pragma once

#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "job_file.h"
#include "job_runner.h"

namespace sharedisk::bench {

std::vector<JobResult> group_results(std::vector<JobResult> results);

void print_text(std::FILE* out, const std::vector<JobResult>& results);

std::string to_json(const JobFile& file, const std::vector<JobResult>& results,
                    std::time_t started);

// Human units as fio prints them.
std::string format_iops(double iops);            // 48.6k
std::string format_bytes_binary(double bytes);   // 190MiB
std::string format_bytes_decimal(double bytes);  // 199MB

// fio's default clat percentile list.
extern const double kPercentiles[17];

}  // namespace sharedisk::bench
