// SPDX-License-Identifier: Apache-2.0
// The body of `PUT /v1/prekeys/{user}/{device}` (docs/x3dh.md "Server API"):
// the device's identity key, its current signed prekey and a batch of
// one-time prekeys (x3dh::PrekeyUpload) as strict JSON.
#ifndef KT_X3DH_PREKEY_UPLOAD_H_
#define KT_X3DH_PREKEY_UPLOAD_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto.h"
#include "core/status.h"
#include "x3dh/keys.h"
#include "x3dh/prekey_store.h"

namespace kt::x3dh {

// PrekeyUpload and kMaxOpksPerUpload are declared in x3dh/prekey_store.h
// (the server's directory, which stores uploads).

// PrekeyUploadToJson returns
//   {"identity_key": b64, "spk": {"id": n, "created": n, "public": b64, "signature": b64},
//    "opks": [{"id": n, "public": b64}, ...]}
// with standard padded base64. Requires at most kMaxOpksPerUpload OPKs (KT_CHECK).
std::string PrekeyUploadToJson(const PrekeyUpload& upload);

// ParsePrekeyUploadJson accepts exactly that shape: every field present with
// the right type and size, ids within uint32, no duplicate OPK ids, at most
// kMaxOpksPerUpload OPKs. InvalidArgument otherwise. It checks no signature.
core::StatusOr<PrekeyUpload> ParsePrekeyUploadJson(std::string_view json);

}  // namespace kt::x3dh

#endif  // KT_X3DH_PREKEY_UPLOAD_H_
