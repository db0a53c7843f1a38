// SPDX-License-Identifier: Apache-2.0
// `kt send USER MESSAGE` and `kt receive` (docs/x3dh.md "CLI"): X3DH
// initial messages to every verified current device of a user, and the
// device's mailbox read, processed (x3dh/responder.h), sender-checked
// against the log, printed and acknowledged.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/cli_device.h"
#include "client/contacts.h"
#include "client/errors.h"
#include "client/messenger.h"
#include "core/encoding.h"
#include "core/utf8.h"
#include "x3dh/responder.h"

namespace kt::client {

using core::Status;
using nlohmann::json;

namespace {

// CountReason persists an x3dh failure reason seen by this device (the
// responder counts its own; these are the client-side ones).
void CountReason(const CliEnv& env, x3dh::DeviceStore& store, const Status& s) {
  auto reason = x3dh::X3dhErrorOf(s);
  if (!reason.has_value()) return;
  Status c = store.CountFailure(*reason);
  if (!c.ok()) env.err() << "kt: could not count " << x3dh::X3dhErrorName(*reason) << ": " << c.ToString() << "\n";
}

std::string OpkText(const DeviceDelivery& d) {
  return d.opk_id ? "opk " + std::to_string(*d.opk_id) : "no one-time prekey left (3-DH)";
}

// Ackable: failures that will never go away by retrying (the message is
// bad, a duplicate, or its keys are gone) as opposed to local I/O errors.
bool Ackable(const Status& s) {
  return x3dh::X3dhErrorOf(s).has_value() || s.code() == Status::Code::kInvalidArgument;
}

// Messaging is what send and receive open: the local device, its contact
// pins and a directory/mailbox client of the log.
struct Messaging {
  Messaging(std::unique_ptr<x3dh::DeviceStore> s, Contacts c, std::string log_url)
      : store(std::move(s)), contacts(std::move(c)), prekeys(std::move(log_url), http) {}

