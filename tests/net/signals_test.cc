// SPDX-License-Identifier: Apache-2.0
// Tests for termination-signal handling via sigwait.
#include "net/signals.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

namespace kt::net {
namespace {

TEST(SignalsTest, WaitReturnsPendingSignal) {
  BlockTerminationSignals();
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);  // stays pending: it is blocked
  EXPECT_EQ(WaitForTerminationFor(std::chrono::seconds(10)), SIGTERM);
  ASSERT_EQ(::kill(::getpid(), SIGINT), 0);
  EXPECT_EQ(WaitForTermination(), SIGINT);
}

TEST(SignalsTest, TimesOutWithoutSignal) {
  BlockTerminationSignals();
  EXPECT_EQ(WaitForTerminationFor(std::chrono::milliseconds(10)), std::nullopt);
}

TEST(SignalsTest, SignalFromAnotherThreadWakesWaiter) {
  BlockTerminationSignals();
  std::thread sender([] { ::kill(::getpid(), SIGTERM); });
  EXPECT_EQ(WaitForTerminationFor(std::chrono::seconds(10)), SIGTERM);
  sender.join();
}

TEST(SignalsTest, SigpipeIsIgnored) {
  BlockTerminationSignals();
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::close(fds[0]);
  EXPECT_EQ(::write(fds[1], "x", 1), -1);  // EPIPE instead of death
  ::close(fds[1]);
}

}  // namespace
}  // namespace kt::net
