// SPDX-License-Identifier: Apache-2.0
// OpenSSL RAII handles and error helpers. Apart from this folder's .cpp files, nothing includes
// <openssl/*.h>; the public headers expose only opaque pointers.
#pragma once

#include <signing/errors.hpp>
#include <signing/keys.hpp>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <filesystem>
#include <common/c_handles.hpp>

#include <memory>
#include <string>
#include <type_traits>

namespace patching::signing::detail {

/// RSA-PSS salt length of signature.v2: exactly 32 bytes, as the reference signs and verifies.
inline constexpr int PSS_SALT_LEN = 32;

template <class T, auto FreeFn>
using OsslPtr = common::CHandle<T, FreeFn>;  // STYLE.md §8

// OPENSSL_free is a macro, so it needs a real function to be used as a template argument.
inline void openssl_free_chars(char* p) noexcept { OPENSSL_free(p); }

using EvpPkeyPtr = OsslPtr<EVP_PKEY, EVP_PKEY_free>;
using EvpPkeyCtxPtr = OsslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using EvpMdCtxPtr = OsslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using BioPtr = OsslPtr<BIO, BIO_free_all>;
using X509Ptr = OsslPtr<X509, X509_free>;
using X509NamePtr = OsslPtr<X509_NAME, X509_NAME_free>;
using X509ExtensionPtr = OsslPtr<X509_EXTENSION, X509_EXTENSION_free>;
using X509StorePtr = OsslPtr<X509_STORE, X509_STORE_free>;
using X509StoreCtxPtr = OsslPtr<X509_STORE_CTX, X509_STORE_CTX_free>;
using BignumPtr = OsslPtr<BIGNUM, BN_free>;
using OsslStringPtr = OsslPtr<char, openssl_free_chars>;

/// Empties the thread's OpenSSL error queue into "reason; reason; ..." (empty if none).
std::string drain_openssl_errors();

/// Throws Error("<what>: <drained OpenSSL errors>").
[[noreturn]] void throw_openssl(const std::string& what);

/// Process-lifetime SHA-256 / MD5 implementations (fetched once; never freed on purpose).
/// @throws Error if the default provider does not offer the algorithm.
const EVP_MD* sha256_md();
const EVP_MD* md5_md();

/// Native handles of the public wrappers; throw Error if the wrapper is empty.
EVP_PKEY* pkey_of(const PrivateKey& key);
X509* x509_of(const Certificate& cert);

/// Wraps owned OpenSSL objects into the public, shared, type-erased wrappers.
PrivateKey wrap_key(EvpPkeyPtr key);
Certificate wrap_certificate(X509Ptr cert);

/// Contents of a memory BIO as a string.
std::string bio_to_string(BIO* bio);

/// Reads a small file completely. @throws Error "cannot read <what> <path>: <strerror>".
std::string read_small_file(const std::filesystem::path& path, const std::string& what);

/// Replaces `path` atomically (temp file in the same directory, fsync, rename) with mode `mode`.
/// @throws Error naming the path.
void write_file_atomic(const std::filesystem::path& path, const std::string& data, unsigned mode);

/// "YYYY-MM-DD HH:MM:SS UTC".
std::string format_utc(std::chrono::system_clock::time_point tp);

}  // namespace patching::signing::detail
