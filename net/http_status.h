// SPDX-License-Identifier: Apache-2.0
// The single table mapping core::Status codes to HTTP status codes (and back),
// and the JSON error body every endpoint returns: {"error": msg, "code": name}.
#ifndef KT_NET_HTTP_STATUS_H_
#define KT_NET_HTTP_STATUS_H_

#include <string>
#include <string_view>

#include "core/status.h"

namespace kt::net {

// HttpStatusFor maps a code to its HTTP status: kOk 200, kInvalidArgument 400,
// kUnauthenticated 401, kPermissionDenied 403, kNotFound 404, kConflict 409,
// kVerificationFailed 422, kResourceExhausted 429, kUnavailable 503, and 500
// for everything else (kCorruption, kIOError, kInternal). Endpoints that must
// answer a failed signature with 403 map that case themselves.
int HttpStatusFor(core::Status::Code code);

// JsonError renders `{"error": <message>, "code": <CodeName>}` for a non-OK
// status (a kConflict also carries "value": <n> when non-zero).
std::string JsonError(const core::Status& status);

// StatusFromHttp is the client-side inverse: OK for 2xx; otherwise a Status
// whose code comes from the body's "code" field when it is one of our code
// names, else from the HTTP status (5xx other than 503 → kInternal, unknown
// 4xx → kInvalidArgument), and whose message is the body's "error" field or
// (a bounded prefix of) the body itself.
core::Status StatusFromHttp(int http_status, std::string_view body);

}  // namespace kt::net

#endif  // KT_NET_HTTP_STATUS_H_
