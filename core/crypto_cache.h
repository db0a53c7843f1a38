// SPDX-License-Identifier: Apache-2.0
// A bounded process-wide cache of Ed25519 signatures that verified (RFC 8032
// §5.1.7, through core/crypto.h), for signatures a client meets again and
// again: an X3DH initiator sees the same signed prekey for every session it
// starts with a device, and `kt send` verifies the same log entries' proofs of
// possession on every lookup of the recipient. Like the verified-checkpoint
// cache of client/trust.h it stores successes only, keyed by a digest of every
// input, so it never changes a result, only the time to reach it.
#ifndef KT_CORE_CRYPTO_CACHE_H_
#define KT_CORE_CRYPTO_CACHE_H_

#include <cstdint>

#include "core/bytes.h"

namespace kt::core {

// Ed25519VerifyCached returns exactly what Ed25519Verify(public_key, msg,
// sig) returns. A success is remembered under SHA-256(public_key || sig ||
// msg) (a 32-byte key and a 64-byte signature: other sizes are never cached
// and fail as Ed25519Verify does), so a later call with the same three
// inputs skips the verification (one hash instead); any differing byte is a
// miss and is verified in full. Failures are never cached. The cache holds
// 4096 entries and is cleared when full; it holds public data only, and its
// one observable effect is timing. Thread-safe.
bool Ed25519VerifyCached(ByteSpan public_key, ByteSpan msg, ByteSpan sig);

// SignatureCacheStats counts Ed25519VerifyCached calls answered from the
// cache (hits) and verified in full (misses) in this process.
struct SignatureCacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
};
SignatureCacheStats GetSignatureCacheStats();

// ClearSignatureCache forgets every cached verification (benchmarks of the
// cold path, tests). Thread-safe.
void ClearSignatureCache();

}  // namespace kt::core

#endif  // KT_CORE_CRYPTO_CACHE_H_
