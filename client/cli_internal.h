// SPDX-License-Identifier: Apache-2.0
// Shared plumbing of the `kt` commands (cli_*.cc): the opened environment
// (policy, state directory, log fetcher) and small output helpers.
#ifndef KT_CLIENT_CLI_INTERNAL_H_
#define KT_CLIENT_CLI_INTERNAL_H_

#include <memory>
#include <ostream>
#include <string>

#include "client/cli.h"
#include "client/log_client.h"
#include "client/state_store.h"
#include "client/trust.h"

namespace kt::client {

// CliEnv is what a command runs with. Members that a command did not ask for
// are null.
struct CliEnv {
  const CliContext* ctx = nullptr;
  Args args;
  std::unique_ptr<Trust> trust;
  std::unique_ptr<StateStore> state;
  std::unique_ptr<Fetcher> fetcher;
  std::unique_ptr<LogClient> log;
  std::ostream& out() const { return *ctx->out; }
  std::ostream& err() const { return *ctx->err; }
  bool json() const { return args.Has("json"); }
};

// Needs: which parts of the environment a command opens.
struct Needs {
  bool state = false;
  bool log = false;  // implies state
};

// OpenEnv loads the policy (--policy / $KT_POLICY), opens the state
// directory (--state / $KT_STATE / $HOME/.kt) and the log (--log / $KT_LOG /
// the policy's log URL) as `needs` asks.
core::Status OpenEnv(const Needs& needs, CliEnv* env);

// Commands. Each returns an exit code and prints its own errors.
int CmdCheckpoint(CliEnv& env);
int CmdLookup(CliEnv& env);
int CmdHistory(CliEnv& env);
int CmdVerifyProof(CliEnv& env);
int CmdVerifyEvidence(CliEnv& env);
int CmdSafetyNumber(CliEnv& env);
int CmdAudit(CliEnv& env);
int CmdMonitor(CliEnv& env);

// Fail prints "kt: <status>" and returns ExitCodeFor(status).
int Fail(const CliEnv& env, const core::Status& s);

// Time formats a unix time in milliseconds as "YYYY-MM-DD HH:MM:SS" UTC.
std::string FormatTimeMs(uint64_t ms);

}  // namespace kt::client

#endif  // KT_CLIENT_CLI_INTERNAL_H_
