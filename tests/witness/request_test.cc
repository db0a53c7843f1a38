// SPDX-License-Identifier: Apache-2.0
// Tests for witness/request.h: the tlog-witness add-checkpoint body parser.
#include "witness/request.h"

#include <gtest/gtest.h>

#include <string>

#include "core/encoding.h"
#include "tests/witness/witness_testing.h"

namespace kt::witness {
namespace {

using core::Status;

class RequestTest : public ::testing::Test {
 protected:
  RequestTest() : log_("example.com/behind-the-sofa") {}
  testing::TestLog log_;
};

bool IsMalformed(const core::StatusOr<AddCheckpointRequest>& r) {
  return !r.ok() && r.status().code() == Status::Code::kInvalidArgument &&
         r.status().message().rfind("malformed: ", 0) == 0;
}

TEST_F(RequestTest, ParsesSpecShapedRequest) {
  const std::string body = log_.Request(20, 163);
  auto req = ParseAddCheckpointRequest(body);
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  EXPECT_EQ(req->old_size, 20u);
  EXPECT_EQ(req->proof, log_.Proof(20, 163));
  EXPECT_FALSE(req->proof.empty());
  EXPECT_EQ(core::FormatNote(req->checkpoint), log_.Signed(163));
  EXPECT_EQ(FormatAddCheckpointRequest(*req), body);
}

TEST_F(RequestTest, ParsesOldZeroWithoutProof) {
  auto req = ParseAddCheckpointRequest("old 0\n\n" + log_.Signed(5));
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  EXPECT_EQ(req->old_size, 0u);
  EXPECT_TRUE(req->proof.empty());
}

TEST_F(RequestTest, AcceptsSixtyThreeProofLinesRejectsSixtyFour) {
  const std::string note = log_.Signed(7);
  std::vector<core::Hash> proof(63, core::Hash{});
  EXPECT_TRUE(ParseAddCheckpointRequest(testing::TestLog::RequestWith(3, proof, note)).ok());
  proof.push_back(core::Hash{});
  EXPECT_TRUE(IsMalformed(ParseAddCheckpointRequest(testing::TestLog::RequestWith(3, proof, note))));
}

TEST_F(RequestTest, RejectsBadOldLines) {
  std::string rest = log_.Signed(5);
  rest.insert(0, 1, '\n');
  for (const char* old : {"old 01", "old -1", "old +1", "old  1", "Old 1", "old1", "old ",
                                "old 1 ", " old 1", "old 18446744073709551616", "old 0x1",
                                "old 1\r", ""}) {
    SCOPED_TRACE(old);
    EXPECT_TRUE(IsMalformed(ParseAddCheckpointRequest(std::string(old) + "\n" + rest)));
  }
  EXPECT_TRUE(ParseAddCheckpointRequest("old 18446744073709551615\n" + rest).ok());
}

TEST_F(RequestTest, RejectsBadProofLines) {
  const std::string note = log_.Signed(5);
  const std::string h = core::Base64Encode(core::Hash{});
  const core::Bytes short_hash(31, 0);
  const core::Bytes long_hash(33, 0);
  for (const std::string& line : {core::Base64Encode(short_hash), core::Base64Encode(long_hash),
                                 h.substr(0, h.size() - 1), h + " ", " " + h, h + "\r",
                                 std::string("AAAA-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
                                 h.substr(0, h.size() - 2) + "B="}) {
    SCOPED_TRACE(line);
    EXPECT_TRUE(IsMalformed(ParseAddCheckpointRequest("old 1\n" + line + "\n\n" + note)));
  }
}

TEST_F(RequestTest, RejectsMissingPartsAndBadNotes) {
  const std::string note = log_.Signed(5);
  const std::string text = log_.CheckpointAt(5).origin + "\n5\n" +
                           core::Base64Encode(log_.Root(5)) + "\n";
  EXPECT_TRUE(IsMalformed(ParseAddCheckpointRequest("")));
  EXPECT_TRUE(IsMalformed(ParseAddCheckpointRequest("old 0")));
  EXPECT_TRUE(IsMalformed(ParseAddCheckpointRequest("old 0\n")));
  EXPECT_TRUE(IsMalformed(ParseAddCheckpointRequest("old 0\n" + note)));  // no blank line
  EXPECT_TRUE(IsMalformed(ParseAddCheckpointRequest("old 0\n\n")));
  // A note with no signature line at all.
  EXPECT_TRUE(IsMalformed(ParseAddCheckpointRequest("old 0\n\n" + text)));
  EXPECT_TRUE(IsMalformed(ParseAddCheckpointRequest("old 0\n\n" + text + "\n")));
  // Missing final newline.
  EXPECT_TRUE(IsMalformed(ParseAddCheckpointRequest("old 0\n\n" + note.substr(0, note.size() - 1))));
  // Control characters and invalid UTF-8 in the note.
  EXPECT_TRUE(IsMalformed(ParseAddCheckpointRequest("old 0\n\n\x01" + note)));
  EXPECT_TRUE(IsMalformed(ParseAddCheckpointRequest("old 0\n\n\xff" + note)));
}

TEST_F(RequestTest, RejectsOversizedBody) {
  std::string body = "old 0\n\n" + log_.Signed(5);
  body.insert(body.find('\n', 7) + 1, std::string(kMaxRequestSize, 'x') + "\n");
  EXPECT_TRUE(IsMalformed(ParseAddCheckpointRequest(body)));
}

// Mutation loop: every single-byte change either fails to parse or parses to
// a request that formats back to exactly the mutated body.
TEST_F(RequestTest, MutationsFailOrRoundTrip) {
  const std::string body = log_.Request(3, 9);
  for (size_t i = 0; i < body.size(); ++i) {
    for (const uint8_t delta : {0x01, 0x20, 0x80}) {
      std::string m = body;
      m[i] = static_cast<char>(static_cast<uint8_t>(m[i]) ^ delta);
      auto req = ParseAddCheckpointRequest(m);
      if (req.ok()) {
        ASSERT_EQ(FormatAddCheckpointRequest(*req), m) << "byte " << i;
      } else {
        ASSERT_EQ(req.status().code(), Status::Code::kInvalidArgument) << "byte " << i;
      }
    }
  }
  for (size_t n = 0; n < body.size(); ++n) {
    EXPECT_FALSE(ParseAddCheckpointRequest(body.substr(0, n)).ok()) << "truncated to " << n;
  }
}

}  // namespace
}  // namespace kt::witness
