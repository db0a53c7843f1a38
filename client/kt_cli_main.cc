// SPDX-License-Identifier: Apache-2.0
// `kt`: the verifying client's command line. Thin: everything is RunCli
// (client/cli.h) with an HTTP fetcher and the process environment.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "client/cli.h"
#include "client/http_fetcher.h"

int main(int argc, char** argv) {
  // An --alert-cmd that exits early must not kill the monitor.
  signal(SIGPIPE, SIG_IGN);
  kt::client::CliContext ctx;
  ctx.out = &std::cout;
  ctx.err = &std::cerr;
  ctx.stdout_is_terminal = isatty(STDOUT_FILENO) == 1;
  for (const char* name : {"KT_POLICY", "KT_LOG", "KT_STATE", "HOME"}) {
    if (const char* v = std::getenv(name); v != nullptr) ctx.env[name] = v;
  }
  ctx.make_fetcher = [](const std::string& url)
      -> kt::core::StatusOr<std::unique_ptr<kt::client::Fetcher>> {
    auto parsed = kt::net::ParseUrl(url);
    if (!parsed.ok()) return kt::core::Status::InvalidArgument("usage: --log: " + parsed.status().message());
    return std::unique_ptr<kt::client::Fetcher>(new kt::client::HttpFetcher(url));
  };
  std::vector<std::string> args(argv + 1, argv + argc);
  return kt::client::RunCli(args, ctx);
}
