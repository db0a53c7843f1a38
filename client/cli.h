// SPDX-License-Identifier: Apache-2.0
// The `kt` command line (docs/client.md): global flags, commands, output
// (human tables by default, --json for scripts) and exit codes (errors.h).
// RunCli is the whole program minus the process: tests run it in-process
// with a Fetcher of their choice.
#ifndef KT_CLIENT_CLI_H_
#define KT_CLIENT_CLI_H_

#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "client/fetcher.h"
#include "client/trust.h"
#include "core/status.h"

namespace kt::client {

// FetcherFactory makes the Fetcher for a log base URL.
using FetcherFactory = std::function<core::StatusOr<std::unique_ptr<Fetcher>>(const std::string& url)>;

struct CliContext {
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  FetcherFactory make_fetcher;
  Clock clock = SystemClockSeconds;
  std::map<std::string, std::string> env;  // KT_POLICY, KT_LOG, KT_STATE, HOME
  bool stdout_is_terminal = false;         // progress bars only on a terminal
};

// RunCli runs `kt args...` (args excludes argv[0]) and returns the exit code.
int RunCli(const std::vector<std::string>& args, const CliContext& ctx);

// HelpText is `kt --help`.
std::string HelpText();

// Args are parsed command arguments: positionals and --flags (a flag takes
// the next argument as its value unless listed as boolean).
struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> flags;
  bool Has(const std::string& f) const { return flags.count(f) > 0; }
  std::string Get(const std::string& f, const std::string& def = "") const {
    auto it = flags.find(f);
    return it == flags.end() || it->second.empty() ? def : it->second.back();
  }
};

// ParseArgs splits args; "usage: ..." InvalidArgument for an unknown flag or
// a missing value.
core::StatusOr<Args> ParseArgs(const std::vector<std::string>& args);

}  // namespace kt::client

#endif  // KT_CLIENT_CLI_H_
