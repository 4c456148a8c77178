// Number, size and boolean parsing; the "did you mean" distance.
#include <gtest/gtest.h>

#include "config/config_internal.h"

namespace sharedisk::config::detail {
namespace {

uint64_t size_of(const std::string& text) {
  uint64_t v = 0;
  EXPECT_EQ(parse_size(text, v), "") << text;
  return v;
}

TEST(Size, PlainAndSuffixedAreBinary) {
  EXPECT_EQ(size_of("4096"), 4096u);
  EXPECT_EQ(size_of("512K"), 512u << 10);
  EXPECT_EQ(size_of("512KiB"), 512u << 10);
  EXPECT_EQ(size_of("64M"), 64ull << 20);
  EXPECT_EQ(size_of("1G"), 1ull << 30);
  EXPECT_EQ(size_of("1 GiB"), 1ull << 30);
  EXPECT_EQ(size_of("2T"), 2ull << 40);
  EXPECT_EQ(size_of("2TiB"), 2ull << 40);
}

TEST(Size, RejectsUnknownSuffixesAndOverflow) {
  uint64_t v = 0;
  EXPECT_NE(parse_size("1GB", v).find("unknown size suffix 'GB'"), std::string::npos);
  EXPECT_NE(parse_size("1g", v).find("unknown size suffix"), std::string::npos);
  EXPECT_NE(parse_size("1.5G", v).find("unknown size suffix"), std::string::npos);
  EXPECT_NE(parse_size("G", v).find("not a size"), std::string::npos);
  EXPECT_NE(parse_size("-1", v).find("not a size"), std::string::npos);
  EXPECT_NE(parse_size("8388608T", v).find("too large"), std::string::npos);  // 2^63
  EXPECT_EQ(parse_size("8388607T", v), "");
  EXPECT_NE(parse_size("99999999999999999999", v).find("too large"), std::string::npos);
}

TEST(Uint, DigitsOnly) {
  uint64_t v = 0;
  EXPECT_EQ(parse_uint("18446744073709551615", v), "");
  EXPECT_EQ(v, UINT64_MAX);
  EXPECT_NE(parse_uint("18446744073709551616", v), "");
  EXPECT_NE(parse_uint("0x10", v), "");
  EXPECT_NE(parse_uint("+1", v), "");
  EXPECT_NE(parse_uint("", v), "");
}

TEST(Bool, YamlSpellings) {
  bool b = false;
  for (const char* t : {"true", "True", "yes", "on", "ON"}) {
    b = false;
    EXPECT_EQ(parse_bool(t, b), "") << t;
    EXPECT_TRUE(b) << t;
  }
  for (const char* t : {"false", "FALSE", "no", "off"}) {
    b = true;
    EXPECT_EQ(parse_bool(t, b), "") << t;
    EXPECT_FALSE(b) << t;
  }
  EXPECT_NE(parse_bool("1", b), "");
  EXPECT_NE(parse_bool("y", b), "");
}

TEST(Closest, SuggestsNearKeysOnly) {
  std::vector<std::string_view> keys = {"number", "path", "size", "block_size", "read_only"};
  EXPECT_EQ(closest("blocksize", keys), "block_size");
  EXPECT_EQ(closest("readonly", keys), "read_only");
  EXPECT_EQ(closest("paht", keys), "path");
  EXPECT_EQ(closest("colour", keys), "");
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("paht", "path"), 1u);
}

}  // namespace
}  // namespace sharedisk::config::detail
