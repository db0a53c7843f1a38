// SPDX-License-Identifier: Apache-2.0
// Tests for the Status <-> HTTP table and the JSON error body.
#include "net/http_status.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace kt::net {
namespace {

using core::Status;
using Code = Status::Code;

TEST(HttpStatusTest, Table) {
  EXPECT_EQ(HttpStatusFor(Code::kOk), 200);
  EXPECT_EQ(HttpStatusFor(Code::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(Code::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusFor(Code::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusFor(Code::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(Code::kConflict), 409);
  EXPECT_EQ(HttpStatusFor(Code::kVerificationFailed), 422);
  EXPECT_EQ(HttpStatusFor(Code::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusFor(Code::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(Code::kCorruption), 500);
  EXPECT_EQ(HttpStatusFor(Code::kIOError), 500);
  EXPECT_EQ(HttpStatusFor(Code::kInternal), 500);
}

TEST(HttpStatusTest, JsonErrorShape) {
  auto j = nlohmann::json::parse(JsonError(Status::NotFound("no entry \"x\"")));
  EXPECT_EQ(j, nlohmann::json({{"error", "no entry \"x\""}, {"code", "not_found"}}));
  auto c = nlohmann::json::parse(JsonError(Status::Conflict("size mismatch", 17)));
  EXPECT_EQ(c["value"], 17);
  EXPECT_EQ(c["code"], "conflict");
  // Invalid UTF-8 in a message is replaced, not thrown.
  std::string bad = JsonError(Status::InvalidArgument(std::string("bad \xff byte")));
  EXPECT_FALSE(nlohmann::json::parse(bad, nullptr, false).is_discarded());
}

TEST(HttpStatusTest, RoundTripsEveryCode) {
  for (Status s : {Status::InvalidArgument("a"), Status::VerificationFailed("b"),
                   Status::Unauthenticated("c"), Status::PermissionDenied("d"),
                   Status::NotFound("e"), Status::Conflict("f", 9), Status::ResourceExhausted("g"),
                   Status::Unavailable("h"), Status::Corruption("i"), Status::IOError("j"),
                   Status::Internal("k")}) {
    Status back = StatusFromHttp(HttpStatusFor(s.code()), JsonError(s));
    EXPECT_EQ(back.code(), s.code()) << s.ToString();
    EXPECT_NE(back.message().find(s.message()), std::string::npos) << back.message();
    EXPECT_EQ(back.value(), s.value());
  }
}

TEST(HttpStatusTest, FromForeignBodies) {
  EXPECT_TRUE(StatusFromHttp(200, "").ok());
  EXPECT_TRUE(StatusFromHttp(204, "").ok());
  Status s = StatusFromHttp(409, "12\n");  // e.g. a C2SP witness's text/x.tlog.size body
  EXPECT_EQ(s.code(), Code::kConflict);
  EXPECT_NE(s.message().find("12"), std::string::npos);
  EXPECT_EQ(StatusFromHttp(502, "<html>").code(), Code::kInternal);
  EXPECT_EQ(StatusFromHttp(503, "").code(), Code::kUnavailable);
  EXPECT_EQ(StatusFromHttp(418, "").code(), Code::kInvalidArgument);
  EXPECT_EQ(StatusFromHttp(400, R"({"code":"bogus"})").code(), Code::kInvalidArgument);
  EXPECT_LE(StatusFromHttp(500, std::string(100000, 'x')).message().size(), 600u);
}

}  // namespace
}  // namespace kt::net
