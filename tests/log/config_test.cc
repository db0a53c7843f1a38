// SPDX-License-Identifier: Apache-2.0
// Tests for log/config: ktlog flag parsing, defaults and bounds.
#include "log/config.h"

#include <gtest/gtest.h>

namespace kt::log {
namespace {

const std::vector<std::string> kRequired = {"--listen", "127.0.0.1:8080", "--data", "/d",
                                            "--key", "/k", "--origin", "o.example/log"};

std::vector<std::string> With(std::vector<std::string> extra) {
  std::vector<std::string> a = kRequired;
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

TEST(ParseServeArgsTest, DefaultsAndRequired) {
  auto c = ParseServeArgs(kRequired);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen, "127.0.0.1:8080");
  EXPECT_EQ(c->origin, "o.example/log");
  EXPECT_EQ(c->batch_interval.count(), 100);
  EXPECT_EQ(c->batch_max, 4096u);
  EXPECT_EQ(c->rate_limit, 0);
  EXPECT_FALSE(c->witness_policy.has_value());
  for (size_t i = 0; i < kRequired.size(); i += 2) {
    std::vector<std::string> a = kRequired;
    a.erase(a.begin() + static_cast<long>(i), a.begin() + static_cast<long>(i) + 2);
    EXPECT_FALSE(ParseServeArgs(a).ok()) << kRequired[i];
  }
}

TEST(ParseServeArgsTest, OptionsBothForms) {
  auto c = ParseServeArgs(With({"--batch-interval=20", "--batch-max", "500", "--rate-limit",
                                "7", "--witness-policy", "/p", "--operator-token-file=/t",
                                "--export-dir", "/w", "--witness-timeout", "0", "--max-pool",
                                "9"}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->batch_interval.count(), 20);
  EXPECT_EQ(c->batch_max, 500u);
  EXPECT_EQ(c->rate_limit, 7);
  EXPECT_EQ(*c->witness_policy, "/p");
  EXPECT_EQ(*c->operator_token_file, "/t");
  EXPECT_EQ(*c->export_dir, "/w");
  EXPECT_EQ(c->witness_timeout.count(), 0);
  EXPECT_EQ(c->max_pool, 9u);
}

TEST(ParseServeArgsTest, RejectsBadFlags) {
  for (const auto& extra : std::vector<std::vector<std::string>>{
           {"--nope", "1"}, {"--batch-max"}, {"--batch-max", "0"}, {"--batch-max", "-1"},
           {"--batch-max", "01"}, {"--batch-interval", "x"}, {"--listen", "again"},
           {"stray"}, {"--max-pool", "99999999999"}}) {
    EXPECT_FALSE(ParseServeArgs(With(extra)).ok()) << extra[0];
  }
}

TEST(ParseKeygenArgsTest, RequiresOriginAndOut) {
  auto c = ParseKeygenArgs({"--origin", "o", "--out", "f"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->origin, "o");
  EXPECT_EQ(c->out, "f");
  EXPECT_FALSE(ParseKeygenArgs({"--origin", "o"}).ok());
  EXPECT_FALSE(ParseExportArgs({"--data", "d"}).ok());
  EXPECT_TRUE(ParseExportArgs({"--data", "d", "--out", "w"}).ok());
}

}  // namespace
}  // namespace kt::log
