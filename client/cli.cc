// SPDX-License-Identifier: Apache-2.0
// `kt` argument parsing, help, environment and command dispatch.
#include "client/cli.h"

#include <ctime>
#include <set>

#include "client/cli_device.h"
#include "client/cli_internal.h"
#include "client/errors.h"

namespace kt::client {

using core::Status;
using core::StatusOr;

namespace {

const std::set<std::string> kBoolFlags = {"json", "accept", "all", "follow", "verify-signatures",
                                          "help", "no-progress"};
const std::set<std::string> kValueFlags = {"policy", "log", "state", "from", "interval",
                                           "alert-cmd", "watch", "max-polls", "parallel",
                                           "token-file", "endorse-key", "opks", "limit"};

std::string EnvOr(const CliContext& ctx, const std::string& name) {
  auto it = ctx.env.find(name);
  return it == ctx.env.end() ? "" : it->second;
}

}  // namespace

std::string HelpText() {
  return R"(kt: verifying client of a key transparency log

usage: kt [--policy FILE] [--log URL] [--state DIR] COMMAND [ARGS] [--json]

global flags (or environment):
  --policy FILE   tlog-policy: log key(s), witnesses, quorum ($KT_POLICY)
  --log URL       log base URL ($KT_LOG; default: the policy's log URL)
  --state DIR     state directory ($KT_STATE; default $HOME/.kt)

commands:
  checkpoint                 fetch, verify and store the latest checkpoint;
                             print size, root and the witnesses that cosigned
  lookup USER [--accept]     verified current devices and keys of USER; the
                             first lookup pins them (trust on first use), a
                             later change exits 6 until accepted with --accept
  history USER               verified full key history of USER
  verify-proof FILE          verify a c2sp.org/tlog-proof@v1 file offline
  verify-evidence FILE       check a fork evidence file offline (exit 0 when
                             it proves a fork)
  safety-number ME CONTACT   the 60-digit safety number of two pinned users
  audit [--from N] [--verify-signatures] [--parallel N]
                             download the whole log through tiles, recompute
                             the tree, check every user's prev chain (and
                             with --verify-signatures every signature);
                             resumable
  monitor --watch USER ... [--all] [--follow] [--interval S] [--alert-cmd CMD]
                             report every key change of watched users (or
                             all) since the stored position; --alert-cmd runs
                             CMD with each alert on stdin

X3DH messaging (one device per state directory, kept in STATE/device):
  device init USER DEVICE    create the device: identity key (STATE/device/
                             identity.key, mode 0600), signed prekey, store;
                             prints the identity key
  device register [--token-file F | --endorse-key F]
                             log the device's key (POST /v1/bindings with
                             proof of possession): a first device with the
                             operator's token, another one endorsed by the
                             identity.key file of a current device
  device publish-prekeys [--opks N]
                             rotate the signed prekey when due, refill the
                             one-time prekeys when the directory runs low
                             (batches of N), upload them
  device stats               the device's counters: sent, received, and every
                             failure reason (signature_invalid, spk_unknown,
                             opk_unknown, opk_reused, duplicate, aead_failed,
                             not_logged, proof_invalid, quorum_not_met,
                             key_changed, ...)
  send USER MESSAGE          encrypt MESSAGE to every current device of USER
                             whose bundle verifies against the log and the
                             pinned keys; a key change stops the send (exit 6)
  receive [--limit N]        fetch the mailbox, decrypt, check each sender's
                             key against the log, print, acknowledge

--json prints machine-readable output.

exit codes:
  0  ok
  1  usage error
  2  verification failure (signature, proof, entry, quorum, policy; for
     send/receive any X3DH failure reason other than key_changed)
  3  fork detected (evidence file written under the state directory)
  4  rollback: the log served a checkpoint older than the stored one
  5  network failure, or the log answered an error (e.g. unknown user)
  6  key change of a pinned contact needs acceptance (kt lookup --accept);
     kt send encrypted nothing
  7  local state could not be read or written (e.g. no device: kt device init)
)";
}

