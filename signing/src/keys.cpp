// SPDX-License-Identifier: Apache-2.0
#include <signing/keys.hpp>

#include "ossl_handles.hpp"

namespace patching::signing {

using detail::BioPtr;
using detail::EvpPkeyCtxPtr;
using detail::EvpPkeyPtr;

namespace {

constexpr int MIN_RSA_BITS = 2048;
constexpr int MAX_RSA_BITS = 4096;

// The default PEM callback would prompt on the terminal for an encrypted key; refuse instead.
int no_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

}  // namespace

PrivateKey PrivateKey::generate_rsa(int bits) {
    if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
        throw Error("RSA key size " + std::to_string(bits) + " is out of range; use " +
                    std::to_string(MIN_RSA_BITS) + " to " + std::to_string(MAX_RSA_BITS) + " bits");
    }
    ERR_clear_error();
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits) != 1) {
        detail::throw_openssl("cannot set up RSA key generation");
    }
    EVP_PKEY* raw = nullptr;
    if (EVP_PKEY_generate(ctx.get(), &raw) != 1) {
        detail::throw_openssl("RSA key generation failed");
    }
    return detail::wrap_key(EvpPkeyPtr(raw));
}

PrivateKey PrivateKey::load_pem(const std::filesystem::path& path) {
    std::string pem = detail::read_small_file(path, "private key");
    ERR_clear_error();
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) {
        detail::throw_openssl("cannot read private key " + path.string());
    }
    EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    if (!key) {
        detail::throw_openssl("cannot load private key " + path.string() +
                              " (expected an unencrypted PEM RSA key)");
    }
    if (EVP_PKEY_is_a(key.get(), "RSA") != 1) {
        throw Error("private key " + path.string() + " is a " + EVP_PKEY_get0_type_name(key.get()) +
                    " key; an RSA key is required (make one with `patch-keys genkey`)");
    }
    return detail::wrap_key(std::move(key));
}

void PrivateKey::save_pem(const std::filesystem::path& path) const {
    ERR_clear_error();
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), detail::pkey_of(*this), nullptr, nullptr, 0,
                                         nullptr, nullptr) != 1) {
        detail::throw_openssl("cannot encode private key for " + path.string());
    }
    detail::write_file_atomic(path, detail::bio_to_string(bio.get()), 0600);
}

int PrivateKey::bits() const { return EVP_PKEY_get_bits(detail::pkey_of(*this)); }

Signature PrivateKey::sign_pss_sha256(const Sha256Digest& digest) const {
    ERR_clear_error();
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, detail::pkey_of(*this), nullptr));
    if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx.get(), detail::sha256_md()) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), detail::sha256_md()) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), detail::PSS_SALT_LEN) != 1) {
        detail::throw_openssl("cannot set up RSA-PSS signing");
    }
    std::size_t len = 0;
    if (EVP_PKEY_sign(ctx.get(), nullptr, &len, digest.data(), digest.size()) != 1) {
        detail::throw_openssl("RSA-PSS signing failed");
    }
    Signature sig(len);
    if (EVP_PKEY_sign(ctx.get(), sig.data(), &len, digest.data(), digest.size()) != 1) {
        detail::throw_openssl("RSA-PSS signing failed");
    }
    sig.resize(len);
    return sig;
}

}  // namespace patching::signing
