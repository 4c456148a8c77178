// Text key=value data (RFC 7143 §6.1): what parse_text accepts and refuses,
// the limits on key and value length, and the number/bool/list helpers.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "iscsi/text_keys.h"

namespace sharedisk::iscsi {
namespace {

struct Parsed {
  bool ok;
  std::vector<KeyValue> keys;
  std::string error;
};

Parsed parse(const std::string& text) {
  Parsed p;
  p.ok = parse_text(reinterpret_cast<const uint8_t*>(text.data()), text.size(), &p.keys, &p.error);
  return p;
}

std::string pair(const std::string& k, const std::string& v) {
  std::string s;
  append_key(s, k, v);
  return s;
}

TEST(TextKeys, AppendKeyFormat) {
  std::string s;
  append_key(s, "HeaderDigest", "None");
  append_key(s, "MaxBurstLength", "262144");
  EXPECT_EQ(s, std::string("HeaderDigest=None\0MaxBurstLength=262144\0", 40));
}

TEST(TextKeys, ParsesPairsInOrder) {
  Parsed p = parse(pair("InitiatorName", "iqn.2024-01.x:y") + pair("SessionType", "Normal") +
                   pair("Empty", ""));
  ASSERT_TRUE(p.ok) << p.error;
  ASSERT_EQ(p.keys.size(), 3u);
  EXPECT_EQ(p.keys[0].key, "InitiatorName");
  EXPECT_EQ(p.keys[0].value, "iqn.2024-01.x:y");
  EXPECT_EQ(p.keys[1].key, "SessionType");
  EXPECT_EQ(p.keys[2].key, "Empty");
  EXPECT_EQ(p.keys[2].value, "");
}

TEST(TextKeys, ValueMayContainEquals) {
  Parsed p = parse(pair("X-com.example.k", "a=b=c"));
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.keys[0].value, "a=b=c");
}

TEST(TextKeys, EmptyInputIsEmptyList) {
  Parsed p = parse("");
  EXPECT_TRUE(p.ok);
  EXPECT_TRUE(p.keys.empty());
}

TEST(TextKeys, TrailingAndPaddingNulsIgnored) {
  std::string text = pair("A", "1") + std::string(3, '\0');
  Parsed p = parse(text);
  ASSERT_TRUE(p.ok) << p.error;
  ASSERT_EQ(p.keys.size(), 1u);
  EXPECT_EQ(p.keys[0].value, "1");
}

TEST(TextKeys, LastPairWithoutNulAccepted) {
  Parsed p = parse(pair("A", "1") + "B=2");
  ASSERT_TRUE(p.ok) << p.error;
  ASSERT_EQ(p.keys.size(), 2u);
  EXPECT_EQ(p.keys[1].key, "B");
  EXPECT_EQ(p.keys[1].value, "2");
}

TEST(TextKeys, PairWithoutEqualsRefused) {
  Parsed p = parse(pair("A", "1") + std::string("NoEqualsHere\0", 13));
  EXPECT_FALSE(p.ok);
  EXPECT_NE(p.error.find("NoEqualsHere"), std::string::npos) << p.error;
}

TEST(TextKeys, EmptyKeyRefused) {
  EXPECT_FALSE(parse(std::string("=value\0", 7)).ok);
}

TEST(TextKeys, KeyLengthLimitIs63) {
  EXPECT_TRUE(parse(pair(std::string(63, 'K'), "v")).ok);
  Parsed p = parse(pair(std::string(64, 'K'), "v"));
  EXPECT_FALSE(p.ok);
  EXPECT_FALSE(p.error.empty());
}

TEST(TextKeys, ValueLengthLimit) {
  EXPECT_TRUE(parse(pair("K", std::string(kMaxValue, 'v'))).ok);
  EXPECT_FALSE(parse(pair("K", std::string(kMaxValue + 1, 'v'))).ok);
}

TEST(TextKeys, RepeatedKeyRefused) {
  Parsed p = parse(pair("MaxBurstLength", "1") + pair("X", "y") + pair("MaxBurstLength", "2"));
  EXPECT_FALSE(p.ok);
  EXPECT_NE(p.error.find("MaxBurstLength"), std::string::npos) << p.error;
}

TEST(TextKeys, KeysAreCaseSensitive) {
  Parsed p = parse(pair("HeaderDigest", "None") + pair("headerdigest", "None"));
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.keys.size(), 2u);
}

TEST(TextNumber, Decimal) {
  uint64_t v = 0;
  EXPECT_TRUE(parse_number("0", &v));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(parse_number("262144", &v));
  EXPECT_EQ(v, 262144u);
  EXPECT_TRUE(parse_number("18446744073709551615", &v));
  EXPECT_EQ(v, ~0ull);
}

TEST(TextNumber, Hex) {
  uint64_t v = 0;
  EXPECT_TRUE(parse_number("0x10", &v));
  EXPECT_EQ(v, 16u);
  EXPECT_TRUE(parse_number("0XfF", &v));
  EXPECT_EQ(v, 255u);
  EXPECT_TRUE(parse_number("0x00ffFFff", &v));
  EXPECT_EQ(v, 0xffffffu);
}

TEST(TextNumber, Refused) {
  uint64_t v = 0;
  for (const char* bad : {"", "0x", "x10", "12a", " 12", "12 ", "-1", "+1", "1.5", "0x1g",
                          "18446744073709551616", "0b101"})
    EXPECT_FALSE(parse_number(bad, &v)) << '"' << bad << '"';
}

TEST(TextBool, OnlyYesAndNo) {
  bool b = false;
  EXPECT_TRUE(parse_bool("Yes", &b));
  EXPECT_TRUE(b);
  EXPECT_TRUE(parse_bool("No", &b));
  EXPECT_FALSE(b);
  for (const char* bad : {"yes", "no", "YES", "true", "1", "", "Yes "})
    EXPECT_FALSE(parse_bool(bad, &b)) << bad;
}

TEST(TextList, Split) {
  auto items = split_list("CRC32C,None");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0], "CRC32C");
  EXPECT_EQ(items[1], "None");

  items = split_list("None");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0], "None");

  items = split_list("a,,b,");
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[1], "");
  EXPECT_EQ(items[2], "b");
  EXPECT_EQ(items[3], "");

  items = split_list("");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0], "");
}

}  // namespace
}  // namespace sharedisk::iscsi