  std::unique_ptr<x3dh::DeviceStore> store;
  Contacts contacts;
  net::HttpClient http;
  PrekeyClient prekeys;
};

// OpenMessaging opens them, or returns the failure to report.
core::StatusOr<std::unique_ptr<Messaging>> OpenMessaging(const CliEnv& env) {
  auto store = OpenDevice(env, {});
  if (!store.ok()) return store.status();
  auto contacts = Contacts::Load(env.state->dir());
  if (!contacts.ok()) return contacts.status();
  return std::make_unique<Messaging>(std::move(*store), std::move(*contacts), ResolveLogUrl(env));
}

}  // namespace

int CmdSend(CliEnv& env) {
  if (env.args.positional.size() != 2) {
    env.err() << "kt: usage: kt send USER MESSAGE\n(see kt --help)\n";
    return kExitUsage;
  }
  const std::string& user = env.args.positional[0];
  const std::string& text = env.args.positional[1];
  auto opened = OpenMessaging(env);
  if (!opened.ok()) return Fail(env, opened.status());
  x3dh::DeviceStore& s = *(*opened)->store;
  Contacts& contacts = (*opened)->contacts;
  PrekeyClient& prekeys = (*opened)->prekeys;
  SendOptions options;
  options.initiator.now = env.ctx->clock();
  options.record = [&](const x3dh::VerifiedBundle& b, const x3dh::InitiatorResult& r) {
    return s.RecordInitiated(b, r, env.ctx->clock());
  };
  Sender sender{&s.identity(), s.user(), s.device()};
  auto report = SendToUser(prekeys, *env.log, contacts, sender, user, core::AsBytes(text), options);
  if (!report.ok()) {
    CountReason(env, s, report.status());
    return FailX3dh(env, report.status());
  }
  int code = kExitOk;
  json devices = json::array();
  for (const DeviceDelivery& d : report->deliveries) {
    const std::string who = user + "/" + d.device;
    if (d.status.ok()) {
      devices.push_back({{"device", d.device}, {"delivered", true}, {"id", d.message_id},
                         {"spk_id", d.spk_id}, {"opk_id", d.opk_id ? json(*d.opk_id) : json(nullptr)}});
      if (!env.json()) {
        env.out() << who << ": delivered (identity key verified in the log; spk " << d.spk_id
                  << ", " << OpkText(d) << ") id " << d.message_id.substr(0, 16) << "\n";
      }
      continue;
    }
    CountReason(env, s, d.status);
    auto reason = x3dh::X3dhErrorOf(d.status);
    devices.push_back({{"device", d.device}, {"delivered", false}, {"error", d.status.ToString()},
                       {"reason", reason ? std::string(x3dh::X3dhErrorName(*reason)) : ""}});
    env.err() << "kt: " << who << ": NOT sent: " << d.status.ToString() << "\n";
    // A refused bundle (the directory's answer disagrees with the log) is a
    // verification failure; a key change of the contact stopped the whole
    // send before this point.
    if (code == kExitOk) code = reason ? kExitVerification : ExitCodeFor(d.status);
  }
  for (const std::string& d : report->without_bundle) {
    env.err() << "kt: warning: " << user << "/" << d
              << " is a current device but the directory served no prekeys for it: not sent\n";
  }
  if (env.json()) {
    env.out() << json{{"user", user}, {"first_use", report->first_use}, {"devices", devices},
                      {"without_bundle", report->without_bundle}}.dump()
              << "\n";
  } else if (report->first_use) {
    env.out() << "pinned " << user << "'s device keys (first use); compare safety numbers with "
              << "`kt safety-number " << s.user() << " " << user << "`\n";
  }
  return code;
}

int CmdReceive(CliEnv& env) {
  if (!env.args.positional.empty()) {
    env.err() << "kt: usage: kt receive [--limit N] [--json]\n(see kt --help)\n";
    return kExitUsage;
  }
  auto limit = core::ParseDecimal(env.args.Get("limit", "100"));
  if (!limit.ok() || *limit == 0 || *limit > 1000) {
    return Fail(env, Status::InvalidArgument("usage: --limit takes 1..1000"));
  }
  auto opened = OpenMessaging(env);
  if (!opened.ok()) return Fail(env, opened.status());
  x3dh::DeviceStore& s = *(*opened)->store;
  Contacts& contacts = (*opened)->contacts;
  PrekeyClient& prekeys = (*opened)->prekeys;
  const AuthHeader auth = DeviceAuthFor(s);
  auto messages = prekeys.FetchMessages(s.user(), s.device(), *limit, auth);
  if (!messages.ok()) return Fail(env, messages.status());
  int code = kExitOk;
  json out = json::array();
  // One write txn (one durable commit) for the whole fetch.
  std::vector<core::Bytes> encoded;
  encoded.reserve(messages->size());
  for (const MailboxMessage& m : *messages) encoded.push_back(m.message);
  auto processed = x3dh::ProcessEncodedInitialMessages(s, encoded, env.ctx->clock());
  KT_CHECK(processed.size() == messages->size());
  for (size_t i = 0; i < messages->size(); ++i) {
    const MailboxMessage& m = (*messages)[i];
    json j = {{"id", m.id}, {"received", m.received}};
    auto& p = processed[i];
    Status st = p.ok() ? VerifySender(*env.log, contacts, p->header) : p.status();
    if (p.ok()) {
      j["sender_user"] = p->header.sender_user;
      j["sender_device"] = p->header.sender_device;
      j["sender_identity_key"] = core::Base64Encode(p->header.sender_identity_key);
      j["duplicate"] = p->duplicate;
      if (!st.ok()) CountReason(env, s, st);  // the responder counted its own failures
    }
    if (st.ok()) {
      const std::string who = p->header.sender_user + "/" + p->header.sender_device;
      const bool utf8 = core::IsValidUtf8(p->plaintext);
      j["status"] = p->duplicate ? "duplicate" : "ok";
      j["plaintext_b64"] = core::Base64Encode(p->plaintext);
      if (utf8) j["plaintext"] = core::ToString(p->plaintext);
      if (!env.json()) {
        env.out() << "from " << who << " (sender key verified in the log)"
                  << (p->duplicate ? " [duplicate delivery of a message already read]" : "")
                  << ": " << (utf8 ? core::ToString(p->plaintext) : "(binary) " + j["plaintext_b64"].get<std::string>())
                  << "\n";
      }
    } else {
      auto reason = x3dh::X3dhErrorOf(st);
      j["status"] = "refused";
      j["error"] = st.ToString();
      j["reason"] = reason ? std::string(x3dh::X3dhErrorName(*reason)) : "";
      env.err() << "kt: message " << m.id.substr(0, 16) << " refused, not shown: " << st.ToString() << "\n";
      if (code == kExitOk) code = ExitForX3dh(st);
    }
    if (st.ok() || Ackable(st)) {
      auto acked = prekeys.Ack(s.user(), s.device(), m.id, auth);
      j["acked"] = acked.ok();
      if (!acked.ok()) {
        env.err() << "kt: ack of " << m.id.substr(0, 16) << " failed: " << acked.status().ToString() << "\n";
        if (code == kExitOk) code = ExitCodeFor(acked.status());
      }
    }
    out.push_back(j);
  }
  if (env.json()) {
    env.out() << json{{"user", s.user()}, {"device", s.device()}, {"messages", out}}.dump() << "\n";
  } else if (messages->empty()) {
    env.out() << "no messages for " << s.user() << "/" << s.device() << "\n";
  }
  return code;
}

}  // namespace kt::client
