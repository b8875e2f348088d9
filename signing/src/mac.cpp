// SPDX-License-Identifier: Apache-2.0
#include <signing/mac.hpp>

#include "ossl_handles.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace patching::signing {

Sha256Digest hmac_sha256(std::span<const std::byte> key, std::string_view data) {
    Sha256Digest out{};
    unsigned int length = 0;
    ERR_clear_error();
    // One-shot HMAC(): no context to manage, and the inputs are small (one message).
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &length) == nullptr ||
        length != out.size()) {
        detail::throw_openssl("HMAC-SHA256 failed");
    }
    return out;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_bytes(std::size_t count) {
    std::string out(count, '\0');
    ERR_clear_error();
    if (count > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(count)) != 1) {
        detail::throw_openssl("the random number generator failed");
    }
    return out;
}

}  // namespace patching::signing
