// SPDX-License-Identifier: Apache-2.0
// Tests for the integration-test process helpers (tests/testing/process.h),
// using /bin/sleep, /bin/sh and a small loopback httplib server.
#include "tests/testing/process.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include "net/server_options.h"
#include "net/signals.h"

namespace kt::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(ChildProcessTest, SignalEndsSleep) {
  auto child = ChildProcess::Start("/bin/sleep", {"100"});
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  EXPECT_TRUE((*child)->Running());
  EXPECT_EQ((*child)->Wait(milliseconds(50)), std::nullopt);
  (*child)->Signal(SIGTERM);
  auto st = (*child)->Wait(seconds(30));
  ASSERT_TRUE(st.has_value());
  EXPECT_FALSE(st->exited);
  EXPECT_EQ(st->signal, SIGTERM);
  EXPECT_FALSE((*child)->Running());
}

TEST(ChildProcessTest, KillWorksEvenWhenParentBlocksTermSignals) {
  net::BlockTerminationSignals();  // the child must not inherit the mask
  auto child = ChildProcess::Start("/bin/sleep", {"100"});
  ASSERT_TRUE(child.ok());
  (*child)->Signal(SIGTERM);
  auto st = (*child)->Wait(seconds(30));
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->signal, SIGTERM) << st->ToString();

  auto child2 = ChildProcess::Start("/bin/sleep", {"100"});
  ASSERT_TRUE(child2.ok());
  (*child2)->Kill();
  auto st2 = (*child2)->Wait(seconds(30));
  ASSERT_TRUE(st2.has_value());
  EXPECT_EQ(st2->signal, SIGKILL);
}

TEST(ChildProcessTest, CapturesOutputEnvAndExitCode) {
  auto child = ChildProcess::Start(
      "/bin/sh", {"-c", "echo out $KT_TEST_VAR; echo err >&2; exit 3"}, {{"KT_TEST_VAR", "v1"}});
  ASSERT_TRUE(child.ok());
  auto st = (*child)->Wait(seconds(30));
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->exited);
  EXPECT_EQ(st->code, 3);
  EXPECT_FALSE(st->Success());
  EXPECT_EQ((*child)->Stdout(), "out v1\n");
  EXPECT_EQ((*child)->Stderr(), "err\n");
}

TEST(ChildProcessTest, InheritsParentEnvironment) {
  ::setenv("KT_PARENT_VAR", "p", 1);
  auto child = ChildProcess::Start("/bin/sh", {"-c", "echo $KT_PARENT_VAR"});
  ASSERT_TRUE(child.ok());
  ASSERT_TRUE((*child)->Wait(seconds(30)).has_value());
  EXPECT_EQ((*child)->Stdout(), "p\n");
}

TEST(ChildProcessTest, MissingBinaryFails) {
  auto child = ChildProcess::Start("/nonexistent/ktlog", {});
  ASSERT_FALSE(child.ok());
  EXPECT_NE(child.status().message().find("/nonexistent/ktlog"), std::string::npos);
}

TEST(ChildProcessTest, DestructorKillsAndReaps) {
  pid_t pid = -1;
  {
    auto child = ChildProcess::Start("/bin/sleep", {"100"});
    ASSERT_TRUE(child.ok());
    pid = (*child)->pid();
  }
  // Reaped: the pid is no longer our child.
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST(PickFreePortTest, PortIsBindable) {
  int port = PickFreePort();
  ASSERT_GT(port, 0);
  httplib::Server server;
  net::ConfigureServer(server, {});
  auto st = net::ServerThread::Start(server, "127.0.0.1", port);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ((*st)->port(), port);
}

TEST(WaitForHttpReadyTest, ReadyAndNotReady) {
  httplib::Server server;
  net::ConfigureServer(server, {});
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok", "text/plain");
  });
  auto st = net::ServerThread::Start(server, "127.0.0.1", 0);
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(WaitForHttpReady("127.0.0.1", (*st)->port(), "/healthz", seconds(10)));
  EXPECT_FALSE(WaitForHttpReady("127.0.0.1", (*st)->port(), "/missing", milliseconds(100)));
  int unused = PickFreePort();
  EXPECT_FALSE(WaitForHttpReady("127.0.0.1", unused, "/healthz", milliseconds(100)));
}

TEST(BinaryPathTest, MapsNamesToFolders) {
  EXPECT_EQ(BinaryPath("ktlog"), std::string(KT_BINARY_DIR) + "/log/ktlog");
  EXPECT_EQ(BinaryPath("ktwitness"), std::string(KT_BINARY_DIR) + "/witness/ktwitness");
  EXPECT_EQ(BinaryPath("kt"), std::string(KT_BINARY_DIR) + "/client/kt");
}

}  // namespace
}  // namespace kt::testing
