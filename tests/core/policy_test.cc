// SPDX-License-Identifier: Apache-2.0
// Tests for core/policy (C2SP tlog-policy): the spec's example policy with a
// brute-force quorum check, syntax rules, every rejection rule, round trips.
#include "core/policy.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/testing/vectors.h"

namespace kt::core {
namespace {

std::string Vkey(std::string_view name, uint8_t type, uint8_t seed_byte) {
  auto k = SignerKeyFromSeed(name, type, Bytes(32, seed_byte));
  KT_CHECK(k.ok());
  return k->VerifierKeyString();
}
std::string LogVkey(uint8_t seed) { return Vkey("kt.example/log", kSigTypeEd25519, seed); }
std::string WitnessVkey(std::string_view name, uint8_t seed) {
  return Vkey(name, kSigTypeCosignatureV1, seed);
}

// tlog-policy §Example policy, with real keys.
std::string SpecExample() {
  std::string s = "log " + LogVkey(1) + "\n\n";
  for (int i = 1; i <= 3; i++) {
    s += "witness X" + std::to_string(i) + " " +
         WitnessVkey("x" + std::to_string(i) + ".example", static_cast<uint8_t>(10 + i)) + "\n";
  }
  s += "group X-witnesses 2 X1 X2 X3\n\n";
  for (int i = 1; i <= 3; i++) {
    s += "witness Y" + std::to_string(i) + " " +
         WitnessVkey("y" + std::to_string(i) + ".example", static_cast<uint8_t>(20 + i)) + "\n";
  }
  s += "group Y-witnesses any Y1 Y2 Y3\n\n";
  s += "group X-and-Y all X-witnesses Y-witnesses\nquorum X-and-Y\n";
  return s;
}

TEST(PolicyTest, ParsesSpecExampleAndEvaluatesEveryCosignerSet) {
  auto p = ParsePolicy(SpecExample());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->logs.size(), 1u);
  EXPECT_EQ(p->logs[0].key.name, "kt.example/log");
  ASSERT_EQ(p->witnesses.size(), 6u);
  ASSERT_EQ(p->groups.size(), 3u);
  EXPECT_EQ(p->groups[0].threshold, 2u);
  EXPECT_EQ(p->groups[1].threshold, 1u);
  EXPECT_EQ(p->groups[2].threshold, 2u);
  EXPECT_EQ(p->quorum, "X-and-Y");
  const char* names[] = {"X1", "X2", "X3", "Y1", "Y2", "Y3"};
  for (int mask = 0; mask < 64; mask++) {
    std::set<std::string> cosigned;
    int x = 0, y = 0;
    for (int i = 0; i < 6; i++) {
      if (mask & (1 << i)) {
        cosigned.insert(names[i]);
        (i < 3 ? x : y)++;
      }
    }
    EXPECT_EQ(QuorumSatisfied(*p, cosigned), x >= 2 && y >= 1) << mask;
  }
  // Group names and strangers do not count as cosigners.
  EXPECT_FALSE(QuorumSatisfied(*p, {"X-witnesses", "Y-witnesses", "X-and-Y", "Z"}));
}

TEST(PolicyTest, AcceptsWhitespaceCommentsAndUrls) {
  std::string text = "# trust policy\n  \t\n\t# indented comment\n \tlog\t " + LogVkey(1) +
                     "  https://log.example/ \t\n" + "witness w1 " + WitnessVkey("w1.example", 2) +
                     " https://w1.example/\n" + "quorum\tw1";  // no final newline
  auto p = ParsePolicy(text);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->logs[0].url, "https://log.example/");
  EXPECT_EQ(p->witnesses[0].url, "https://w1.example/");
  EXPECT_TRUE(QuorumSatisfied(*p, {"w1"}));
  EXPECT_FALSE(QuorumSatisfied(*p, {}));
  EXPECT_EQ(FormatPolicy(*p), "log " + LogVkey(1) + " https://log.example/\nwitness w1 " +
                                  WitnessVkey("w1.example", 2) +
                                  " https://w1.example/\nquorum w1\n");
}

