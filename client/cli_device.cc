// SPDX-License-Identifier: Apache-2.0
// `kt device init|register|publish-prekeys|stats` (docs/x3dh.md "CLI"): the
// local X3DH device (x3dh/device_store.h) kept under STATE/device, its
// binding in the log (POST /v1/bindings, DESIGN.md "Log HTTP API") and its
// prekeys in the directory (docs/x3dh.md "Server API").
#include <nlohmann/json.hpp>

#include "client/cli_device.h"
#include "client/errors.h"
#include "client/lookup.h"
#include "core/encoding.h"
#include "core/entry.h"
#include "net/http_status.h"
#include "store/file_util.h"

namespace kt::client {

using core::Status;
using core::StatusOr;
using nlohmann::json;

namespace {

StatusOr<uint64_t> FlagNumber(const CliEnv& env, const std::string& name, uint64_t def) {
  if (!env.args.Has(name)) return def;
  auto v = core::ParseDecimal(env.args.Get(name));
  if (!v.ok()) return Status::InvalidArgument("usage: --" + name + " takes a number");
  return *v;
}

// ReadToken reads the operator's bearer token file (0600, one line).
StatusOr<std::string> ReadToken(const std::string& path) {
  auto text = store::ReadSecretFile(path);
  if (!text.ok()) return text.status().Annotate("--token-file");
  std::string t = *text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  if (t.empty()) return Status::InvalidArgument("usage: --token-file: the file is empty");
  return t;
}

// Endorsement signs the new entry with another current device's key (its
// identity.key file); the endorsing device is found by its key in the
// user's verified lookup, and prev is 1 + the user's latest index.
StatusOr<json> Endorsement(CliEnv& env, const x3dh::DeviceStore& store, const std::string& path,
                           uint64_t* prev) {
  auto text = store::ReadSecretFile(path);
  if (!text.ok()) return text.status().Annotate("--endorse-key");
  auto endorser = x3dh::ParseIdentityKey(*text);
  if (!endorser.ok()) return Status::InvalidArgument("usage: --endorse-key: " + endorser.status().message());
  Lookup lookup(*env.log);
  KT_ASSIGN_OR_RETURN(LookupResult r, lookup.Get(store.user()));
  std::string name;
  for (const VerifiedEntry& d : r.lookup.devices) {
    if (d.entry.identity_key == endorser->public_key()) name = d.entry.device;
  }
  if (name.empty()) {
    return Status::InvalidArgument("usage: --endorse-key: that key is not a current device of " +
                                   store.user());
  }
  // name == store.device() is a device endorsing its own rotation (the
  // store holds the new key, --endorse-key the old one).
  *prev = r.history.entries.back().index + 1;
  const auto& ik = store.identity().public_key();
  auto sig = endorser->Sign(
      core::EndorseMessage(store.user(), store.device(), core::EntryKind::kKeySet, ik, *prev));
  return json{{"device", name}, {"signature", core::Base64Encode(sig)}};
}

// CheckRegistered verifies the log's 200 answer: the tlog-proof verifies
// (trusted checkpoint, consistent with state) and proves our entry.
StatusOr<TrustedRecord> CheckRegistered(CliEnv& env, const x3dh::DeviceStore& store,
                                        const json& answer) {
  if (!answer.is_object() || !answer.contains("proof") || !answer["proof"].is_string()) {
    return Status::InvalidArgument("bindings: answer has no proof");
  }
  KT_ASSIGN_OR_RETURN(TrustedRecord rec, env.trust->VerifyTlogProof(answer["proof"].get<std::string>()));
  KT_ASSIGN_OR_RETURN(TrustedCheckpoint cp, env.log->Accept(rec.checkpoint.note));
  (void)cp;
  KT_ASSIGN_OR_RETURN(core::Entry e, core::DecodeEntry(rec.record));
  if (e.user != store.user() || e.device != store.device() || e.kind != core::EntryKind::kKeySet ||
      e.identity_key != store.identity().public_key()) {
    return Status::VerificationFailed("bindings: the proof is not for this device's key");
  }
  return rec;
}

}  // namespace

std::string ResolveLogUrl(const CliEnv& env) {
  std::string url = env.args.Get("log");
  if (url.empty()) {
    auto it = env.ctx->env.find("KT_LOG");
    if (it != env.ctx->env.end()) url = it->second;
  }
  if (url.empty() && env.trust->policy().logs.size() == 1) url = env.trust->policy().logs[0].url;
  return url;
}

std::filesystem::path DeviceDir(const CliEnv& env) { return env.state->dir() / "device"; }

StatusOr<std::unique_ptr<x3dh::DeviceStore>> OpenDevice(const CliEnv& env, x3dh::DeviceStoreOptions options) {
  auto store = x3dh::DeviceStore::Open(DeviceDir(env), options);
  if (!store.ok() && store.status().code() == Status::Code::kNotFound) {
    // The store's message names the missing file and suggests `kt device init`.
    return Status::IOError(store.status().message());
  }
  return store;
}

AuthHeader DeviceAuthFor(const x3dh::DeviceStore& store) {
  // The server's freshness window is about real time, whatever clock the
  // CLI context uses for key lifetimes.
  return [&store](std::string_view method, std::string_view path, std::string_view body) {
    return store.AuthHeader(method, path, core::AsBytes(body), SystemClockSeconds());
  };
}

int ExitForX3dh(const Status& s) {
  auto reason = x3dh::X3dhErrorOf(s);
  if (!reason.has_value()) return ExitCodeFor(s);
  return *reason == x3dh::X3dhError::kKeyChanged ? kExitKeyChange : kExitVerification;
}

int FailX3dh(const CliEnv& env, const Status& s) {
  env.err() << "kt: " << s.ToString() << "\n";
  return ExitForX3dh(s);
}

int CmdDeviceInit(CliEnv& env, const std::string& user, const std::string& device) {
  core::Ed25519Signer identity = core::Ed25519Signer::Generate();
  auto store = x3dh::DeviceStore::Create(DeviceDir(env), user, device, identity, env.ctx->clock());
  if (!store.ok()) {
    if (store.status().code() == Status::Code::kConflict) {
      return Fail(env, Status::IOError("a device already exists under " + DeviceDir(env).string() +
                                       " (" + store.status().message() + ")"));
    }
    return Fail(env, store.status());
  }
  const std::string key = core::Base64Encode(identity.public_key());
  if (env.json()) {
    env.out() << json{{"user", user}, {"device", device}, {"identity_key", key},
                      {"dir", DeviceDir(env).string()}}.dump()
              << "\n";
    return kExitOk;
  }
  env.out() << "device " << user << "/" << device << " created in " << DeviceDir(env).string() << "\n"
            << "identity key: " << key << "\n"
            << "next: kt device register --token-file FILE (first device) or --endorse-key FILE\n";
  return kExitOk;
}

int CmdDeviceRegister(CliEnv& env) {
  auto store = OpenDevice(env, {});
  if (!store.ok()) return Fail(env, store.status());
  const x3dh::DeviceStore& s = **store;
  const auto& ik = s.identity().public_key();
  json req = {{"kind", "set"},
              {"user", s.user()},
              {"device", s.device()},
              {"identity_key", core::Base64Encode(ik)},
              {"possession_sig", core::Base64Encode(s.identity().signer().Sign(
                                     core::PopMessage(s.user(), s.device(), ik)))}};
  net::Headers headers;
  if (env.args.Has("token-file")) {
    auto token = ReadToken(env.args.Get("token-file"));
    if (!token.ok()) return Fail(env, token.status());
    headers.emplace("Authorization", "Bearer " + *token);
  }
  if (env.args.Has("endorse-key")) {
    uint64_t prev = 0;
    auto e = Endorsement(env, s, env.args.Get("endorse-key"), &prev);
    if (!e.ok()) return Fail(env, e.status());
    req["prev"] = prev;
    req["endorsements"] = json::array({*e});
  }
  if (headers.empty() && !req.contains("endorsements")) {
    return Fail(env, Status::InvalidArgument(
                         "usage: kt device register needs --token-file FILE or --endorse-key FILE"));
  }
  net::HttpClient http;
  auto resp = http.Post(net::JoinUrl(ResolveLogUrl(env), "v1/bindings"), req.dump(),
                        "application/json", headers);
  if (!resp.ok()) return Fail(env, resp.status().Annotate("POST /v1/bindings"));
  if (resp->status != 200 && resp->status != 202) {
    Status st = net::StatusFromHttp(resp->status, resp->body);
    if (st.ok()) st = Status::Unavailable("unexpected HTTP " + std::to_string(resp->status));
    if (resp->status >= 500) st = Status::Unavailable(st.message());
    return Fail(env, st.Annotate("POST /v1/bindings: HTTP " + std::to_string(resp->status)));
  }
  json answer = json::parse(resp->body, nullptr, false);
  if (resp->status == 202) {
    env.out() << "submitted " << s.user() << "/" << s.device()
              << "; pending: not yet in a witnessed checkpoint (check with kt lookup " << s.user()
              << ")\n";
    return kExitOk;
  }
  auto rec = CheckRegistered(env, s, answer);
  if (!rec.ok()) return Fail(env, rec.status());
  if (env.json()) {
    env.out() << json{{"user", s.user()}, {"device", s.device()}, {"index", rec->index},
                      {"identity_key", core::Base64Encode(ik)},
                      {"checkpoint_size", rec->checkpoint.checkpoint.size},
                      {"witnesses", rec->checkpoint.witnesses}}.dump()
              << "\n";
    return kExitOk;
  }
  env.out() << "registered " << s.user() << "/" << s.device() << " at index " << rec->index
            << " (proof verified against checkpoint size " << rec->checkpoint.checkpoint.size
            << ")\n";
  return kExitOk;
}

int CmdDevicePublish(CliEnv& env) {
  auto opks = FlagNumber(env, "opks", 0);
  if (!opks.ok()) return Fail(env, opks.status());
  x3dh::DeviceStoreOptions options;
  if (*opks > x3dh::kMaxOpksPerUpload) {
    return Fail(env, Status::InvalidArgument("usage: --opks is at most " +
                                             std::to_string(x3dh::kMaxOpksPerUpload)));
  }
  if (*opks > 0) {
    options.policy.opk_batch = static_cast<uint32_t>(*opks);
    options.policy.opk_low_water = std::max<uint64_t>(1, *opks / 5);
  }
  auto store = OpenDevice(env, options);
  if (!store.ok()) return Fail(env, store.status());
  x3dh::DeviceStore& s = **store;
  net::HttpClient http;
  PrekeyClient prekeys(ResolveLogUrl(env), http);
  const AuthHeader auth = DeviceAuthFor(s);
  // Two rounds at most: a 409 opk_id_reused means an earlier attempt of the
  // same upload reached the directory (ids are never reused); it is
  // confirmed and the state asked again.
  StatusOr<UploadResult> r = Status::Internal("no upload");
  x3dh::PrekeyUpload upload;
  for (int round = 0; round < 2; round++) {
    auto c = prekeys.Count(s.user(), s.device(), auth);
    if (!c.ok() && c.status().code() != Status::Code::kNotFound) return Fail(env, c.status());
    std::optional<uint64_t> count;
    if (c.ok()) count = c->opk_count;
    auto prepared = s.PrepareUpload(env.ctx->clock(), count);
    if (!prepared.ok()) return Fail(env, prepared.status());
    upload = std::move(prepared).value();
    if (c.ok() && upload.opks.empty() && c->spk_id == upload.spk.spk_id &&
        c->spk_created == upload.spk.created) {
      env.out() << "prekeys up to date: spk " << upload.spk.spk_id << ", " << *count
                << " one-time prekeys in the directory\n";
      return kExitOk;
    }
    r = prekeys.Upload(s.user(), s.device(), x3dh::PrekeyUploadToJson(upload), auth);
    const bool reused = !r.ok() && r.status().message().find("opk_id_reused") != std::string::npos;
    if (!r.ok() && !reused) return Fail(env, r.status());
    Status confirmed = s.ConfirmUpload(upload);
    if (!confirmed.ok()) return Fail(env, confirmed);
    if (r.ok()) break;
  }
  if (!r.ok()) return Fail(env, r.status());
  if (env.json()) {
    env.out() << json{{"spk_id", r->spk_id}, {"uploaded_opks", upload.opks.size()},
                      {"opk_count", r->opk_count}}.dump()
              << "\n";
    return kExitOk;
  }
  env.out() << "published spk " << r->spk_id << " and " << upload.opks.size()
            << " one-time prekeys; the directory now holds " << r->opk_count << "\n";
  return kExitOk;
}

int CmdDeviceStats(CliEnv& env) {
  auto store = OpenDevice(env, {});
  if (!store.ok()) return Fail(env, store.status());
  auto c = (*store)->Counters();
  if (!c.ok()) return Fail(env, c.status());
  std::vector<std::pair<std::string, uint64_t>> rows = {
      {"sent", c->sent},
      {"received", c->received},
      {"received_without_opk", c->received_without_opk},
      {"spk_rotations", c->spk_rotations},
      {"spks_erased", c->spks_erased},
      {"opks_generated", c->opks_generated}};
  for (size_t i = 0; i < x3dh::kX3dhErrorCount; i++) {
    auto e = static_cast<x3dh::X3dhError>(i);
    rows.emplace_back(std::string(x3dh::X3dhErrorName(e)), c->failure(e));
  }
  rows.emplace_back("other_failures", c->other_failures);
  if (env.json()) {
    json j = json::object();
    for (const auto& [k, v] : rows) j[k] = v;
    env.out() << json{{"user", (*store)->user()}, {"device", (*store)->device()}, {"counters", j}}.dump()
              << "\n";
    return kExitOk;
  }
  env.out() << (*store)->user() << "/" << (*store)->device() << "\n";
  for (const auto& [k, v] : rows) env.out() << "  " << k << std::string(22 - k.size(), ' ') << v << "\n";
  return kExitOk;
}

int CmdDevice(CliEnv& env) {
  const auto& p = env.args.positional;
  const std::string sub = p.empty() ? "" : p[0];
  if (sub == "init" && p.size() == 3) return CmdDeviceInit(env, p[1], p[2]);
  if (sub == "register" && p.size() == 1) return CmdDeviceRegister(env);
  if (sub == "publish-prekeys" && p.size() == 1) return CmdDevicePublish(env);
  if (sub == "stats" && p.size() == 1) return CmdDeviceStats(env);
  env.err() << "kt: usage: kt device init USER DEVICE | register | publish-prekeys | stats\n"
               "(see kt --help)\n";
  return kExitUsage;
}

}  // namespace kt::client
