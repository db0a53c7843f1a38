// SPDX-License-Identifier: Apache-2.0
// Tests for core/tlog_proof parsing and formatting: the C2SP spec example,
// proofs built from the shared Merkle and note vectors, and strict rejects.
#include "core/tlog_proof.h"

#include <gtest/gtest.h>

#include <string>

#include "core/encoding.h"
#include "tests/testing/vectors.h"

namespace kt::core {
namespace {

using kt::testing::Hex;
using kt::testing::HexHash;

// The example of c2sp.org/tlog-proof §Introduction (signatures elided there,
// which ParseTlogProof does not look into).
constexpr std::string_view kSpecExample =
    "c2sp.org/tlog-proof@v1\n"
    "extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ\n"
    "index 73894\n"
    "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n"
    "B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\n"
    "EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=\n"
    "RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=\n"
    "AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=\n"
    "\n"
    "example.com/fancylog\n"
    "109482\n"
    "sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n"
    "\n"
    "\xe2\x80\x94 example.com/fancylog hI2DJw[...]1roloI=\n"
    "\xe2\x80\x94 witness1.example mJirIklj[...]qY9v2B/5bg==\n";

TEST(TlogProofTest, ParsesSpecExample) {
  auto p = ParseTlogProof(kSpecExample);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->index, 73894u);
  ASSERT_EQ(p->inclusion.size(), 5u);
  EXPECT_EQ(Base64Encode(p->inclusion[0]), "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=");
  EXPECT_EQ(Base64Encode(p->extra), "YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ");
  EXPECT_TRUE(p->checkpoint.starts_with("example.com/fancylog\n109482\n"));
  EXPECT_TRUE(p->checkpoint.ends_with("qY9v2B/5bg==\n"));
  EXPECT_EQ(FormatTlogProof(*p), kSpecExample);
}

// Real proofs: leaf i of merkle/tree.json at the size-300 checkpoint of
// merkle/notes.json, audit paths from merkle/inclusion.json.
TEST(TlogProofVectorTest, RoundTripsVectorProofs) {
  auto inc = kt::testing::LoadVectorJson("merkle/inclusion.json");
  auto notes = kt::testing::LoadVectorJson("merkle/notes.json");
  ASSERT_TRUE(inc.is_object() && notes.is_object());
  const std::string checkpoint = notes["cosigned_checkpoint"]["note"].get<std::string>();
  int n = 0;
  for (const auto& v : inc["proofs"]) {
    if (!v["expect_valid"].get<bool>() || v["size"].get<uint64_t>() != 300) continue;
    TlogProof p;
    p.index = v["index"].get<uint64_t>();
    p.extra = ToBytes("leaf-" + std::to_string(p.index));
    for (const auto& h : v["proof"]) p.inclusion.push_back(HexHash(h.get<std::string>()));
    p.checkpoint = checkpoint;
    std::string text = FormatTlogProof(p);
    EXPECT_TRUE(text.starts_with("c2sp.org/tlog-proof@v1\nextra bGVhZi"));
    auto back = ParseTlogProof(text);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, p);
    EXPECT_EQ(FormatTlogProof(*back), text);
    n++;
  }
  EXPECT_GE(n, 5);
}

TlogProof Sample() {
  TlogProof p;
  p.extra = ToBytes("entry");
  p.index = 7;
  p.inclusion = {Hash{}, Hash{1}};
  p.checkpoint = "o\n8\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\xe2\x80\x94 o AAAA\n";
  return p;
}

TEST(TlogProofTest, OmitsAbsentExtraAndEmptyPath) {
  TlogProof p = Sample();
  p.extra.clear();
  p.inclusion.clear();
  p.index = 0;
  std::string text = FormatTlogProof(p);
  EXPECT_EQ(text, "c2sp.org/tlog-proof@v1\nindex 0\n\n" + p.checkpoint);
  auto back = ParseTlogProof(text);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, p);
}

TEST(TlogProofTest, RejectsEveryTruncation) {
  TlogProof p = Sample();
  std::string text = FormatTlogProof(p);
  // Every prefix that cuts before the checkpoint's first line is incomplete.
  size_t checkpoint_at = text.size() - p.checkpoint.size();
  for (size_t n = 0; n < checkpoint_at + 2; n++) {
    EXPECT_FALSE(ParseTlogProof(text.substr(0, n)).ok()) << n;
  }
}

TEST(TlogProofTest, RejectsMalformedLines) {
  const std::string good = FormatTlogProof(Sample());
  ASSERT_TRUE(ParseTlogProof(good).ok());
  auto replace = [&](std::string_view from, std::string_view to) {
    std::string s = good;
    size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    s.replace(at, from.size(), to);
    return s;
  };
  const std::string bad[] = {
      replace("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2"),
      replace("c2sp.org/tlog-proof@v1\n", "c2sp.org/tlog-proof@v1\r\n"),
      replace("c2sp.org/tlog-proof@v1\n", " c2sp.org/tlog-proof@v1\n"),
      replace("extra ZW50cnk=", "extra "),            // empty extra
      replace("extra ZW50cnk=", "extra ZW50cnk"),     // unpadded
      replace("extra ZW50cnk=", "extra  ZW50cnk="),   // double space
      replace("extra ZW50cnk=", "extra ZW50cnk=\nextra ZW50cnk="),
      replace("extra ZW50cnk=", "Extra ZW50cnk="),
      replace("index 7", "index 07"),
      replace("index 7", "index -7"),
      replace("index 7", "index 7 "),
      replace("index 7", "index"),
      replace("index 7", "index 18446744073709551616"),
      replace("index 7\n", ""),                                     // no index
      replace("index 7\n", "index 7\nindex 7\n"),
      replace("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nAQ", "AAAA\nAQ"),  // short hash
      replace("=\n\no\n", "=\no\n"),                 // no empty line
      good.substr(0, good.size() - 1) + "x",         // checkpoint not newline-terminated
  };
  for (const auto& s : bad) EXPECT_FALSE(ParseTlogProof(s).ok()) << s;
  // A trailing empty line goes into the (unchecked) checkpoint verbatim.
  auto extra_blank = ParseTlogProof(good + "\n");
  ASSERT_TRUE(extra_blank.ok());
  EXPECT_EQ(FormatTlogProof(*extra_blank), good + "\n");
}

TEST(TlogProofTest, BoundsPathLength) {
  TlogProof p = Sample();
  p.inclusion.assign(kMaxTlogProofHashes, Hash{});
  EXPECT_TRUE(ParseTlogProof(FormatTlogProof(p)).ok());
  p.inclusion.push_back(Hash{});
  EXPECT_FALSE(ParseTlogProof(FormatTlogProof(p)).ok());
}

}  // namespace
}  // namespace kt::core
