// Superblock probe against mkfs.ocfs2 and debugfs.ocfs2: images made on sparse files for
// every block size and several cluster sizes and slot counts must probe to the values
// `debugfs.ocfs2 -R stats` prints; damaged or foreign images give a clear answer.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "sharedisk/ocfs2/check.h"
#include "sharedisk/ocfs2/cluster_conf.h"
#include "sharedisk/ocfs2/superblock.h"
#include "test_support.h"

namespace sharedisk::ocfs2 {
namespace {

using test::run;

struct Format {
  const char* block;
  const char* cluster;
  int slots;
  const char* size;
  const char* extra = "";  // more mkfs.ocfs2 options
};

std::string describe(const Format& f) {
  return std::string("-b ") + f.block + " -C " + f.cluster + " -N " + std::to_string(f.slots) +
         " " + f.extra;
}

// What debugfs.ocfs2 -R stats says about a volume.
struct Stats {
  std::map<std::string, std::string> fields;
  std::string get(const std::string& pattern) const {
    auto it = fields.find(pattern);
    return it == fields.end() ? "<missing>" : it->second;
  }
};

Stats parse_stats(const std::string& text) {
  Stats s;
  const std::pair<const char*, const char*> patterns[] = {
      {"block_bits", R"(Block Size Bits: (\d+))"},
      {"cluster_bits", R"(Cluster Size Bits: (\d+))"},
      {"slots", R"(Max Node Slots: (\d+))"},
      {"label", R"(\tLabel: ([^\n]*))"},
      {"uuid", R"(\tUUID: ([0-9A-F]+))"},
      {"stack", R"(Cluster stack: ([^\n]*))"},
      {"cluster", R"(Cluster name: ([^\n]*))"},
      {"cluster_flags", R"(Cluster flags: (\d+))"},
      {"compat", R"(Feature Compat: (\d+) ?([^\n]*))"},
      {"incompat", R"(Feature Incompat: (\d+) ?([^\n]*))"},
      {"ro_compat", R"(Feature RO compat: (\d+) ?([^\n]*))"},
      {"clusters", R"(Clusters: (\d+))"},
      {"revision", R"(Revision: ([0-9.]+))"},
  };
  for (const auto& [key, re] : patterns) {
    std::smatch m;
    if (std::regex_search(text, m, std::regex(re))) {
      s.fields[key] = m[1];
      if (m.size() > 2) s.fields[std::string(key) + "_names"] = m[2];
    }
  }
  return s;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

std::string trim(std::string s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

class VolumeOracle : public testing::Test {
 protected:
  void SetUp() override {
    mkfs_ = test::find_tool("mkfs.ocfs2");
    debugfs_ = test::find_tool("debugfs.ocfs2");
    if (mkfs_.empty() || debugfs_.empty())
      GTEST_SKIP() << "mkfs.ocfs2 / debugfs.ocfs2 (ocfs2-tools) are not installed";
    // Without modprobe, mkfs.ocfs2's module-loading child keeps running mkfs itself and
    // several processes format the same image at once.
    if (!std::filesystem::exists("/sbin/modprobe"))
      GTEST_SKIP() << "mkfs.ocfs2 needs /sbin/modprobe (Debian package kmod)";
  }

  std::string make_image(const Format& f, const std::string& name) {
    const std::string img = dir_ / name;
    EXPECT_EQ(run(std::string("truncate -s ") + f.size + " " + img).exit_code, 0);
    const auto r = run(mkfs_ + " -q -F --cluster-stack=o2cb --cluster-name=ocfs2 -N " +
                           std::to_string(f.slots) + " -L Odoo_Cluster -b " + f.block + " -C " +
                           f.cluster + " " + f.extra + " " + img + " </dev/null",
                       true);
    EXPECT_EQ(r.exit_code, 0) << describe(f) << ": " << r.output;
    return img;
  }

  static ProbeResult probe_file(const std::string& path) {
    std::string error;
    auto reader = FileBlockReader::open(path, &error);
    if (!reader) {
      ProbeResult p;
      p.status = ProbeStatus::io_error;
      p.message = error;
      return p;
    }
    return probe_superblock(*reader);
  }

  std::string mkfs_, debugfs_;
  test::TempDir dir_;
};

const Format kFormats[] = {
    {"512", "4K", 2, "128M"},
    {"512", "8K", 3, "128M"},
    {"1K", "4K", 2, "128M"},
    {"1K", "64K", 4, "128M"},
    {"2K", "16K", 2, "128M"},
    {"2K", "256K", 8, "256M"},
    {"4K", "4K", 2, "64M"},
    {"4K", "128K", 2, "128M"},
    {"4K", "1M", 5, "256M"},
    {"4K", "32K", 6, "256M", "--fs-features=metaecc,usrquota"},
    {"1K", "4K", 2, "128M", "--global-heartbeat"},
};

TEST_F(VolumeOracle, ProbeMatchesDebugfsForEveryBlockSize) {
  int n = 0;
  for (const Format& f : kFormats) {
    SCOPED_TRACE(describe(f));
    const std::string img = make_image(f, "img" + std::to_string(n++));
    const auto out = run(debugfs_ + " -R stats " + img);
    ASSERT_EQ(out.exit_code, 0);
    const Stats s = parse_stats(out.output);
    const ProbeResult p = probe_file(img);
    ASSERT_TRUE(p.ok()) << p.message;
    const SuperblockInfo& i = p.info;
    EXPECT_EQ(std::to_string(i.block_size_bits), s.get("block_bits"));
    EXPECT_EQ(std::to_string(i.cluster_size_bits), s.get("cluster_bits"));
    EXPECT_EQ(std::to_string(i.node_slots), s.get("slots"));
    EXPECT_EQ(i.node_slots, static_cast<std::uint32_t>(f.slots));
    EXPECT_EQ(i.label, s.get("label"));
    EXPECT_EQ(i.uuid_hex, s.get("uuid"));
    EXPECT_EQ(i.cluster_stack, s.get("stack"));
    EXPECT_EQ(i.cluster_name, s.get("cluster"));
    EXPECT_EQ(std::to_string(i.stack_flags), s.get("cluster_flags"));
    EXPECT_EQ(std::to_string(i.clusters), s.get("clusters"));
    EXPECT_EQ(std::to_string(i.major_revision) + "." + std::to_string(i.minor_revision),
              s.get("revision"));
    EXPECT_EQ(std::to_string(i.feature_compat), s.get("compat"));
    EXPECT_EQ(std::to_string(i.feature_incompat), s.get("incompat"));
    EXPECT_EQ(std::to_string(i.feature_ro_compat), s.get("ro_compat"));
    EXPECT_EQ(join(feature_names(FeatureClass::compat, i.feature_compat)),
              trim(s.get("compat_names")));
    EXPECT_EQ(join(feature_names(FeatureClass::incompat, i.feature_incompat)),
              trim(s.get("incompat_names")));
    EXPECT_EQ(join(feature_names(FeatureClass::ro_compat, i.feature_ro_compat)),
              trim(s.get("ro_compat_names")));
    // blkid is the other reader of the UUID, in the form fstab uses.
    const std::string blkid = test::find_tool("blkid");
    if (!blkid.empty()) {
      const auto b = run(blkid + " -p -o value -s UUID " + img);
      EXPECT_EQ(b.output, i.uuid + "\n");
    }
  }
}

TEST_F(VolumeOracle, CheckHoldsTheDeploymentAgainstRealImages) {
  const ClusterConf conf =
      parse_cluster_conf(
          "cluster:\n\tnode_count = 2\n\tname = ocfs2\n\nnode:\n\tip_port = 7777\n"
          "\tip_address = 192.168.55.111\n\tnumber = 1\n\tname = odoo1\n\tcluster = ocfs2\n\n"
          "node:\n\tip_port = 7777\n\tip_address = 192.168.55.112\n\tnumber = 2\n"
          "\tname = odoo2\n\tcluster = ocfs2\n")
          .conf;
  const std::string good = make_image({"4K", "128K", 2, "128M"}, "good");
  CheckResult ok = check_volume(conf, probe_file(good));
  EXPECT_TRUE(ok.diagnostics.empty()) << ok.diagnostics.front().to_string();
  EXPECT_EQ(ok.fstab_line.rfind("UUID=", 0), 0u);
  EXPECT_NE(ok.fstab_line.find(" /var/lib/odoo ocfs2 defaults,_netdev 0 0"), std::string::npos);

  const std::string one_slot = make_image({"4K", "4K", 1, "64M"}, "oneslot");
  CheckResult few = check_volume(conf, probe_file(one_slot));
  ASSERT_FALSE(few.ok());
  EXPECT_EQ(few.diagnostics[0].code, "volume-too-few-slots");

  const std::string img = dir_ / "othername";
  run("truncate -s 64M " + img);
  ASSERT_EQ(run(mkfs_ + " -q -F --cluster-stack=o2cb --cluster-name=prod -N 2 -b 4K -C 4K " + img +
                " </dev/null")
                .exit_code,
            0);
  CheckResult other = check_volume(conf, probe_file(img));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.diagnostics[0].code, "volume-cluster-mismatch");

  const std::string local = dir_ / "local";
  run("truncate -s 64M " + local);
  ASSERT_EQ(run(mkfs_ + " -q -F -M local -N 2 -b 4K -C 4K " + local + " </dev/null").exit_code, 0);
  CheckResult loc = check_volume(conf, probe_file(local));
  ASSERT_FALSE(loc.ok());
  EXPECT_EQ(loc.diagnostics[0].code, "volume-local-mount");
}

void patch(const std::string& path, std::uint64_t offset, const std::string& bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST_F(VolumeOracle, DamagedAndForeignImagesGiveAClearAnswer) {
  const std::string ecc = make_image({"4K", "4K", 2, "64M", "--fs-features=metaecc"}, "ecc");
  ASSERT_TRUE(probe_file(ecc).ok());
  patch(ecc, 2 * 4096 + 0xC0 + 0x50, "X");  // one byte of the label: checksum no longer matches
  ProbeResult p = probe_file(ecc);
  EXPECT_EQ(p.status, ProbeStatus::damaged);
  EXPECT_NE(p.message.find("checksum"), std::string::npos) << p.message;

  const std::string bits = make_image({"2K", "4K", 2, "64M"}, "bits");
  patch(bits, 2 * 2048 + 0xC0 + 0x3C, std::string("\x1f\0\0\0", 4));  // cluster size 2^31
  EXPECT_EQ(probe_file(bits).status, ProbeStatus::damaged);

  const std::string sig = make_image({"4K", "4K", 2, "64M"}, "sig");
  patch(sig, 2 * 4096, "NOTFS");
  p = probe_file(sig);
  EXPECT_EQ(p.status, ProbeStatus::not_ocfs2);
  EXPECT_EQ(p.message.rfind("not an OCFS2 volume", 0), 0u);

  const std::string blank = dir_ / "blank";
  run("truncate -s 16M " + blank);
  p = probe_file(blank);
  EXPECT_EQ(p.status, ProbeStatus::not_ocfs2);

  const std::string tiny = dir_ / "tiny";
  test::spit(tiny, "OCFSV2");
  EXPECT_EQ(probe_file(tiny).status, ProbeStatus::not_ocfs2);

  const std::string mkfs_ext = test::find_tool("mkfs.ext4");
  if (!mkfs_ext.empty()) {
    const std::string ext = dir_ / "ext";
    run("truncate -s 16M " + ext);
    ASSERT_EQ(run(mkfs_ext + " -q -F " + ext).exit_code, 0);
    p = probe_file(ext);
    EXPECT_EQ(p.status, ProbeStatus::not_ocfs2);
    EXPECT_NE(p.message.find("ext2/ext3/ext4"), std::string::npos) << p.message;
  }
  EXPECT_EQ(probe_file(dir_ / "does-not-exist").status, ProbeStatus::io_error);
}

}  // namespace
}  // namespace sharedisk::ocfs2
