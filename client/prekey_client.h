// SPDX-License-Identifier: Apache-2.0
// PrekeyClient: the device side of the prekey directory and mailbox HTTP
// contract (docs/x3dh.md "Server API": GET /v1/prekeys/{user}, PUT and
// GET .../count for a device's prekeys, POST/GET/DELETE /v1/messages).
// Answers are parsed strictly: a malformed answer is InvalidArgument naming
// the field, never an exception. Nothing here is trusted: bundles are only
// usable after client/bundle_verifier.h checked them against the log.
#ifndef KT_CLIENT_PREKEY_CLIENT_H_
#define KT_CLIENT_PREKEY_CLIENT_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/status.h"
#include "net/http_client.h"
#include "x3dh/keys.h"
#include "x3dh/x3dh.h"

namespace kt::client {

// BundleItem is one device's entry of a GET /v1/prekeys/{user} answer: the
// decoded bundle and the device's latest log entry with its tlog-proof, all
// unverified.
struct BundleItem {
  std::string device;
  x3dh::PrekeyBundle bundle;
  uint64_t index = 0;
  core::Bytes entry;
  std::string proof;  // c2sp.org/tlog-proof@v1 text
};

// BundleSet is a whole GET /v1/prekeys/{user} answer.
struct BundleSet {
  std::string user;
  std::string checkpoint;  // signed note text
  std::vector<BundleItem> bundles;
};

// PrekeyCount is GET /v1/prekeys/{user}/{device}/count.
struct PrekeyCount {
  uint64_t opk_count = 0;
  uint32_t spk_id = 0;
  uint64_t spk_created = 0;
};

// UploadResult is the answer to PUT /v1/prekeys/{user}/{device}.
struct UploadResult {
  uint64_t opk_count = 0;
  uint32_t spk_id = 0;
};

// MailboxMessage is one stored initial message (the bytes are undecoded).
struct MailboxMessage {
  std::string id;  // hex MessageId, as the server named it
  core::Bytes message;
  uint64_t received = 0;  // unix seconds
};

// Strict parsers of the answers (exposed for tests and fuzzing):
// InvalidArgument naming the field for anything malformed, including a
// bundle whose encoding does not decode or names another user/device.
core::StatusOr<BundleSet> ParseBundlesAnswer(std::string_view body, std::string_view user);
core::StatusOr<PrekeyCount> ParseCountAnswer(std::string_view body);
core::StatusOr<UploadResult> ParseUploadAnswer(std::string_view body);
core::StatusOr<std::vector<MailboxMessage>> ParseMessagesAnswer(std::string_view body);

// AuthHeader makes the `Authorization` header value of a device-authenticated
// request (docs/x3dh.md "Device authentication") for METHOD, the
// percent-DECODED path without query, and the body.
using AuthHeader = std::function<std::string(std::string_view method, std::string_view path,
                                             std::string_view body)>;

// PrekeyClient talks to the directory and mailbox of the log at `base_url`.
// Errors: Unavailable for network failures; otherwise the server's error
// mapped by net::StatusFromHttp, annotated with the method, path, HTTP status
// and the server's error code (e.g. "opk_id_reused"). Thread-safe if `http`
// is (net::HttpClient is).
class PrekeyClient {
 public:
  PrekeyClient(std::string base_url, net::HttpClient& http)
      : base_url_(std::move(base_url)), http_(http) {}

  // FetchBundles pops one bundle per current device of `user`. NotFound when
  // no device of the user has prekeys.
  core::StatusOr<BundleSet> FetchBundles(std::string_view user);
  // Count is the device's directory state; NotFound if it never published.
  core::StatusOr<PrekeyCount> Count(std::string_view user, std::string_view device,
                                    const AuthHeader& auth);
  // Upload PUTs `body` (x3dh::PrekeyUploadToJson of the device store's upload).
  core::StatusOr<UploadResult> Upload(std::string_view user, std::string_view device,
                                      std::string_view body, const AuthHeader& auth);
  // Deliver posts `message` to its header's recipient mailbox and returns the
  // id the server stored it under (checked to be hex(MessageId)).
  core::StatusOr<std::string> Deliver(const x3dh::InitialMessage& message);
  core::StatusOr<std::vector<MailboxMessage>> FetchMessages(std::string_view user,
                                                            std::string_view device,
                                                            uint64_t limit,
                                                            const AuthHeader& auth);
  // Ack deletes message `id`; returns whether it was still there.
  core::StatusOr<bool> Ack(std::string_view user, std::string_view device, std::string_view id,
                           const AuthHeader& auth);

  const std::string& base_url() const { return base_url_; }

 private:
  // Call sends a request and returns the body of a 200 answer.
  core::StatusOr<std::string> Call(const std::string& method, const std::string& encoded_path,
                                   const std::string& decoded_path, std::string_view body,
                                   const std::string& content_type, const AuthHeader* auth);

  std::string base_url_;
  net::HttpClient& http_;
};

}  // namespace kt::client

#endif  // KT_CLIENT_PREKEY_CLIENT_H_
