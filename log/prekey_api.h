// SPDX-License-Identifier: Apache-2.0
// PrekeyApi: the prekey directory, mailbox and device authentication routes
// of ktlog (docs/x3dh.md "Server API") as transport-free handlers, like
// LogApi: log/http_server.cc hands it the method, raw request target,
// Authorization header, body and clock, and writes back the ApiResponse.
//
// Which key a device is: its CURRENT logged identity key, the latest
// unrevoked key-set entry of user/device in the integrated log (the
// storage's user index). Bundles carry the lookup view instead (latest
// witnessed checkpoint, LogApi::LookupWitnessed), so a client can verify
// each bundle's entry and proof exactly as it verifies /v1/lookup.
#ifndef KT_LOG_PREKEY_API_H_
#define KT_LOG_PREKEY_API_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "log/api.h"
#include "log/storage.h"
#include "net/metrics.h"
#include "x3dh/device_auth.h"
#include "x3dh/mailbox_store.h"
#include "x3dh/prekey_store.h"

namespace kt::log {

// kMaxMailboxBody bounds POST /v1/messages bodies (1 MiB + 4 KiB).
inline constexpr size_t kMaxMailboxBody = (size_t{1} << 20) + 4096;
// kMaxPrekeyBody bounds PUT /v1/prekeys bodies (1,000 OPKs fit in ~80 KB).
inline constexpr size_t kMaxPrekeyBody = size_t{256} << 10;

// PrekeyRequest is one request to a /v1/prekeys/ or /v1/messages/ route.
struct PrekeyRequest {
  std::string_view method;  // "GET", "PUT", "POST", "DELETE"
  // target is the raw request target (percent-encoded path, optional query);
  // the path is split on '/' BEFORE percent-decoding, so ids may contain '/'.
  std::string_view target;
  std::optional<std::string> authorization;  // the Authorization header
  std::optional<std::string> limit;          // the decoded "limit" query parameter
  std::string_view body;
  uint64_t now = 0;  // unix seconds
};

struct PrekeyApiOptions {
  uint64_t auth_window = x3dh::kDeviceAuthWindowSeconds;
  // replay_capacity bounds remembered nonces; when all are live the server
  // answers 503 rather than forget one (x3dh::ReplayCache).
  size_t replay_capacity = size_t{1} << 18;
};

// PrekeyApi is thread-safe. All references must outlive it.
class PrekeyApi {
 public:
  PrekeyApi(LogApi& log_api, LogStorage& storage, x3dh::PrekeyStore& prekeys,
            x3dh::MailboxStore& mailbox, net::Registry& metrics, PrekeyApiOptions options = {});

  // Handle routes a request: PUT /v1/prekeys/U/D, GET /v1/prekeys/U,
  // GET /v1/prekeys/U/D/count, POST|GET /v1/messages/U/D,
  // DELETE /v1/messages/U/D/ID; 404 for any other path, 405 for a known path
  // with another method.
  ApiResponse Handle(const PrekeyRequest& request);

  ApiResponse PutPrekeys(const std::string& user, const std::string& device,
                         const PrekeyRequest& request);
  ApiResponse GetPrekeys(const std::string& user);
  ApiResponse GetPrekeyCount(const std::string& user, const std::string& device,
                             const PrekeyRequest& request);
  ApiResponse PostMessage(const std::string& user, const std::string& device,
                          const PrekeyRequest& request);
  ApiResponse GetMessages(const std::string& user, const std::string& device,
                          const PrekeyRequest& request);
  ApiResponse DeleteMessage(const std::string& user, const std::string& device,
                            const std::string& id_hex, const PrekeyRequest& request);

 private:
  struct AuthedDevice;
  // Authenticate checks the KT-Device header of a request for user/device
  // (signed path `path`): the logged key on success, else the 401/403/503
  // answer (and counts the failure by reason).
  std::variant<AuthedDevice, ApiResponse> Authenticate(const std::string& user,
                                                       const std::string& device,
                                                       const std::string& path,
                                                       const PrekeyRequest& request);
  void CountAuthFailure(std::string_view reason);
  void CountMailboxRefusal(std::string_view reason);
  void CountUploadRefusal(std::string_view reason);

  LogApi& log_api_;
  LogStorage& storage_;
  x3dh::PrekeyStore& prekeys_;
  x3dh::MailboxStore& mailbox_;
  net::Registry& metrics_;
  PrekeyApiOptions options_;
  x3dh::ReplayCache replay_;
};

// PercentDecode decodes %XX escapes (RFC 3986 §2.1; '+' is literal).
// InvalidArgument for a '%' not followed by two hex digits.
StatusOr<std::string> PercentDecode(std::string_view s);

}  // namespace kt::log

#endif  // KT_LOG_PREKEY_API_H_
