// SPDX-License-Identifier: Apache-2.0
// Prekey directory and mailbox requests and strict answer parsing
// (docs/x3dh.md "Server API").
#include "client/prekey_client.h"

#include <limits>

#include <nlohmann/json.hpp>

#include "client/fetcher.h"
#include "client/json_util.h"
#include "core/encoding.h"
#include "net/http_status.h"

namespace kt::client {

using core::Status;
using core::StatusOr;
using nlohmann::json;

namespace {

StatusOr<uint32_t> GetU32(const json& obj, const char* name, std::string_view what) {
  KT_ASSIGN_OR_RETURN(uint64_t v, GetU64(obj, name, what));
  if (v > std::numeric_limits<uint32_t>::max()) {
    return Status::InvalidArgument(std::string(what) + ": field " + name + " exceeds uint32");
  }
  return static_cast<uint32_t>(v);
}

std::string PathOf(std::string_view prefix, std::initializer_list<std::string_view> parts,
                   bool encode) {
  std::string p(prefix);
  for (std::string_view s : parts) {
    p.push_back('/');
    p += encode ? UrlEncode(s) : std::string(s);
  }
  return p;
}

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

StatusOr<BundleSet> ParseBundlesAnswer(std::string_view body, std::string_view user) {
  constexpr std::string_view kWhat = "prekey bundles";
  KT_ASSIGN_OR_RETURN(json j, ParseJsonObject(body, kWhat));
  BundleSet out;
  KT_ASSIGN_OR_RETURN(out.user, GetString(j, "user", kWhat));
  if (out.user != user) return Status::InvalidArgument("prekey bundles: answer is for another user");
  KT_ASSIGN_OR_RETURN(out.checkpoint, GetString(j, "checkpoint", kWhat));
  KT_ASSIGN_OR_RETURN(std::vector<json> items, GetArray(j, "bundles", kWhat));
  for (const json& it : items) {
    if (!it.is_object()) return Status::InvalidArgument("prekey bundles: an item is not an object");
    BundleItem b;
    KT_ASSIGN_OR_RETURN(b.device, GetString(it, "device", kWhat));
    KT_ASSIGN_OR_RETURN(core::Bytes raw, GetBase64(it, "bundle", kWhat));
    auto bundle = x3dh::DecodePrekeyBundle(raw);
    if (!bundle.ok()) return bundle.status().Annotate("prekey bundles: device " + b.device);
    b.bundle = std::move(bundle).value();
    if (b.bundle.user != user || b.bundle.device != b.device) {
      return Status::InvalidArgument("prekey bundles: the bundle listed for " + b.device +
                                     " names " + b.bundle.user + "/" + b.bundle.device);
    }
    KT_ASSIGN_OR_RETURN(b.index, GetU64(it, "index", kWhat));
    KT_ASSIGN_OR_RETURN(b.entry, GetBase64(it, "entry", kWhat));
    KT_ASSIGN_OR_RETURN(b.proof, GetString(it, "proof", kWhat));
    for (const BundleItem& prior : out.bundles) {
      if (prior.device == b.device) {
        return Status::InvalidArgument("prekey bundles: device " + b.device + " listed twice");
      }
    }
    out.bundles.push_back(std::move(b));
  }
  return out;
}

StatusOr<PrekeyCount> ParseCountAnswer(std::string_view body) {
  constexpr std::string_view kWhat = "prekey count";
  KT_ASSIGN_OR_RETURN(json j, ParseJsonObject(body, kWhat));
  PrekeyCount c;
  KT_ASSIGN_OR_RETURN(c.opk_count, GetU64(j, "opk_count", kWhat));
  KT_ASSIGN_OR_RETURN(c.spk_id, GetU32(j, "spk_id", kWhat));
  KT_ASSIGN_OR_RETURN(c.spk_created, GetU64(j, "spk_created", kWhat));
  return c;
}

StatusOr<UploadResult> ParseUploadAnswer(std::string_view body) {
  constexpr std::string_view kWhat = "prekey upload";
  KT_ASSIGN_OR_RETURN(json j, ParseJsonObject(body, kWhat));
  UploadResult r;
  KT_ASSIGN_OR_RETURN(r.opk_count, GetU64(j, "opk_count", kWhat));
  KT_ASSIGN_OR_RETURN(r.spk_id, GetU32(j, "spk_id", kWhat));
  return r;
}

StatusOr<std::vector<MailboxMessage>> ParseMessagesAnswer(std::string_view body) {
  constexpr std::string_view kWhat = "mailbox";
  KT_ASSIGN_OR_RETURN(json j, ParseJsonObject(body, kWhat));
  KT_ASSIGN_OR_RETURN(std::vector<json> items, GetArray(j, "messages", kWhat));
  std::vector<MailboxMessage> out;
  for (const json& it : items) {
    if (!it.is_object()) return Status::InvalidArgument("mailbox: an item is not an object");
    MailboxMessage m;
    KT_ASSIGN_OR_RETURN(m.id, GetString(it, "id", kWhat));
    if (m.id.size() != 64 || !IsLowerHex(m.id)) {
      return Status::InvalidArgument("mailbox: field id is not 64 lowercase hex digits");
    }
    KT_ASSIGN_OR_RETURN(m.message, GetBase64(it, "message", kWhat));
    KT_ASSIGN_OR_RETURN(m.received, GetU64(it, "received", kWhat));
    out.push_back(std::move(m));
  }
  return out;
}

StatusOr<std::string> PrekeyClient::Call(const std::string& method,
                                         const std::string& encoded_path,
                                         const std::string& decoded_path, std::string_view body,
                                         const std::string& content_type, const AuthHeader* auth) {
  const std::string url = net::JoinUrl(base_url_, encoded_path);
  net::Headers headers;
  if (auth != nullptr) headers.emplace("Authorization", (*auth)(method, decoded_path, body));
  StatusOr<net::HttpResponse> resp = Status::Internal("unreachable");
  if (method == "GET") {
    resp = http_.Get(url, headers);
  } else if (method == "DELETE") {
    resp = http_.Delete(url, headers);
  } else if (method == "PUT") {
    resp = http_.Put(url, body, content_type, headers);
  } else {
    resp = http_.Post(url, body, content_type, headers);
  }
  const std::string what = method + " " + decoded_path;
  if (!resp.ok()) return resp.status();  // names the method and URL
  if (resp->status == 200) return std::move(resp->body);
  Status s = net::StatusFromHttp(resp->status, resp->body);
  std::string code;
  json j = json::parse(resp->body, nullptr, false);
  if (j.is_object() && j.contains("code") && j["code"].is_string()) code = j["code"].get<std::string>();
  std::string ctx = what + ": HTTP " + std::to_string(resp->status) + (code.empty() ? "" : " " + code);
  if (s.ok()) return Status::Unavailable(ctx + ": unexpected answer");
  if (resp->status == 404) return Status::NotFound(ctx + ": " + s.message());
  if (resp->status >= 500) return Status::Unavailable(ctx + ": " + s.message());
  return s.Annotate(ctx);
}

StatusOr<BundleSet> PrekeyClient::FetchBundles(std::string_view user) {
  KT_ASSIGN_OR_RETURN(std::string body, Call("GET", PathOf("v1/prekeys", {user}, true),
                                             PathOf("/v1/prekeys", {user}, false), "", "",
                                             nullptr));
  return ParseBundlesAnswer(body, user);
}

StatusOr<PrekeyCount> PrekeyClient::Count(std::string_view user, std::string_view device,
                                          const AuthHeader& auth) {
  KT_ASSIGN_OR_RETURN(std::string body,
                      Call("GET", PathOf("v1/prekeys", {user, device, "count"}, true),
                           PathOf("/v1/prekeys", {user, device, "count"}, false), "", "", &auth));
  return ParseCountAnswer(body);
}

StatusOr<UploadResult> PrekeyClient::Upload(std::string_view user, std::string_view device,
                                            std::string_view body, const AuthHeader& auth) {
  KT_ASSIGN_OR_RETURN(std::string answer,
                      Call("PUT", PathOf("v1/prekeys", {user, device}, true),
                           PathOf("/v1/prekeys", {user, device}, false), body, "application/json",
                           &auth));
  return ParseUploadAnswer(answer);
}

StatusOr<std::string> PrekeyClient::Deliver(const x3dh::InitialMessage& message) {
  const x3dh::Header& h = message.header;
  const core::Bytes encoded = x3dh::EncodeInitialMessage(message);
  KT_ASSIGN_OR_RETURN(
      std::string answer,
      Call("POST", PathOf("v1/messages", {h.recipient_user, h.recipient_device}, true),
           PathOf("/v1/messages", {h.recipient_user, h.recipient_device}, false),
           core::AsStringView(encoded), "application/octet-stream", nullptr));
  KT_ASSIGN_OR_RETURN(json j, ParseJsonObject(answer, "mailbox post"));
  KT_ASSIGN_OR_RETURN(std::string id, GetString(j, "id", "mailbox post"));
  if (id != core::HexEncode(x3dh::MessageId(message))) {
    return Status::VerificationFailed("mailbox post: the server stored the message under id " + id +
                                      ", not its MessageId");
  }
  return id;
}

StatusOr<std::vector<MailboxMessage>> PrekeyClient::FetchMessages(std::string_view user,
                                                                  std::string_view device,
                                                                  uint64_t limit,
                                                                  const AuthHeader& auth) {
  const std::string query = "?limit=" + std::to_string(limit);
  KT_ASSIGN_OR_RETURN(std::string body,
                      Call("GET", PathOf("v1/messages", {user, device}, true) + query,
                           PathOf("/v1/messages", {user, device}, false), "", "", &auth));
  return ParseMessagesAnswer(body);
}

StatusOr<bool> PrekeyClient::Ack(std::string_view user, std::string_view device,
                                 std::string_view id, const AuthHeader& auth) {
  KT_ASSIGN_OR_RETURN(std::string body,
                      Call("DELETE", PathOf("v1/messages", {user, device, id}, true),
                           PathOf("/v1/messages", {user, device, id}, false), "", "", &auth));
  KT_ASSIGN_OR_RETURN(json j, ParseJsonObject(body, "mailbox ack"));
  auto it = j.find("deleted");
  if (it == j.end() || !it->is_boolean()) {
    return Status::InvalidArgument("mailbox ack: field deleted missing or not a boolean");
  }
  return it->get<bool>();
}

}  // namespace kt::client
