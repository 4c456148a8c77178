// fio job file parsing: sections, [global] inheritance, units, env expansion,
// overrides and the errors/warnings users see.
#include "job_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace sharedisk::bench {
namespace {

const char* no_env(const char*) {
  return nullptr;
}

TEST(JobFile, GlobalOptionsApplyToEveryJobAndJobsOverrideThem) {
  const auto f = parse_job_file(
      "; comment\n[global]\nbs=4k\niodepth=8\nruntime=10\ntime_based\n"
      "[a]\nrw=randread\n# another\n[b]\nrw=write\nbs=128k\niodepth=16\n",
      {}, no_env);
  ASSERT_EQ(f.jobs.size(), 2u);
  EXPECT_EQ(f.jobs[0].name, "a");
  EXPECT_EQ(f.jobs[0].rw, Pattern::kRandRead);
  EXPECT_EQ(f.jobs[0].bs, 4096u);
  EXPECT_EQ(f.jobs[0].iodepth, 8u);
  EXPECT_TRUE(f.jobs[0].time_based);
  EXPECT_EQ(f.jobs[0].runtime_ns, 10'000'000'000u);
  EXPECT_EQ(f.jobs[1].rw, Pattern::kWrite);
  EXPECT_EQ(f.jobs[1].bs, 128u * 1024);
  EXPECT_EQ(f.jobs[1].iodepth, 16u);
  EXPECT_EQ(f.global_options.size(), 4u);
  EXPECT_TRUE(f.warnings.empty());
}

TEST(JobFile, UnitsAndMixes) {
  const auto f = parse_job_file(
      "[j]\nrw=randrw\nrwmixwrite=30\nsize=1g\noffset=10%\nramp_time=500ms\nruntime=2m\n"
      "numjobs=4\nverify=crc32c\nbs=1.5k\n",
      {}, no_env);
  const JobSpec& j = f.jobs.at(0);
  EXPECT_EQ(j.rwmixread, 70u);
  EXPECT_EQ(j.size, 1ull << 30);
  EXPECT_EQ(j.offset_percent, 10u);
  EXPECT_EQ(j.ramp_ns, 500'000'000u);
  EXPECT_EQ(j.runtime_ns, 120'000'000'000u);
  EXPECT_EQ(j.numjobs, 4u);
  EXPECT_TRUE(j.verify);
  EXPECT_EQ(j.bs, 1536u);
}

TEST(JobFile, EnvironmentVariablesExpandAndOverridesWin) {
  std::map<std::string, std::string> env = {{"DEV", "iscsi://127.0.0.1:3999/iqn.x:y/1"}};
  auto lookup = [&](const char* n) -> const char* {
    auto it = env.find(n);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  const auto f = parse_job_file("[j]\nfilename=${DEV}\nruntime=30\n",
                                {{"runtime", "3"}, {"filename", "iscsi://h/iqn.z/2"}}, lookup);
  EXPECT_EQ(f.jobs[0].runtime_ns, 3'000'000'000u);
  EXPECT_EQ(f.jobs[0].filename, "iscsi://h/iqn.z/2");
  const auto g = parse_job_file("[j]\nfilename=${DEV}\n", {}, lookup);
  EXPECT_EQ(g.jobs[0].filename, "iscsi://127.0.0.1:3999/iqn.x:y/1");
  // "job options" keeps the last value of each key once.
  int runtimes = 0;
  for (const auto& [k, v] : f.jobs[0].options) {
    if (k == "runtime") {
      ++runtimes;
      EXPECT_EQ(v, "3");
    }
  }
  EXPECT_EQ(runtimes, 1);
}

TEST(JobFile, FioOnlyOptionsAreSilentUnknownOnesWarn) {
  const auto f = parse_job_file(
      "[global]\nioengine=libaio\ndirect=1\nfrobnicate=3\n[j]\nrw=read\n[k]\nrw=read\n", {},
      no_env);
  ASSERT_EQ(f.warnings.size(), 1u);  // once, though two jobs inherit it
  EXPECT_NE(f.warnings[0].find("frobnicate"), std::string::npos);
}

TEST(JobFile, UnsetVariableWarns) {
  const auto f = parse_job_file("[j]\nfilename=${NOPE}\n", {}, no_env);
  ASSERT_EQ(f.warnings.size(), 1u);
  EXPECT_NE(f.warnings[0].find("NOPE"), std::string::npos);
  EXPECT_EQ(f.jobs[0].filename, "");
}

// The shipped job files, which real fio parses too (ctest fio_parse_*): every
// one gives jobs and no warning, with SHAREDISK_BENCH_DEV set as documented.
TEST(JobFile, EveryShippedJobFileParsesWithoutWarnings) {
  auto env = [](const char* n) -> const char* {
    return std::string_view(n) == "SHAREDISK_BENCH_DEV" ? "iscsi://127.0.0.1:3999/iqn.x:y/1"
                                                        : nullptr;
  };
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(BENCH_JOBS_DIR)) {
    if (entry.path().extension() != ".fio") continue;
    ++files;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    JobFile f;
    ASSERT_NO_THROW(f = parse_job_file(text.str(), {}, env)) << entry.path();
    ASSERT_FALSE(f.jobs.empty()) << entry.path();
    EXPECT_TRUE(f.warnings.empty()) << entry.path() << ": " << f.warnings.front();
    for (const JobSpec& j : f.jobs) {
      EXPECT_EQ(j.filename, "iscsi://127.0.0.1:3999/iqn.x:y/1") << entry.path();
      EXPECT_TRUE(j.time_based) << entry.path();
    }
  }
  EXPECT_GE(files, 7);
}

TEST(JobFile, Errors) {
  EXPECT_THROW(parse_job_file("[global]\nbs=4k\n", {}, no_env), JobFileError);  // no jobs
  EXPECT_THROW(parse_job_file("bs=4k\n[j]\n", {}, no_env), JobFileError);
  EXPECT_THROW(parse_job_file("[j]\nrw=trim\n", {}, no_env), JobFileError);
  EXPECT_THROW(parse_job_file("[j]\nbs=4q\n", {}, no_env), JobFileError);
  EXPECT_THROW(parse_job_file("[j]\niodepth=0\n", {}, no_env), JobFileError);
  EXPECT_THROW(parse_job_file("[j]\nrwmixread=101\n", {}, no_env), JobFileError);
  EXPECT_THROW(parse_job_file("[j]\nverify=md5\n", {}, no_env), JobFileError);
  EXPECT_THROW(parse_job_file("[j]\ntime_based=1\n", {}, no_env), JobFileError);  // no runtime
  EXPECT_THROW(parse_job_file("[j\n", {}, no_env), JobFileError);
}

TEST(JobFile, ParseHelpers) {
  EXPECT_EQ(parse_size("bs", "512"), 512u);
  EXPECT_EQ(parse_size("bs", "4KiB"), 4096u);
  EXPECT_EQ(parse_size("size", "2M"), 2u << 20);
  EXPECT_EQ(parse_size("size", "1t"), 1ull << 40);
  EXPECT_EQ(parse_duration_ns("runtime", "1h"), 3600'000'000'000u);
  EXPECT_EQ(parse_duration_ns("runtime", "250us"), 250'000u);
  EXPECT_THROW(parse_duration_ns("runtime", "5 fortnights"), JobFileError);
  EXPECT_THROW(parse_size("size", ""), JobFileError);
}

TEST(JobFile, PatternPredicates) {
  EXPECT_TRUE(is_random(Pattern::kRandRw));
  EXPECT_FALSE(is_random(Pattern::kSeqRw));
  EXPECT_TRUE(does_reads(Pattern::kSeqRw) && does_writes(Pattern::kSeqRw));
  EXPECT_FALSE(does_writes(Pattern::kRandRead));
  EXPECT_FALSE(does_reads(Pattern::kWrite));
  EXPECT_STREQ(pattern_name(Pattern::kRandRw), "randrw");
}

}  // namespace
}  // namespace sharedisk::bench