TEST(PolicyTest, QuorumNoneNeedsNoWitnesses) {
  auto p = ParsePolicy("quorum none\n");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->logs.empty());
  EXPECT_TRUE(QuorumSatisfied(*p, {}));
}

TEST(PolicyTest, NamesAreOpaqueOctets) {
  // "K" and the Kelvin sign are different names (§Character set).
  std::string text = "witness K " + WitnessVkey("a.example", 2) + "\nwitness \xe2\x84\xaa " +
                     WitnessVkey("b.example", 3) + "\ngroup g all K \xe2\x84\xaa\nquorum g\n";
  auto p = ParsePolicy(text);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_FALSE(QuorumSatisfied(*p, {"K"}));
  EXPECT_TRUE(QuorumSatisfied(*p, {"K", "\xe2\x84\xaa"}));
}

TEST(PolicyTest, RoundTripsThroughFormat) {
  auto p = ParsePolicy(SpecExample());
  ASSERT_TRUE(p.ok());
  std::string formatted = FormatPolicy(*p);
  EXPECT_NE(formatted.find("group X-witnesses 2 X1 X2 X3\n"), std::string::npos);
  EXPECT_NE(formatted.find("group Y-witnesses any Y1 Y2 Y3\n"), std::string::npos);
  EXPECT_NE(formatted.find("group X-and-Y all X-witnesses Y-witnesses\n"), std::string::npos);
  auto q = ParsePolicy(formatted);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_TRUE(SamePolicy(*p, *q));
  EXPECT_EQ(FormatPolicy(*q), formatted);
  q->quorum = "X-witnesses";
  EXPECT_FALSE(SamePolicy(*p, *q));
}

TEST(PolicyTest, RejectsInvalidPolicies) {
  const std::string L = LogVkey(1), L2 = LogVkey(2);
  const std::string A = WitnessVkey("a.example", 3), B = WitnessVkey("b.example", 4);
  const std::string wa = "witness a " + A + "\n", wb = "witness b " + B + "\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"no quorum", "log " + L + "\n"},
      {"empty file", ""},
      {"two quorums", wa + "quorum a\nquorum a\n"},
      {"quorum undefined", "quorum a\n"},
      {"quorum before definition", "quorum a\n" + wa},
      {"quorum two names", wa + wb + "quorum a b\n"},
      {"unknown keyword", wa + "quorum a\nwitnesses x " + B + "\n"},
      {"keyword case", wa + "Quorum a\n"},
      {"trailing comment", wa + "quorum a # the witness\n"},
      {"log missing key", "log\nquorum none\n"},
      {"log extra field", "log " + L + " https://x/ y\nquorum none\n"},
      {"log bad vkey", "log " + L.substr(0, L.size() - 4) + "\nquorum none\n"},
      {"log key of witness type", "log " + A + "\nquorum none\n"},
      {"witness key of log type", "witness a " + L + "\nquorum none\n"},
      {"duplicate log", "log " + L + "\nlog " + L + "\nquorum none\n"},
      {"duplicate log key, other name",
       "log " + L + "\nlog " + Vkey("other/log", kSigTypeEd25519, 1) + "\nquorum none\n"},
      {"duplicate witness key, other name",
       wa + "witness b " + WitnessVkey("other.example", 3) + "\nquorum a\n"},
      {"duplicate witness name", wa + "witness a " + B + "\nquorum a\n"},
      {"witness named none", "witness none " + A + "\nquorum none\n"},
      {"witness missing key", "witness a\nquorum none\n"},
      {"group named like witness", wa + "group a 1 a\nquorum a\n"},
      {"group named none", wa + "group none 1 a\nquorum none\n"},
      {"group without members", wa + "group g any\nquorum g\n"},
      {"group member none", wa + "group g any a none\nquorum g\n"},
      {"group member undefined", wa + "group g any a c\nquorum g\n"},
      {"group forward reference", wa + "group g any a b\n" + wb + "quorum g\n"},
      {"group self reference", wa + "group g any a g\nquorum g\n"},
      {"group member twice", wa + "group g 1 a a\nquorum g\n"},
      {"threshold zero", wa + "group g 0 a\nquorum g\n"},
      {"threshold above n", wa + wb + "group g 3 a b\nquorum g\n"},
      {"threshold leading zero", wa + wb + "group g 01 a b\nquorum g\n"},
      {"threshold sign", wa + wb + "group g +1 a b\nquorum g\n"},
      {"threshold word", wa + wb + "group g some a b\nquorum g\n"},
      {"carriage return", wa + "quorum a\r\n"},
      {"DEL octet", wa + "quorum a\n# \x7f\n"},
      {"vertical tab separator", "witness\va " + A + "\nquorum a\n"},
  };
  for (const auto& [name, text] : cases) {
    auto p = ParsePolicy(text);
    EXPECT_FALSE(p.ok()) << name;
    if (!p.ok()) {
      EXPECT_EQ(p.status().code(), Status::Code::kInvalidArgument) << name;
    }
  }
  // A NUL octet (built by hand: a literal would end the C string).
  std::string with_nul = wa + "quorum a\n# x\n";
  with_nul[with_nul.size() - 2] = '\0';
  EXPECT_FALSE(ParsePolicy(with_nul).ok());
  // And the valid baseline of those cases parses.
  EXPECT_TRUE(ParsePolicy(wa + wb + "group g 2 a b\nquorum g\n").ok());
  EXPECT_TRUE(ParsePolicy("log " + L + "\nlog " + L2 + "\nquorum none\n").ok());
}

