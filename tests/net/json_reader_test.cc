// SPDX-License-Identifier: Apache-2.0
// Tests for net/json_reader: the token tape, member lookup (last repeated key
// wins), string decoding, and acceptance equal to nlohmann::json::parse on
// the edge cases that differ between JSON parsers (BOM, surrogates, UTF-8,
// number overflow, deep nesting, trailing text).
#include "net/json_reader.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kt::net {
namespace {

bool NlohmannAccepts(std::string_view s) {
  return !nlohmann::json::parse(s, nullptr, false).is_discarded();
}

TEST(JsonReaderTest, ReadsObjectMembersAndArrays) {
  std::string text = R"({"a": 1, "b": [true, null, "x", {"c": -2.5}], "a": "last", "e": {}})";
  auto doc = JsonDocument::Parse(text);
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  ASSERT_EQ(doc->at(0).type, JsonType::kObject);
  EXPECT_EQ(doc->at(0).value, 4u);  // members, the repeated key included
  size_t a = doc->Member(0, "a");
  ASSERT_NE(a, JsonDocument::kNone);
  EXPECT_EQ(doc->at(a).type, JsonType::kString);
  EXPECT_EQ(doc->String(a), "last");
  EXPECT_EQ(doc->Member(0, "zz"), JsonDocument::kNone);
  size_t b = doc->Member(0, "b");
  ASSERT_EQ(doc->at(b).type, JsonType::kArray);
  EXPECT_EQ(doc->at(b).value, 4u);
  std::vector<JsonType> types;
  for (size_t e = doc->FirstElement(b); e != JsonDocument::kNone; e = doc->NextElement(b, e)) {
    types.push_back(doc->at(e).type);
  }
  EXPECT_EQ(types, (std::vector<JsonType>{JsonType::kBool, JsonType::kNull, JsonType::kString,
                                          JsonType::kObject}));
  size_t e = doc->Member(0, "e");
  EXPECT_EQ(doc->at(e).type, JsonType::kObject);
  EXPECT_EQ(doc->FirstElement(e), JsonDocument::kNone);
}

TEST(JsonReaderTest, ClassifiesNumbersLikeNlohmann) {
  struct Case {
    const char* text;
    bool is_unsigned;
    uint64_t value;
  };
  for (const Case& c : {Case{"0", true, 0}, Case{"18446744073709551615", true, UINT64_MAX},
                        Case{"18446744073709551616", false, 0}, Case{"-0", false, 0},
                        Case{"-5", false, 0}, Case{"1.0", false, 0}, Case{"1e2", false, 0},
                        Case{"7", true, 7}}) {
    auto doc = JsonDocument::Parse(c.text);
    ASSERT_TRUE(doc.ok()) << c.text;
    EXPECT_EQ(doc->at(0).flag, c.is_unsigned) << c.text;
    EXPECT_EQ(nlohmann::json::parse(c.text).is_number_unsigned(), c.is_unsigned) << c.text;
    if (c.is_unsigned) {
      EXPECT_EQ(doc->at(0).value, c.value) << c.text;
    }
  }
}

TEST(JsonReaderTest, DecodesEscapes) {
  auto doc = JsonDocument::Parse(R"(["a\"\\\/\b\f\n\r\t\u00e9\u20AC\ud83d\ude00\u0000z"])");
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  EXPECT_EQ(doc->String(1), std::string("a\"\\/\b\f\n\r\t\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 18) +
                                std::string(1, '\0') + "z");
  EXPECT_TRUE(doc->StringEquals(1, doc->String(1)));
  EXPECT_FALSE(doc->StringEquals(1, "a"));
}

TEST(JsonReaderTest, AcceptsExactlyWhatNlohmannAccepts) {
  const std::vector<std::string> cases = {
      "{}", "[]", " {\"a\":1} ", "\xEF\xBB\xBF{}", "\xEF\xBB\xBF\xEF\xBB\xBF{}", "",
      "   ", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "[,1]", "{} {}", "{}x",
      "01", "-", "1.", ".5", "1e", "1e+", "-01", "1E400", "-1e400", "1e-400",
      "123456789012345678901234567890", std::string(400, '9'), "tru", "nul", "True",
      "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\ud800\\udc00\"", "\"\\x\"",
      "\"\\u12\"", "\"\\u00G0\"", std::string("\"a\x01\""), "\"\x7f\"", "\"\xC3\xA9\"",
      "\"\xC3\"", "\"\xC0\x80\"", "\"\xED\xA0\x80\"", "\"\xF4\x90\x80\x80\"", "\"\xF0\x9F\x98\x80\"",
      "\"\xE2\x82\"\\u00ac\"", "{\"a\":1 \"b\":2}", "[1 2]", "\"abc", "{\"a\":[}", "[\"\\\"]",
      "\t\r\n[\t1\r\n]\n", "\f[]", "[1]\x00", std::string("[1]\0", 4), std::string("[1] \0x", 5), std::string("\0", 1),
      std::string("[1,\0]", 5), std::string("1\0", 2), std::string("\"a\0\"", 4), "{\"\":0}", "null",
      "[[[[[[]]]]]]", "[[[[[[]]]]]"};
  for (const std::string& c : cases) {
    EXPECT_EQ(JsonDocument::Parse(c).ok(), NlohmannAccepts(c)) << "input: " << c;
  }
}

TEST(JsonReaderTest, DeepNestingNeedsNoRecursion) {
  const size_t depth = 200000;
  std::string text = std::string(depth, '[') + std::string(depth, ']');
  auto doc = JsonDocument::Parse(text);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->size(), depth);
  EXPECT_EQ(doc->at(0).end, depth);
  EXPECT_FALSE(JsonDocument::Parse(text.substr(1)).ok());
}

TEST(JsonReaderTest, ReportsTheOffsetOfAnError) {
  auto doc = JsonDocument::Parse("{\"a\": tru}");
  ASSERT_FALSE(doc.ok());
  EXPECT_NE(doc.status().message().find("byte 6"), std::string::npos) << doc.status().message();
}

}  // namespace
}  // namespace kt::net
