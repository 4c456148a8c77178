// Default serials and NAA identifiers: stable, distinct, well-formed.
#include <gtest/gtest.h>

#include <array>
#include <set>
#include <vector>

#include "config/config.h"
#include "config/config_internal.h"

namespace sharedisk::config {
namespace {

using detail::default_naa;
using detail::default_serial;

TEST(StableIds, SameInputSameOutput) {
  EXPECT_EQ(default_serial("iqn.2019-02.lb2:odcfs2", 1),
            default_serial("iqn.2019-02.lb2:odcfs2", 1));
  EXPECT_EQ(default_naa("iqn.2019-02.lb2:odcfs2", 1), default_naa("iqn.2019-02.lb2:odcfs2", 1));
}

TEST(StableIds, MatchFnv1aReference) {
  // FNV-1a 64 of the empty string is the offset basis; of "a" a published value.
  // Our input is "<iqn>\0<lun>", so check the function against a hand-made
  // fold of the same bytes to pin the algorithm across compilers and libraries.
  std::string bytes = std::string("iqn.2019-02.lb2:odcfs2") + '\0' + "1";
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  EXPECT_EQ(detail::lun_hash("iqn.2019-02.lb2:odcfs2", 1), h);
  char want[17];
  std::snprintf(want, sizeof want, "%016llx", static_cast<unsigned long long>(h));
  EXPECT_EQ(default_serial("iqn.2019-02.lb2:odcfs2", 1), want);
  // The 64-bit extension of the NAA is the same hash.
  EXPECT_EQ(default_naa("iqn.2019-02.lb2:odcfs2", 1).substr(16), want);
}

TEST(StableIds, DifferentLunOrTargetDiffers) {
  std::set<std::string> serials, naas;
  for (const char* iqn : {"iqn.2019-02.lb2:odcfs2", "iqn.2019-02.lb2:odcfs3"}) {
    for (uint64_t lun = 0; lun < 64; ++lun) {
      serials.insert(default_serial(iqn, lun));
      naas.insert(default_naa(iqn, lun));
    }
  }
  EXPECT_EQ(serials.size(), 128u);
  EXPECT_EQ(naas.size(), 128u);
  // "lun 1" of "...:x1" must not collide with "lun 11" of "...:x" (the separator).
  EXPECT_NE(default_serial("iqn.2019-02.lb2:x1", 1), default_serial("iqn.2019-02.lb2:x", 11));
}

TEST(StableIds, DefaultNaaIsType6WithTheDocumentedCompanyId) {
  std::string naa = default_naa("iqn.2019-02.lb2:odcfs2", 1);
  ASSERT_EQ(naa.size(), 32u);
  EXPECT_EQ(naa.substr(0, 7), "6001405");  // NAA 6, company ID 00-14-05
  std::string normalized;
  EXPECT_EQ(detail::check_naa(naa, normalized), "");
  std::vector<uint8_t> bytes = naa_bytes(naa);
  ASSERT_EQ(bytes.size(), 16u);
  EXPECT_EQ(bytes[0] >> 4, 6);
  EXPECT_EQ(bytes[1], 0x01);
  EXPECT_EQ(bytes[2], 0x40);
  EXPECT_EQ(bytes[3] >> 4, 0x5);
}

TEST(StableIds, SerialIsPrintableAndShort) {
  std::string s = default_serial("iqn.2019-02.lb2:odcfs2", 16383);
  EXPECT_EQ(s.size(), 16u);
  for (char c : s) EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(c))) << s;
}