TEST(PolicyTest, NestedGroupsEvaluateInOrder) {
  std::string text;
  for (int i = 0; i < 4; i++) {
    text += "witness w" + std::to_string(i) + " " +
            WitnessVkey("w" + std::to_string(i) + ".example", static_cast<uint8_t>(40 + i)) + "\n";
  }
  text += "group a 1 w0 w1\ngroup b all a w2\ngroup c any b w3\nquorum c\n";
  auto p = ParsePolicy(text);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(QuorumSatisfied(*p, {"w3"}));
  EXPECT_TRUE(QuorumSatisfied(*p, {"w1", "w2"}));
  EXPECT_FALSE(QuorumSatisfied(*p, {"w0", "w1"}));
  EXPECT_FALSE(QuorumSatisfied(*p, {"w2"}));
}

TEST(PolicyTest, FindsWitnessByKeyNameAndId) {
  auto p = ParsePolicy(SpecExample());
  ASSERT_TRUE(p.ok());
  const PolicyWitness& y2 = p->witnesses[4];
  EXPECT_EQ(FindWitness(*p, y2.key.name, y2.key.key_id), &y2);
  EXPECT_EQ(FindWitness(*p, y2.key.name, y2.key.key_id + 1), nullptr);
  EXPECT_EQ(LogKeys(*p).size(), 1u);
  EXPECT_EQ(WitnessKeys(*p).size(), 6u);
}

TEST(PolicyVectorTest, ParsesVectorKeys) {
  auto notes = kt::testing::LoadVectorJson("merkle/notes.json");
  ASSERT_TRUE(notes.is_object());
  std::string text = "log " + notes["log_key"]["vkey"].get<std::string>() + "\nwitness w1 " +
                     notes["witness_key"]["vkey"].get<std::string>() + "\nwitness w2 " +
                     notes["witness_key_2"]["vkey"].get<std::string>() +
                     "\ngroup both all w1 w2\nquorum both\n";
  auto p = ParsePolicy(text);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->logs[0].key.name, notes["log_key"]["name"].get<std::string>());
  EXPECT_EQ(FormatPolicy(*p), text);
  // A log vkey in a witness line (type 0x01) is refused.
  std::string swapped =
      "witness w1 " + notes["log_key"]["vkey"].get<std::string>() + "\nquorum w1\n";
  EXPECT_FALSE(ParsePolicy(swapped).ok());
}

}  // namespace
}  // namespace kt::core
