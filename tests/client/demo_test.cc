// SPDX-License-Identifier: Apache-2.0
// `make demo` end to end: scripts/demo.sh against the real binaries (it
// starts its own ktlog + 3 ktwitness deployment through run-local.sh on free
// loopback ports and a temp data directory, so it never collides with a
// running `make run`), then checks that every step behaved as told and that
// the script stopped the nodes it started.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tests/testing/process.h"
#include "tests/testing/vectors.h"

namespace kt::testing {
namespace {

TEST(DemoTest, ScriptTellsTheWholeStory) {
  const std::string dir = TempDir("demo");
  const int log_port = PickFreePort();
  std::string witnesses;
  for (int i = 0; i < 3; i++) {
    if (i > 0) witnesses.push_back(' ');
    witnesses += std::to_string(PickFreePort());
  }
  ASSERT_GT(log_port, 0);
  auto p = ChildProcess::Start("/bin/bash", {std::string(KT_SOURCE_DIR) + "/scripts/demo.sh", KT_BINARY_DIR},
                               {{"KT_VAR", dir + "/var"},
                                {"KT_LOG_PORT", std::to_string(log_port)},
                                {"KT_WITNESS_PORTS", witnesses}});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto st = (*p)->Wait(std::chrono::seconds(300));
  ASSERT_TRUE(st.has_value()) << "demo did not finish\n" << (*p)->Stdout() << (*p)->Stderr();
  const std::string out = (*p)->Stdout();
  EXPECT_TRUE(st->Success()) << st->ToString() << "\n" << out << (*p)->Stderr();
  for (const char* needle :
       {"no log on", "Lunch tomorrow?", "KEY CHANGE", "NOT endorsed", "[HIGH]",
        "demo: every step behaved as described.", "stopping the deployment it started"}) {
    EXPECT_NE(out.find(needle), std::string::npos) << needle << "\n" << out;
  }
  // The nodes it started are gone: the ports answer nothing.
  EXPECT_FALSE(WaitForHttpReady("127.0.0.1", log_port, "/healthz", std::chrono::milliseconds(200)));
}

}  // namespace
}  // namespace kt::testing
