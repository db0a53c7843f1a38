// SPDX-License-Identifier: Apache-2.0
// `kt audit` and `kt monitor`.
#include <stdio.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "client/audit.h"
#include "client/cli_internal.h"
#include "client/errors.h"
#include "client/monitor.h"
#include "core/encoding.h"

namespace kt::client {

using core::Status;

namespace {

core::StatusOr<uint64_t> FlagU64(const CliEnv& env, const std::string& name, uint64_t def) {
  if (!env.args.Has(name)) return def;
  auto v = core::ParseDecimal(env.args.Get(name));
  if (!v.ok()) return Status::InvalidArgument("usage: --" + name + " needs a number");
  return *v;
}

// RunAlertCommand runs `sh -c cmd` with `text` on its stdin.
void RunAlertCommand(const CliEnv& env, const std::string& cmd, const std::string& text) {
  FILE* p = popen(cmd.c_str(), "w");
  if (p == nullptr) {
    env.err() << "kt: --alert-cmd could not be started\n";
    return;
  }
  fwrite(text.data(), 1, text.size(), p);
  int rc = pclose(p);
  if (rc != 0) env.err() << "kt: --alert-cmd exited with status " << rc << "\n";
}

}  // namespace

int CmdAudit(CliEnv& env) {
  AuditOptions opt;
  if (env.args.Has("from")) {
    auto from = FlagU64(env, "from", 0);
    if (!from.ok()) return Fail(env, from.status());
    opt.from = *from;
  }
  auto par = FlagU64(env, "parallel", 8);
  if (!par.ok()) return Fail(env, par.status());
  opt.parallelism = static_cast<int>(std::min<uint64_t>(std::max<uint64_t>(*par, 1), 64));
  opt.verify_signatures = env.args.Has("verify-signatures");
  const bool bar = env.ctx->stdout_is_terminal && !env.args.Has("no-progress") && !env.json();
  if (bar) {
    opt.progress = [&env](uint64_t done, uint64_t total) {
      int pct = total == 0 ? 100 : static_cast<int>(done * 100 / total);
      std::string b(static_cast<size_t>(pct / 2), '#');
      env.out() << "\r[" << b << std::string(50 - b.size(), ' ') << "] " << pct << "% " << done << "/"
                << total << std::flush;
    };
  }
  auto start = std::chrono::steady_clock::now();
  auto r = RunAudit(*env.log, env.state->dir(), opt);
  if (bar) env.out() << "\n";
  if (!r.ok()) return Fail(env, r.status());
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (env.json()) {
    env.out() << nlohmann::json{{"ok", true},
                                {"size", r->checkpoint.checkpoint.size},
                                {"root", core::Base64Encode(r->checkpoint.checkpoint.root)},
                                {"start", r->start},
                                {"entries", r->entries},
                                {"users", r->users},
                                {"unendorsed", r->unendorsed},
                                {"high_severity", r->high_severity},
                                {"partial_chains", r->partial_chains},
                                {"unchecked", r->unchecked},
                                {"user_state_bytes", r->user_state_bytes},
                                {"signatures_verified", opt.verify_signatures},
                                {"signatures", r->signatures},
                                {"seconds", secs}}
                     .dump()
              << "\n";
    return kExitOk;
  }
  env.out() << "audit OK: " << r->checkpoint.checkpoint.origin << " size "
            << r->checkpoint.checkpoint.size << " root "
            << core::Base64Encode(r->checkpoint.checkpoint.root) << "\n"
            << "  entries read: " << r->entries << " (from index " << r->start << "), users: " << r->users
            << "\n"
            << "  tree recomputed and equal to the trusted checkpoint; prev chains verified"
            << (r->partial_chains > 0 ? " (" + std::to_string(r->partial_chains) +
                                            " users began before this run: their link into it "
                                            "is not checked)"
                                      : std::string())
            << "\n";
  if (opt.verify_signatures) {
    env.out() << "  signatures verified; unendorsed key sets: " << r->unendorsed
              << ", of which high severity: " << r->high_severity << "\n";
    if (r->unchecked > 0) {
      env.out() << "  not checkable from this start: " << r->unchecked
                << " endorsements or revokes of devices set before index " << r->start << "\n";
    }
  }
  env.out() << "  per-user state: " << r->user_state_bytes / 1024 << " KiB ("
            << (r->users == 0 ? 0 : r->user_state_bytes / r->users) << " bytes per user)\n";
  env.out() << "  " << secs << " s\n";
  return kExitOk;
}

int CmdMonitor(CliEnv& env) {
  MonitorOptions opt;
  if (env.args.flags.count("watch") > 0) {
    for (const auto& u : env.args.flags.at("watch")) opt.watch.insert(u);
  }
  opt.all = env.args.Has("all");
  if (opt.watch.empty() && !opt.all) {
    return Fail(env, Status::InvalidArgument("usage: kt monitor needs --watch USER... or --all"));
  }
  auto interval = FlagU64(env, "interval", 10);
  auto max_polls = FlagU64(env, "max-polls", 0);  // 0: unbounded with --follow
  if (!interval.ok()) return Fail(env, interval.status());
  if (!max_polls.ok()) return Fail(env, max_polls.status());
  const bool follow = env.args.Has("follow");
  const std::string alert_cmd = env.args.Get("alert-cmd");
  Monitor monitor(*env.log, env.state->dir(), opt);
  for (uint64_t poll = 1;; poll++) {
    std::vector<Alert> alerts;
    Status s = monitor.Poll(&alerts);
    for (const Alert& a : alerts) {
      std::string text = env.json() ? a.Json() : a.Line();
      env.out() << text << "\n" << std::flush;
      if (!alert_cmd.empty()) RunAlertCommand(env, alert_cmd, text + "\n");
    }
    if (!s.ok()) {
      // Forks and rollbacks end the monitor (its state is kept); network
      // failures are retried when following.
      if (!follow || IsFork(s) || IsRollback(s) || ExitCodeFor(s) != kExitNetwork) return Fail(env, s);
      env.err() << "kt: " << s.ToString() << " (retrying)\n";
    }
    if (!follow || (*max_polls != 0 && poll >= *max_polls)) break;
    std::this_thread::sleep_for(std::chrono::seconds(*interval));
  }
  return kExitOk;
}

}  // namespace kt::client
