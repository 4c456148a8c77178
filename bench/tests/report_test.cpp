// The fio-shaped output: unit formatting, grouping of clones and the JSON keys
// tools read (jobs[].read.iops, bw, lat_ns.percentile["99.000000"], ...).
#include "report.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

namespace sharedisk::bench {
namespace {

TEST(Report, HumanUnits) {
  EXPECT_EQ(format_iops(950), "950");
  EXPECT_EQ(format_iops(48600), "48.6k");
  EXPECT_EQ(format_iops(3824000), "3824k");
  EXPECT_EQ(format_bytes_binary(190.0 * 1024 * 1024), "190MiB");
  EXPECT_EQ(format_bytes_decimal(199e6), "199MB");
  EXPECT_EQ(format_bytes_binary(1.5 * 1024 * 1024 * 1024), "1536MiB");
}

JobResult fake_result(const JobSpec& spec, unsigned clone, uint64_t ios) {
  JobResult r;
  r.name = spec.name;
  r.clone = clone;
  r.spec = &spec;
  r.runtime_ns = 2'000'000'000;
  r.read.ios = ios;
  r.read.bytes = ios * spec.bs;
  for (uint64_t i = 0; i < ios; ++i) r.read.lat.record(50'000 + i % 1000);
  r.read.bytes_per_second = {r.read.bytes / 2, r.read.bytes / 2};
  r.read.ios_per_second = {ios / 2, ios / 2};
  return r;
}

TEST(Report, GroupReportingMergesClones) {
  JobFile file = parse_job_file("[j]\nrw=randread\nnumjobs=2\ngroup_reporting\n", {},
                                [](const char*) -> const char* { return nullptr; });
  std::vector<JobResult> rs;
  rs.push_back(fake_result(file.jobs[0], 0, 1000));
  rs.push_back(fake_result(file.jobs[0], 1, 3000));
  const auto grouped = group_results(std::move(rs));
  ASSERT_EQ(grouped.size(), 1u);
  EXPECT_EQ(grouped[0].read.ios, 4000u);
  EXPECT_EQ(grouped[0].read.lat.count(), 4000u);
  EXPECT_EQ(grouped[0].read.ios_per_second[0], 2000u);
}

using Json = nlohmann::ordered_json;

const auto kNoEnv = [](const char*) -> const char* { return nullptr; };

std::vector<std::string> keys_of(const Json& o) {
  std::vector<std::string> k;
  for (const auto& [key, _] : o.items()) k.push_back(key);
  return k;
}

TEST(Report, JsonFollowsFiosLayoutWithTheMeasuredValues) {
  JobFile file =
      parse_job_file("[global]\nbs=4k\ntime_based\nruntime=2\n[job1]\nrw=randread\n", {}, kNoEnv);
  std::vector<JobResult> rs;
  rs.push_back(fake_result(file.jobs[0], 0, 2000));
  rs[0].depth = {0, 0, 0, 0, 0, 3, 1};   // 32-63 and >=64 in flight
  rs[0].submit = {0, 4, 0, 0, 0, 0, 0};  // batches of 1-4
  rs[0].complete = {1, 3, 0, 0, 0, 0, 0};
  rs[0].minor_faults = 7;
  const Json j = Json::parse(to_json(file, rs, std::chrono::system_clock::from_time_t(1000)));
  EXPECT_EQ(keys_of(j), (std::vector<std::string>{"fio version", "timestamp", "timestamp_ms",
                                                  "time", "global options", "jobs"}));
  EXPECT_EQ(j["timestamp"], 1000);
  EXPECT_EQ(j["timestamp_ms"], 1000000);
  // fio leaves bare flags out of the option lists and [global] out of "job options".
  EXPECT_EQ(j["global options"], (Json{{"bs", "4k"}, {"runtime", "2"}}));
  const Json& job = j["jobs"][0];
  EXPECT_EQ(job["job options"], (Json{{"rw", "randread"}}));
  EXPECT_EQ(keys_of(job), (std::vector<std::string>{"jobname",
                                                    "groupid",
                                                    "error",
                                                    "eta",
                                                    "elapsed",
                                                    "job options",
                                                    "read",
                                                    "write",
                                                    "trim",
                                                    "sync",
                                                    "job_runtime",
                                                    "usr_cpu",
                                                    "sys_cpu",
                                                    "ctx",
                                                    "majf",
                                                    "minf",
                                                    "iodepth_level",
                                                    "iodepth_submit",
                                                    "iodepth_complete",
                                                    "latency_ns",
                                                    "latency_us",
                                                    "latency_ms",
                                                    "latency_depth",
                                                    "latency_target",
                                                    "latency_percentile",
                                                    "latency_window",
                                                    "sharedisk"}));
  const Json& rd = job["read"];
  EXPECT_DOUBLE_EQ(rd["iops"].get<double>(), 1000.0);
  EXPECT_EQ(rd["bw"], 4000);
  EXPECT_EQ(rd["bw_bytes"], 4096000);
  EXPECT_EQ(rd["runtime"], 2000);
  EXPECT_EQ(rd["total_ios"], 2000);
  EXPECT_EQ(rd["clat_ns"]["N"], 2000);
  ASSERT_TRUE(rd["clat_ns"].contains("percentile"));
  EXPECT_EQ(rd["clat_ns"]["percentile"].size(), 17u);
  const auto p99 = rd["clat_ns"]["percentile"]["99.000000"].get<uint64_t>();
  EXPECT_GE(p99, 50'900u);
  EXPECT_LE(p99, 50'999u);
  EXPECT_FALSE(rd["lat_ns"].contains("percentile"));  // fio's default: clat percentiles only
  EXPECT_FALSE(rd["clat_ns"].contains("bins"));       // only with json+
  EXPECT_EQ(rd["bw_samples"], 2);
  EXPECT_DOUBLE_EQ(rd["bw_agg"].get<double>(), 100.0);
  // Unused directions are fio's zeros: no samples, no percentiles.
  EXPECT_EQ(job["write"]["total_ios"], 0);
  EXPECT_EQ(job["write"]["bw_samples"], 0);
  EXPECT_FALSE(job["write"]["clat_ns"].contains("percentile"));
  EXPECT_EQ(job["trim"]["io_bytes"], 0);
  EXPECT_EQ(job["sync"],
            (Json{{"total_ios", 0},
                  {"lat_ns", {{"min", 0}, {"max", 0}, {"mean", 0.0}, {"stddev", 0.0}, {"N", 0}}}}));
  // Every latency was 50-51 us: fio's 50..100 us range holds them all.
  EXPECT_DOUBLE_EQ(job["latency_us"]["100"].get<double>(), 100.0);
  EXPECT_DOUBLE_EQ(job["latency_us"]["50"].get<double>(), 0.0);
  EXPECT_EQ(keys_of(job["latency_ms"]).back(), ">=2000");
  EXPECT_EQ(job["latency_ns"].size(), 10u);
  EXPECT_DOUBLE_EQ(job["iodepth_level"]["32"].get<double>(), 75.0);
  EXPECT_DOUBLE_EQ(job["iodepth_level"][">=64"].get<double>(), 25.0);
  EXPECT_DOUBLE_EQ(job["iodepth_submit"]["4"].get<double>(), 100.0);
  EXPECT_DOUBLE_EQ(job["iodepth_complete"]["0"].get<double>(), 25.0);
  EXPECT_EQ(job["minf"], 7);
  EXPECT_EQ(job["eta"], 2147483647);  // what fio 3.33 writes for a finished job
  // Types as fio writes them: integers stay integers, rates and means are floats.
  EXPECT_TRUE(rd["bw"].is_number_unsigned());
  EXPECT_TRUE(rd["iops"].is_number_float());
  EXPECT_TRUE(rd["clat_ns"]["mean"].is_number_float());
  EXPECT_TRUE(job["trim"]["iops_mean"].is_number_float());
}

TEST(Report, JsonPlusHasFiosBins) {
  JobFile file = parse_job_file("[j]\nrw=randrw\n", {}, kNoEnv);
  JobResult r;
  r.name = "j";
  r.spec = &file.jobs[0];
  r.runtime_ns = 1'000'000'000;
  // 31104 ns is the value fio 3.33's json+ names the bucket of 31000-31231 ns by.
  for (uint64_t ns : {100u, 100u, 31'000u, 31'231u, 5'000'000u}) {
    r.read.lat.record(ns);
    ++r.read.ios;
  }
  r.write.lat.record(3'000);
  ++r.write.ios;
  const Json j = Json::parse(to_json(file, {r}, std::chrono::system_clock::now(), true));
  const Json& bins = j["jobs"][0]["read"]["clat_ns"]["bins"];
  EXPECT_EQ(bins["100"], 2);
  EXPECT_EQ(bins["31104"], 2);
  uint64_t sum = 0;
  for (const auto& [k, v] : bins.items()) sum += v.get<uint64_t>();
  EXPECT_EQ(sum, 5u);
  EXPECT_EQ(j["jobs"][0]["write"]["clat_ns"]["bins"].size(), 1u);
  EXPECT_FALSE(j["jobs"][0]["read"]["lat_ns"].contains("bins"));
  EXPECT_FALSE(j["jobs"][0]["trim"]["clat_ns"].contains("bins"));  // N=0, as in fio
  // latency_* count both directions: 2 of 6 under 250 ns, 1 in 4-10 ms.
  EXPECT_NEAR(j["jobs"][0]["latency_ns"]["250"].get<double>(), 100.0 * 2 / 6, 1e-9);
  EXPECT_NEAR(j["jobs"][0]["latency_ms"]["10"].get<double>(), 100.0 / 6, 1e-9);
}

TEST(Report, JsonStaysValidForNamesThatAreNotUtf8) {
  JobFile file = parse_job_file("[j\xff\xfe]\nrw=read\n", {}, kNoEnv);
  std::vector<JobResult> rs;
  rs.push_back(fake_result(file.jobs[0], 0, 10));
  const std::string text = to_json(file, rs, std::chrono::system_clock::now());
  ASSERT_TRUE(Json::accept(text)) << text.substr(0, 300);
  EXPECT_EQ(Json::parse(text)["jobs"][0]["jobname"], "j\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(Report, TextHasFiosLatencyAndDepthLines) {
  JobFile file = parse_job_file("[j]\nrw=randread\niodepth=4\n", {}, kNoEnv);
  std::vector<JobResult> rs;
  rs.push_back(fake_result(file.jobs[0], 0, 1000));  // 50-51 us each
  rs[0].depth = {0, 0, 10, 0, 0, 0, 0};
  rs[0].submit = {0, 10, 0, 0, 0, 0, 0};
  rs[0].complete = {0, 10, 0, 0, 0, 0, 0};
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* out = open_memstream(&buf, &len);
  print_text(out, rs);
  std::fclose(out);
  const std::string text(buf, len);
  std::free(buf);
  for (const char* needle :
       {"  lat (usec)   : 100=100.00%\n",
        "  IO depths    : 1=0.0%, 2=0.0%, 4=100.0%, 8=0.0%, 16=0.0%, 32=0.0%, >=64=0.0%\n",
        "     submit    : 0=0.0%, 4=100.0%, 8=0.0%", "     issued rwts: total=1000,0,0,0 ",
        "     latency   : target=0, window=0, percentile=100.00%, depth=4\n"}) {
    EXPECT_NE(text.find(needle), std::string::npos) << needle << "\n" << text;
  }
}

TEST(Report, DepthAndBatchBucketsAreFios) {
  EXPECT_EQ(depth_bucket(1), 0);
  EXPECT_EQ(depth_bucket(2), 1);
  EXPECT_EQ(depth_bucket(3), 1);
  EXPECT_EQ(depth_bucket(4), 2);
  EXPECT_EQ(depth_bucket(31), 4);
  EXPECT_EQ(depth_bucket(32), 5);
  EXPECT_EQ(depth_bucket(63), 5);
  EXPECT_EQ(depth_bucket(64), 6);
  EXPECT_EQ(batch_bucket(0), 0);
  EXPECT_EQ(batch_bucket(1), 1);
  EXPECT_EQ(batch_bucket(4), 1);
  EXPECT_EQ(batch_bucket(5), 2);
  EXPECT_EQ(batch_bucket(8), 2);
  EXPECT_EQ(batch_bucket(9), 3);
  EXPECT_EQ(batch_bucket(32), 4);
  EXPECT_EQ(batch_bucket(33), 5);
  EXPECT_EQ(batch_bucket(64), 5);
  EXPECT_EQ(batch_bucket(65), 6);
}

}  // namespace
}  // namespace sharedisk::bench