StatusOr<Args> ParseArgs(const std::vector<std::string>& args) {
  Args out;
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    if (a.size() > 2 && a.starts_with("--")) {
      std::string name = a.substr(2);
      std::string value;
      bool has_value = false;
      if (size_t eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_value = true;
      }
      if (kBoolFlags.count(name) > 0) {
        if (has_value) return Status::InvalidArgument("usage: --" + name + " takes no value");
        out.flags[name];
        continue;
      }
      if (kValueFlags.count(name) == 0) return Status::InvalidArgument("usage: unknown flag --" + name);
      if (!has_value) {
        if (i + 1 >= args.size()) return Status::InvalidArgument("usage: --" + name + " needs a value");
        value = args[++i];
      }
      out.flags[name].push_back(value);
      // --watch takes several users: the following non-flag arguments.
      if (name == "watch") {
        while (i + 1 < args.size() && !args[i + 1].starts_with("--")) out.flags[name].push_back(args[++i]);
      }
      continue;
    }
    out.positional.push_back(a);
  }
  return out;
}

Status OpenEnv(const Needs& needs, CliEnv* env) {
  const CliContext& ctx = *env->ctx;
  std::string policy = env->args.Get("policy", EnvOr(ctx, "KT_POLICY"));
  if (policy.empty()) return Status::InvalidArgument("usage: --policy FILE is required");
  KT_ASSIGN_OR_RETURN(env->trust, Trust::LoadPolicyFile(policy, ctx.clock));
  if (!needs.state && !needs.log) return Status();
  std::string state = env->args.Get("state", EnvOr(ctx, "KT_STATE"));
  if (state.empty() && !EnvOr(ctx, "HOME").empty()) state = EnvOr(ctx, "HOME") + "/.kt";
  if (state.empty()) return Status::InvalidArgument("usage: --state DIR is required");
  KT_ASSIGN_OR_RETURN(env->state, StateStore::Open(state));
  if (!needs.log) return Status();
  std::string url = env->args.Get("log", EnvOr(ctx, "KT_LOG"));
  if (url.empty() && env->trust->policy().logs.size() == 1) url = env->trust->policy().logs[0].url;
  if (url.empty()) return Status::InvalidArgument("usage: --log URL is required");
  if (!ctx.make_fetcher) return Status::Internal("no fetcher factory");
  KT_ASSIGN_OR_RETURN(env->fetcher, ctx.make_fetcher(url));
  env->log = std::make_unique<LogClient>(*env->trust, *env->state, *env->fetcher);
  return Status();
}

int Fail(const CliEnv& env, const Status& s) {
  env.err() << "kt: " << s.ToString() << "\n";
  return ExitCodeFor(s);
}

std::string FormatTimeMs(uint64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

int RunCli(const std::vector<std::string>& args, const CliContext& ctx) {
  CliEnv env;
  env.ctx = &ctx;
  auto parsed = ParseArgs(args);
  if (!parsed.ok()) {
    *ctx.err << "kt: " << parsed.status().message() << "\n(see kt --help)\n";
    return kExitUsage;
  }
  env.args = std::move(parsed).value();
  if (env.args.Has("help") || env.args.positional.empty()) {
    (env.args.Has("help") ? *ctx.out : *ctx.err) << HelpText();
    return env.args.Has("help") ? kExitOk : kExitUsage;
  }
  const std::string cmd = env.args.positional[0];
  env.args.positional.erase(env.args.positional.begin());
  struct Command {
    Needs needs;
    size_t positionals;  // exact count; SIZE_MAX for any
    int (*run)(CliEnv&);
  };
  static const std::map<std::string, Command> kCommands = {
      {"checkpoint", {{true, true}, 0, CmdCheckpoint}},
      {"lookup", {{true, true}, 1, CmdLookup}},
      {"history", {{true, true}, 1, CmdHistory}},
      {"verify-proof", {{false, false}, 1, CmdVerifyProof}},
      {"verify-evidence", {{false, false}, 1, CmdVerifyEvidence}},
      {"safety-number", {{true, false}, 2, CmdSafetyNumber}},
      {"audit", {{true, true}, 0, CmdAudit}},
      {"monitor", {{true, true}, 0, CmdMonitor}},
      {"device", {{true, true}, SIZE_MAX, CmdDevice}},
      {"send", {{true, true}, 2, CmdSend}},
      {"receive", {{true, true}, 0, CmdReceive}},
  };
  auto it = kCommands.find(cmd);
  if (it == kCommands.end()) {
    *ctx.err << "kt: unknown command " << cmd << "\n(see kt --help)\n";
    return kExitUsage;
  }
  if (it->second.positionals != SIZE_MAX && env.args.positional.size() != it->second.positionals) {
    *ctx.err << "kt: " << cmd << " takes " << it->second.positionals << " argument(s)\n(see kt --help)\n";
    return kExitUsage;
  }
  Status s = OpenEnv(it->second.needs, &env);
  if (!s.ok()) return Fail(env, s);
  return it->second.run(env);
}

}  // namespace kt::client
