// SPDX-License-Identifier: Apache-2.0
// Tests for net/json_writer: string literals byte-identical to
// nlohmann::json::dump for every byte below 0x80 and multi-byte UTF-8.
#include "net/json_writer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace kt::net {
namespace {

std::string Written(std::string_view s) {
  std::string out = "x";
  AppendJsonString(&out, s);
  return out.substr(1);
}

TEST(JsonWriterTest, MatchesNlohmannDumpForEveryAsciiByte) {
  for (int c = 0; c < 0x80; c++) {
    std::string s = "a";
    s.push_back(static_cast<char>(c));
    s += "b";
    EXPECT_EQ(Written(s), nlohmann::json(s).dump()) << "byte " << c;
  }
}

TEST(JsonWriterTest, MatchesNlohmannDumpForTextAndUtf8) {
  for (std::string s :
       {std::string(), std::string("c2sp.org/tlog-proof@v1\nindex 5\n\n\xE2\x80\x94 log sig\n"),
        std::string("\"\\\"\\"), std::string("\xC3\xA9\xF0\x9F\x98\x80"),
        std::string("nul\0inside", 10)}) {
    EXPECT_EQ(Written(s), nlohmann::json(s).dump());
  }
}

TEST(JsonWriterTest, Appends) {
  std::string out = "{\"a\":";
  AppendJsonString(&out, "x\ny");
  EXPECT_EQ(out, "{\"a\":\"x\\ny\"");
}

}  // namespace
}  // namespace kt::net
