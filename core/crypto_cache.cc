// SPDX-License-Identifier: Apache-2.0
// The verified-signature cache of core/crypto_cache.h.
#include "core/crypto_cache.h"

#include <algorithm>
#include <mutex>
#include <unordered_set>

#include "core/crypto.h"

namespace kt::core {
namespace {

constexpr size_t kMaxEntries = 4096;

struct HashOf {
  size_t operator()(const Hash& h) const {
    size_t v = 0;
    std::copy_n(h.data(), sizeof(v), reinterpret_cast<uint8_t*>(&v));
    return v;
  }
};

// Cache is the set of SHA-256(public_key || sig || msg) of verified
// signatures; the digest covers every input, so a hit is a triple that
// verified before.
class Cache {
 public:
  bool Contains(const Hash& h) {
    std::lock_guard<std::mutex> lock(mu_);
    const bool hit = set_.count(h) != 0;
    (hit ? stats_.hits : stats_.misses)++;
    return hit;
  }
  void Insert(const Hash& h) {
    std::lock_guard<std::mutex> lock(mu_);
    if (set_.size() >= kMaxEntries) set_.clear();
    set_.insert(h);
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    set_.clear();
  }
  SignatureCacheStats Stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

 private:
  std::mutex mu_;
  std::unordered_set<Hash, HashOf> set_;
  SignatureCacheStats stats_;
};

Cache& TheCache() {
  static Cache* cache = new Cache();  // never destroyed: used until exit
  return *cache;
}

}  // namespace

bool Ed25519VerifyCached(ByteSpan public_key, ByteSpan msg, ByteSpan sig) {
  if (public_key.size() != 32 || sig.size() != 64) return Ed25519Verify(public_key, msg, sig);
  // Fixed sizes first, the message last: the concatenation is unambiguous.
  const Hash key = Sha256({public_key, sig, msg});
  if (TheCache().Contains(key)) return true;
  if (!Ed25519Verify(public_key, msg, sig)) return false;
  TheCache().Insert(key);
  return true;
}

SignatureCacheStats GetSignatureCacheStats() { return TheCache().Stats(); }

void ClearSignatureCache() { TheCache().Clear(); }

}  // namespace kt::core