// Two gateways exporting one RBD image must report the same logical unit,
// whatever their target IQN or LUN number: the identity depends only on the
// cluster fsid, pool, namespace and image.
TEST(RbdIds, SameImageSameIdentity) {
  const std::string fsid = "c1a8e9f2-3b4d-4e5f-8a9b-0c1d2e3f4a5b";
  EXPECT_EQ(rbd_serial(fsid, "rbd", "", "odoo"), rbd_serial(fsid, "rbd", "", "odoo"));
  EXPECT_EQ(rbd_naa(fsid, "rbd", "", "odoo"), rbd_naa(fsid, "rbd", "", "odoo"));
  // Pinned to the algorithm: FNV-1a 64 of "rbd\0<fsid>\0<pool>\0<ns>\0<image>".
  std::string bytes =
      "rbd" + std::string(1, '\0') + fsid + '\0' + "rbd" + '\0' + "" + '\0' + "odoo";
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  EXPECT_EQ(rbd_image_hash(fsid, "rbd", "", "odoo"), h);
  char want[17];
  std::snprintf(want, sizeof want, "%016llx", static_cast<unsigned long long>(h));
  EXPECT_EQ(rbd_serial(fsid, "rbd", "", "odoo"), want);
  std::string naa = rbd_naa(fsid, "rbd", "", "odoo");
  ASSERT_EQ(naa.size(), 32u);
  EXPECT_EQ(naa.substr(0, 7), "6001405");  // NAA 6, company id 0x001405
  EXPECT_EQ(naa.substr(16), want);
  std::string normalized;
  EXPECT_EQ(detail::check_naa(naa, normalized), "");
}

TEST(RbdIds, AnyDifferenceGivesAnotherIdentity) {
  const std::string a = "c1a8e9f2-3b4d-4e5f-8a9b-0c1d2e3f4a5b";
  const std::string b = "d2b9f0a3-3b4d-4e5f-8a9b-0c1d2e3f4a5b";
  std::set<std::string> serials, naas;
  const std::vector<std::array<std::string, 4>> inputs = {
      {a, "rbd", "", "odoo"},  {a, "rbd", "", "odoo2"},  {b, "rbd", "", "odoo"},
      {a, "rbd2", "", "odoo"}, {a, "rbd", "ns", "odoo"}, {a, "rb", "", "dodoo"},
      {a, "rbd", "o", "doo"},
  };
  for (const auto& in : inputs) {
    serials.insert(rbd_serial(in[0], in[1], in[2], in[3]));
    naas.insert(rbd_naa(in[0], in[1], in[2], in[3]));
  }
  EXPECT_EQ(serials.size(), inputs.size());
  EXPECT_EQ(naas.size(), inputs.size());
  // Never the identity a file LUN of some target would get by default.
  EXPECT_NE(rbd_serial(a, "rbd", "", "odoo"), default_serial("rbd", 0));
}

TEST(Naa, ChecksTypeAndLength) {
  std::string out;
  EXPECT_EQ(detail::check_naa("5000C500ABCDEF01", out), "");
  EXPECT_EQ(out, "5000c500abcdef01");
  EXPECT_EQ(detail::check_naa("3000000000000001", out), "");
  EXPECT_EQ(detail::check_naa("2000000000000001", out), "");
  EXPECT_EQ(detail::check_naa("60014050000000000000000000000001", out), "");
  EXPECT_NE(detail::check_naa("6001405000000000", out).find("needs 32"), std::string::npos);
  EXPECT_NE(detail::check_naa("50000000000000000000000000000001", out).find("needs 16"),
            std::string::npos);
  EXPECT_NE(detail::check_naa("1000000000000001", out).find("2, 3, 5 or 6"), std::string::npos);
  EXPECT_NE(detail::check_naa("5000c500abcdef0g", out).find("hex"), std::string::npos);
  EXPECT_NE(detail::check_naa("", out), "");
}

TEST(Naa, BytesDecodeOrRejectGarbage) {
  EXPECT_EQ(naa_bytes("5000c500abcdef01"),
            (std::vector<uint8_t>{0x50, 0x00, 0xc5, 0x00, 0xab, 0xcd, 0xef, 0x01}));
  EXPECT_TRUE(naa_bytes("5000c500abcdef0").empty());
  EXPECT_TRUE(naa_bytes("5000c500abcdef0x").empty());
}

}  // namespace
}  // namespace sharedisk::config
