// SPDX-License-Identifier: Apache-2.0
// Internal to core/crypto*.cc (the only files that include OpenSSL): owning
// pointers over OpenSSL objects through one deleter template (BoringSSL's
// bssl::UniquePtr pattern). Never include this from a public header.
#ifndef KT_CORE_OPENSSL_PTR_H_
#define KT_CORE_OPENSSL_PTR_H_

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <memory>

namespace kt::core::internal {

template <typename T>
struct Deleter;
template <>
struct Deleter<EVP_PKEY> {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
template <>
struct Deleter<EVP_PKEY_CTX> {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
template <>
struct Deleter<EVP_MD_CTX> {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
template <>
struct Deleter<EVP_MD> {
  void operator()(EVP_MD* p) const { EVP_MD_free(p); }
};
template <>
struct Deleter<EVP_KDF_CTX> {
  void operator()(EVP_KDF_CTX* p) const { EVP_KDF_CTX_free(p); }
};
template <>
struct Deleter<EVP_CIPHER_CTX> {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};

// UniquePtr owns an OpenSSL object and frees it with its *_free function.
template <typename T>
using UniquePtr = std::unique_ptr<T, Deleter<T>>;

}  // namespace kt::core::internal

#endif  // KT_CORE_OPENSSL_PTR_H_
