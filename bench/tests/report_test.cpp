// The fio-shaped output: unit formatting, grouping of clones and the JSON keys
// tools read (jobs[].read.iops, bw, lat_ns.percentile["99.000000"], ...).
#include "report.h"

#include <gtest/gtest.h>

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

TEST(Report, JsonHasTheKeysFioToolsRead) {
  JobFile file = parse_job_file("[global]\nbs=4k\n[job1]\nrw=randread\n", {},
                                [](const char*) -> const char* { return nullptr; });
  std::vector<JobResult> rs;
  rs.push_back(fake_result(file.jobs[0], 0, 2000));
  const std::string json = to_json(file, rs, 0);
  for (const char* needle :
       {"\"fio version\" : \"sharedisk-bench-", "\"global options\" : {", "\"jobname\" : \"job1\"",
        "\"read\" : {", "\"write\" : {", "\"iops\" : 1000.000000", "\"bw\" : 4000",
        "\"bw_bytes\" : 4096000", "\"runtime\" : 2000", "\"lat_ns\" : {", "\"clat_ns\" : {",
        "\"99.000000\" : ", "\"50.000000\" : "}) {
    EXPECT_NE(json.find(needle), std::string::npos) << needle << "\n" << json.substr(0, 600);
  }
}

}  // namespace
}  // namespace sharedisk::bench
