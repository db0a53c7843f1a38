// SPDX-License-Identifier: Apache-2.0
// PrekeyApi handlers: docs/x3dh.md "Server API" (prekey directory, mailbox,
// KT-Device authentication). See prekey_api.h.
#include "log/prekey_api.h"

#include <nlohmann/json.hpp>
#include <utility>
#include <variant>
#include <vector>

#include "core/encoding.h"
#include "core/utf8.h"
#include "net/json_writer.h"
#include "x3dh/keys.h"
#include "x3dh/prekey_upload.h"
#include "x3dh/x3dh.h"

namespace kt::log {
namespace {

using nlohmann::json;

constexpr std::string_view kPrekeysPrefix = "/v1/prekeys/";
constexpr std::string_view kMessagesPrefix = "/v1/messages/";
constexpr uint64_t kDefaultFetch = 100;

ApiResponse Json(int status, const json& j) {
  ApiResponse r;
  r.status = status;
  r.content_type = kJsonContentType;
  r.body = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

// Refuse answers {"error", "code"} with a contract-specific code.
ApiResponse Refuse(int status, std::string_view code, std::string_view message) {
  ApiResponse r = Json(status, {{"error", message}, {"code", code}});
  if (status == 503 || status == 429) r.headers.emplace_back("Retry-After", "1");
  return r;
}

Status ValidateId(std::string_view what, std::string_view id) {
  if (id.empty() || id.size() > core::kMaxIdLength) {
    return Status::InvalidArgument(std::string(what) + " must be 1 to 255 bytes");
  }
  if (!core::IsValidUtf8(id)) return Status::InvalidArgument(std::string(what) + " is not valid UTF-8");
  return Status();
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// SplitDecoded splits a raw path remainder on '/' and percent-decodes each
// segment (so an encoded '/' stays inside its id).
StatusOr<std::vector<std::string>> SplitDecoded(std::string_view rest) {
  std::vector<std::string> out;
  while (true) {
    size_t slash = rest.find('/');
    KT_ASSIGN_OR_RETURN(std::string seg, PercentDecode(rest.substr(0, slash)));
    out.push_back(std::move(seg));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
    if (out.size() > 4) return Status::NotFound("no such route");
  }
  return out;
}

}  // namespace

StatusOr<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    int hi = i + 2 < s.size() ? HexDigit(s[i + 1]) : -1;
    int lo = i + 2 < s.size() ? HexDigit(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) return Status::InvalidArgument("bad percent-encoding in the path");
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

struct PrekeyApi::AuthedDevice {
  core::Ed25519PublicKey identity_key{};
};

PrekeyApi::PrekeyApi(LogApi& log_api, LogStorage& storage, x3dh::PrekeyStore& prekeys,
                     x3dh::MailboxStore& mailbox, net::Registry& metrics, PrekeyApiOptions options)
    : log_api_(log_api),
      storage_(storage),
      prekeys_(prekeys),
      mailbox_(mailbox),
      metrics_(metrics),
      options_(options),
      replay_(options.replay_capacity, options.auth_window) {}

ApiResponse PrekeyApi::Handle(const PrekeyRequest& req) {
  std::string_view path = req.target.substr(0, req.target.find('?'));
  bool prekeys = path.starts_with(kPrekeysPrefix);
  if (!prekeys && !path.starts_with(kMessagesPrefix)) {
    return ErrorResponse(Status::NotFound("no such route"));
  }
  path.remove_prefix(prekeys ? kPrekeysPrefix.size() : kMessagesPrefix.size());
  auto segs = SplitDecoded(path);
  if (!segs.ok()) return ErrorResponse(segs.status());
  const std::vector<std::string>& s = *segs;
  for (size_t i = 0; i < s.size() && i < 2; ++i) {
    Status valid = ValidateId(i == 0 ? "user" : "device", s[i]);
    if (!valid.ok()) return ErrorResponse(valid);
  }
  auto not_allowed = [] { return Refuse(405, "method_not_allowed", "method not allowed"); };
  const std::string_view m = req.method;
  if (prekeys) {
    if (s.size() == 1) return m == "GET" ? GetPrekeys(s[0]) : not_allowed();
    if (s.size() == 2) return m == "PUT" ? PutPrekeys(s[0], s[1], req) : not_allowed();
    if (s.size() == 3 && s[2] == "count") {
      return m == "GET" ? GetPrekeyCount(s[0], s[1], req) : not_allowed();
    }
  } else {
    if (s.size() == 2) {
      if (m == "POST") return PostMessage(s[0], s[1], req);
      if (m == "GET") return GetMessages(s[0], s[1], req);
      return not_allowed();
    }
    if (s.size() == 3) return m == "DELETE" ? DeleteMessage(s[0], s[1], s[2], req) : not_allowed();
  }
  return ErrorResponse(Status::NotFound("no such route"));
}

void PrekeyApi::CountAuthFailure(std::string_view reason) {
  metrics_
      .GetCounter("kt_device_auth_failures_total", "Device request authentication failures by reason.",
                  {{"reason", std::string(reason)}})
      .Inc();
}

void PrekeyApi::CountMailboxRefusal(std::string_view reason) {
  metrics_
      .GetCounter("kt_mailbox_messages_refused_total", "Mailbox messages refused by reason.",
                  {{"reason", std::string(reason)}})
      .Inc();
}

void PrekeyApi::CountUploadRefusal(std::string_view reason) {
  metrics_
      .GetCounter("kt_prekey_uploads_refused_total", "Prekey uploads refused by reason.",
                  {{"reason", std::string(reason)}})
      .Inc();
}

std::variant<PrekeyApi::AuthedDevice, ApiResponse> PrekeyApi::Authenticate(
    const std::string& user, const std::string& device, const std::string& path,
    const PrekeyRequest& req) {
  // docs/x3dh.md "Device authentication": first failure wins.
  auto unauthenticated = [this](std::string_view reason, std::string_view message) {
    CountAuthFailure(reason);
    return Refuse(401, "unauthenticated", message);
  };
  if (!req.authorization) return unauthenticated("missing", "missing KT-Device authorization");
  auto auth = x3dh::ParseDeviceAuth(*req.authorization);
  if (!auth.ok()) return unauthenticated("malformed", auth.status().message());
  if (!x3dh::DeviceAuthFresh(auth->ts, req.now, options_.auth_window)) {
    return unauthenticated("stale", "ts is outside the freshness window");
  }
  auto state = storage_.ReadUser(user);
  if (!state.ok()) return ErrorResponse(state.status());
  const DeviceState* logged = state->FindDevice(device);
  if (logged == nullptr) {  // no key to check a signature against
    CountAuthFailure("forbidden");
    return Refuse(403, "forbidden", "not a current device");
  }
  if (!x3dh::VerifyDeviceAuthSignature(logged->identity_key, *auth, req.method, path,
                                       core::AsBytes(req.body))) {
    return unauthenticated("signature", "signature does not verify under the logged key");
  }
  Status fresh = replay_.CheckAndRemember(user, device, auth->nonce, req.now);
  if (fresh.code() == Status::Code::kUnavailable) {
    CountAuthFailure("replay_cache_full");
    return Refuse(503, "unavailable", fresh.message());
  }
  if (!fresh.ok()) return unauthenticated("replay", "nonce already used");
  if (logged->revoked) {
    CountAuthFailure("forbidden");
    return Refuse(403, "forbidden", "not a current device");
  }
  return AuthedDevice{logged->identity_key};
}

ApiResponse PrekeyApi::PutPrekeys(const std::string& user, const std::string& device,
                                  const PrekeyRequest& req) {
  if (req.body.size() > kMaxPrekeyBody) return Refuse(413, "too_large", "body too large");
  auto authed = Authenticate(user, device, std::string(kPrekeysPrefix) + user + "/" + device, req);
  if (auto* r = std::get_if<ApiResponse>(&authed)) return std::move(*r);
  const auto& key = std::get<AuthedDevice>(authed).identity_key;
  auto upload = x3dh::ParsePrekeyUploadJson(req.body);
  if (!upload.ok()) {
    CountUploadRefusal("malformed");
    return ErrorResponse(upload.status());
  }
  if (upload->identity_key != key) {
    CountUploadRefusal("identity_key_not_logged");
    return Refuse(403, "identity_key_not_logged",
                  "identity_key is not the device's current logged key");
  }
  auto verifier = core::Ed25519Verifier::Create(key);
  if (!verifier.ok() || !x3dh::VerifySignedPrekey(*verifier, upload->spk).ok()) {
    CountUploadRefusal("signature_invalid");
    return Refuse(422, "signature_invalid", "SPK signature does not verify");
  }
  auto out = prekeys_.Upload(user, device, *upload);
  if (!out.ok()) return ErrorResponse(out.status());
  switch (out->refusal) {
    case x3dh::UploadRefusal::kNone:
      break;
    case x3dh::UploadRefusal::kOpkIdReused:
      CountUploadRefusal("opk_id_reused");
      return Refuse(409, "opk_id_reused",
                    "OPK id " + std::to_string(out->opk_id) + " was uploaded before");
    case x3dh::UploadRefusal::kSpkIdReused:
      CountUploadRefusal("spk_id_reused");
      return Refuse(409, "spk_id_reused", "SPK id is stored with different content");
    case x3dh::UploadRefusal::kPoolFull:
      CountUploadRefusal("opk_pool_full");
      return Refuse(507, "opk_pool_full", "the OPK pool would exceed its bound");
  }
  metrics_.GetCounter("kt_prekey_uploads_total", "Prekey uploads stored.").Inc();
  return Json(200, {{"opk_count", out->opk_count}, {"spk_id", out->spk_id}});
}

ApiResponse PrekeyApi::GetPrekeys(const std::string& user) {
  auto lookup = log_api_.LookupWitnessed(user);
  if (!lookup.ok()) return ErrorResponse(lookup.status());
  // Proofs are ready before any OPK is popped, so a failure burns none.
  std::vector<x3dh::BundleQuery> queries;
  for (const LoggedDevice& d : lookup->devices) queries.push_back({d.device, d.identity_key});
  auto bundles = prekeys_.PopBundles(user, queries);
  if (!bundles.ok()) return ErrorResponse(bundles.status());
  if (bundles->empty()) return ErrorResponse(Status::NotFound("no current device with prekeys"));
  // Written without a DOM on this hot path, byte for byte as nlohmann's
  // dump() of the same object (keys in sorted order; net/json_writer.h).
  std::string body = "{\"bundles\":[";
  uint64_t with_opk = 0;
  size_t next = 0;  // bundles are in lookup order, a subsequence of it
  for (const x3dh::PrekeyBundle& b : *bundles) {
    while (next < lookup->devices.size() && lookup->devices[next].device != b.device) next++;
    KT_CHECK(next < lookup->devices.size());  // PopBundles keeps the query order
    const LoggedDevice& d = lookup->devices[next];
    if (b.one_time_prekey) with_opk++;
    if (body.back() != '[') body += ',';
    body += "{\"bundle\":";
    net::AppendJsonString(&body, core::Base64Encode(x3dh::EncodePrekeyBundle(b)));
    body += ",\"device\":";
    net::AppendJsonString(&body, b.device);
    body += ",\"entry\":";
    net::AppendJsonString(&body, core::Base64Encode(d.entry));
    body += ",\"index\":" + std::to_string(d.index) + ",\"proof\":";
    net::AppendJsonString(&body, d.proof);
    body += '}';
  }
  body += "],\"checkpoint\":";
  net::AppendJsonString(&body, lookup->checkpoint);
  body += ",\"user\":";
  net::AppendJsonString(&body, user);
  body += '}';
  metrics_.GetCounter("kt_prekey_bundles_served_total", "Prekey bundles served.")
      .Inc(bundles->size());
  metrics_.GetCounter("kt_prekey_opks_handed_out_total", "One-time prekeys handed out.")
      .Inc(with_opk);
  metrics_
      .GetCounter("kt_prekey_bundles_without_opk_total",
                  "Prekey bundles served without a one-time prekey (pool exhausted).")
      .Inc(bundles->size() - with_opk);
  ApiResponse r;
  r.status = 200;
  r.content_type = kJsonContentType;
  r.body = std::move(body);
  return r;
}

ApiResponse PrekeyApi::GetPrekeyCount(const std::string& user, const std::string& device,
                                      const PrekeyRequest& req) {
  auto authed = Authenticate(
      user, device, std::string(kPrekeysPrefix) + user + "/" + device + "/count", req);
  if (auto* r = std::get_if<ApiResponse>(&authed)) return std::move(*r);
  auto count = prekeys_.Count(user, device);
  if (!count.ok()) return ErrorResponse(count.status());
  // Prekeys uploaded under an earlier identity key are never served.
  if (count->identity_key != std::get<AuthedDevice>(authed).identity_key) {
    return ErrorResponse(Status::NotFound("no prekeys published under the current key"));
  }
  return Json(200, {{"opk_count", count->opk_count},
                    {"spk_id", count->spk_id},
                    {"spk_created", count->spk_created}});
}

ApiResponse PrekeyApi::PostMessage(const std::string& user, const std::string& device,
                                   const PrekeyRequest& req) {
  if (req.body.size() > kMaxMailboxBody) {
    CountMailboxRefusal("too_large");
    return Refuse(413, "too_large", "message too large");
  }
  auto message = x3dh::DecodeInitialMessage(core::AsBytes(req.body));
  if (!message.ok()) {
    CountMailboxRefusal("malformed");
    return ErrorResponse(Status::InvalidArgument("body is not an initial message: " +
                                                 message.status().message()));
  }
  if (message->header.recipient_user != user || message->header.recipient_device != device) {
    CountMailboxRefusal("recipient_mismatch");
    return Refuse(400, "recipient_mismatch", "the message is addressed to another device");
  }
  auto state = storage_.ReadUser(user);
  if (!state.ok()) return ErrorResponse(state.status());
  if (!state->IsCurrentDevice(device)) {
    CountMailboxRefusal("unknown_device");
    return ErrorResponse(Status::NotFound("not a current device"));
  }
  core::Hash id = x3dh::MessageId(*message);
  auto stored = mailbox_.Store(user, device, id, core::AsBytes(req.body), req.now);
  if (!stored.ok()) return ErrorResponse(stored.status());
  switch (*stored) {
    case x3dh::StoreOutcome::kStored:
      metrics_.GetCounter("kt_mailbox_messages_stored_total", "Mailbox messages stored.").Inc();
      break;
    case x3dh::StoreOutcome::kDuplicate:
      metrics_
          .GetCounter("kt_mailbox_messages_duplicate_total",
                      "Mailbox messages already stored (idempotent resend).")
          .Inc();
      break;
    case x3dh::StoreOutcome::kFull:
      CountMailboxRefusal("mailbox_full");
      return Refuse(507, "mailbox_full", "the device's mailbox is full");
  }
  ApiResponse r;
  r.status = 200;
  r.content_type = kJsonContentType;
  r.body = "{\"id\":\"" + core::HexEncode(id) + "\"}";  // as nlohmann's dump()
  return r;
}

ApiResponse PrekeyApi::GetMessages(const std::string& user, const std::string& device,
                                   const PrekeyRequest& req) {
  auto authed = Authenticate(user, device, std::string(kMessagesPrefix) + user + "/" + device, req);
  if (auto* r = std::get_if<ApiResponse>(&authed)) return std::move(*r);
  uint64_t limit = kDefaultFetch;
  if (req.limit) {
    auto n = core::ParseDecimal(*req.limit);
    if (!n.ok() || *n == 0 || *n > x3dh::kMailboxMaxFetch) {
      return ErrorResponse(Status::InvalidArgument("\"limit\" must be 1 to 1000"));
    }
    limit = *n;
  }
  auto messages = mailbox_.List(user, device, limit);
  if (!messages.ok()) return ErrorResponse(messages.status());
  json list = json::array();
  for (const x3dh::MailboxMessage& m : *messages) {
    list.push_back({{"id", core::HexEncode(m.id)},
                    {"message", core::Base64Encode(m.message)},
                    {"received", m.received}});
  }
  metrics_.GetCounter("kt_mailbox_messages_fetched_total", "Mailbox messages fetched.")
      .Inc(messages->size());
  return Json(200, {{"messages", list}});
}

ApiResponse PrekeyApi::DeleteMessage(const std::string& user, const std::string& device,
                                     const std::string& id_hex, const PrekeyRequest& req) {
  auto authed = Authenticate(
      user, device, std::string(kMessagesPrefix) + user + "/" + device + "/" + id_hex, req);
  if (auto* r = std::get_if<ApiResponse>(&authed)) return std::move(*r);
  auto id = core::HexToHash(id_hex);
  if (!id.ok()) return ErrorResponse(Status::InvalidArgument("id must be 64 hex digits"));
  auto deleted = mailbox_.Delete(user, device, *id);
  if (!deleted.ok()) return ErrorResponse(deleted.status());
  if (*deleted) {
    metrics_.GetCounter("kt_mailbox_messages_acked_total", "Mailbox messages acknowledged.").Inc();
  }
  return Json(200, {{"deleted", *deleted}});
}

}  // namespace kt::log
