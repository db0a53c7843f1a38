// SPDX-License-Identifier: Apache-2.0
// Tests for witness/config.h: ktwitness flags and the --config file.
#include "witness/config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/file_util.h"
#include "tests/testing/vectors.h"

namespace kt::witness {
namespace {

using core::Status;

std::vector<std::string> Args(std::initializer_list<const char*> a) { return {a.begin(), a.end()}; }

TEST(ConfigTest, ParsesFlags) {
  auto c = ParseServeArgs(Args({"--listen", "127.0.0.1:7380", "--data", "/tmp/d", "--key", "k1",
                                "--key=k2", "--trust-log", "a+1+2", "--trust-log", "b+3+4",
                                "--rate-limit", "25", "--threads", "4"}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen_host, "127.0.0.1");
  EXPECT_EQ(c->listen_port, 7380);
  EXPECT_EQ(c->data_dir, "/tmp/d");
  EXPECT_EQ(c->key_files, (std::vector<std::string>{"k1", "k2"}));
  EXPECT_EQ(c->trusted_logs, (std::vector<std::string>{"a+1+2", "b+3+4"}));
  EXPECT_EQ(c->rate_limit, 25);
  EXPECT_EQ(c->threads, 4);
}

TEST(ConfigTest, RejectsMissingAndBadFlags) {
  const auto base = Args({"--listen", "127.0.0.1:1", "--data", "d", "--key", "k", "--trust-log", "v"});
  EXPECT_TRUE(ParseServeArgs(base).ok());
  for (size_t drop = 0; drop < base.size(); drop += 2) {
    std::vector<std::string> a = base;
    a.erase(a.begin() + static_cast<long>(drop), a.begin() + static_cast<long>(drop) + 2);
    EXPECT_EQ(ParseServeArgs(a).status().code(), Status::Code::kInvalidArgument) << base[drop];
  }
  for (const auto& extra : {Args({"--bogus", "1"}), Args({"--rate-limit", "-1"}),
                            Args({"--rate-limit"}), Args({"positional"}), Args({"--threads", "0"}),
                            Args({"--listen", "127.0.0.1:2"}), Args({"--data", "other"})}) {
    std::vector<std::string> a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    EXPECT_EQ(ParseServeArgs(a).status().code(), Status::Code::kInvalidArgument) << extra[0];
  }
}

TEST(ConfigTest, ParsesListenAddresses) {
  const auto rest = Args({"--data", "d", "--key", "k", "--trust-log", "v"});
  auto with = [&](const char* listen) {
    std::vector<std::string> a = {"--listen", listen};
    a.insert(a.end(), rest.begin(), rest.end());
    return ParseServeArgs(a);
  };
  auto v6 = with("[::1]:80");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->listen_host, "::1");
  EXPECT_EQ(v6->listen_port, 80);
  for (const char* bad : {"127.0.0.1", ":80", "h:65536", "h:", "h:08", "[::1:80", "h:x"}) {
    EXPECT_FALSE(with(bad).ok()) << bad;
  }
}

TEST(ConfigTest, ConfigFileAppliesAndFlagsWin) {
  const std::string dir = testing::TempDir("wcfg");
  const std::string file = dir + "/witness.conf";
  ASSERT_TRUE(store::WriteFileAtomic(file,
                                     "# comment\n"
                                     "\n"
                                     "listen 127.0.0.1:9000\n"
                                     "data /var/lib/w\n"
                                     "key /etc/w.key\n"
                                     "trust-log log.example+00000000+AAAA\n"
                                     "  rate-limit 5  \n")
                  .ok());
  auto c = ParseServeArgs(Args({"--config", file.c_str(), "--listen", "127.0.0.1:9001",
                                "--trust-log", "second"}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen_port, 9001);
  EXPECT_EQ(c->data_dir, "/var/lib/w");
  EXPECT_EQ(c->key_files, (std::vector<std::string>{"/etc/w.key"}));
  EXPECT_EQ(c->trusted_logs, (std::vector<std::string>{"log.example+00000000+AAAA", "second"}));
  EXPECT_EQ(c->rate_limit, 5);
}

TEST(ConfigTest, ConfigFileErrorsNameTheLine) {
  ServeConfig c;
  Status s = ApplyConfigText("listen 127.0.0.1:1\nfrobnicate yes\n", &c);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("line 2"), std::string::npos) << s.message();
  EXPECT_EQ(ParseServeArgs(Args({"--config", "/nonexistent/w.conf"})).status().code(),
            Status::Code::kNotFound);
}

TEST(ConfigTest, KeygenArgs) {
  auto k = ParseKeygenArgs(Args({"--name", "witness.example/w1", "--out", "/tmp/k"}));
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->name, "witness.example/w1");
  EXPECT_EQ(k->out, "/tmp/k");
  EXPECT_FALSE(ParseKeygenArgs(Args({"--name", "x"})).ok());
  EXPECT_FALSE(ParseKeygenArgs(Args({"--name", "x", "--out", "y", "--z", "1"})).ok());
}

}  // namespace
}  // namespace kt::witness
