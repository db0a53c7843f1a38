// SPDX-License-Identifier: Apache-2.0
// C2SP tlog-cosignature, Ed25519 "cosignature/v1" (signature type 0x04): a
// witness's timestamped signature over a checkpoint's note text.
#ifndef KT_CORE_COSIGNATURE_H_
#define KT_CORE_COSIGNATURE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "core/keys.h"
#include "core/note.h"
#include "core/status.h"

namespace kt::core {

// kMaxCosignatureTimestamp: tlog-cosignature §Format, "MUST NOT exceed 2^63 - 1".
constexpr uint64_t kMaxCosignatureTimestamp = (uint64_t{1} << 63) - 1;
// kCosignatureV1Size: uint64 timestamp || 64-byte Ed25519 signature.
constexpr size_t kCosignatureV1Size = 72;

// CosignatureMessage returns the signed message
// "cosignature/v1\ntime <timestamp>\n" || checkpoint_text
// (tlog-cosignature §Ed25519 signed message).
std::string CosignatureMessage(std::string_view checkpoint_text, uint64_t timestamp);

// Cosign returns the cosignature/v1 line of `witness_key` (type 0x04) over
// `checkpoint_text` at `timestamp` (POSIX seconds): signature = uint64-BE
// timestamp || Ed25519 signature. A wrong key type or a timestamp above
// kMaxCosignatureTimestamp is a bug (KT_CHECK). Thread-safe.
NoteSignature Cosign(const SignerKey& witness_key, std::string_view checkpoint_text,
                     uint64_t timestamp);

// VerifyCosignature checks that `sig` is a valid cosignature/v1 by `key`
// (type 0x04, same name and key ID) over `checkpoint_text` and returns its
// timestamp. VerificationFailed("bad_signature: ...") when the key does not
// match, the signature is not 72 bytes, the timestamp exceeds 2^63 - 1, or
// the Ed25519 signature does not verify. Thread-safe.
StatusOr<uint64_t> VerifyCosignature(const VerifierKey& key, std::string_view checkpoint_text,
                                     const NoteSignature& sig);

}  // namespace kt::core

#endif  // KT_CORE_COSIGNATURE_H_
