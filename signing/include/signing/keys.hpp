// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <signing/digest.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace patching::signing {

using Signature = std::vector<std::uint8_t>;

/// An RSA private key. Copyable (shares the underlying OpenSSL key, which is immutable).
class PrivateKey {
public:
    /// Generates a fresh RSA key with public exponent 65537.
    /// @throws Error if bits is outside 2048..4096 or OpenSSL fails.
    static PrivateKey generate_rsa(int bits);
    /// Loads an unencrypted PEM private key (PKCS#1 "RSA PRIVATE KEY" or PKCS#8).
    /// @throws Error naming the file if it is missing, unreadable or not an RSA key.
    static PrivateKey load_pem(const std::filesystem::path& path);
    /// Writes the key as PKCS#8 PEM, mode 0600, atomically (temp file + rename).
    void save_pem(const std::filesystem::path& path) const;
    int bits() const;

    /// Signs a SHA-256 digest with RSASSA-PSS (SHA-256, MGF1-SHA-256, salt 32 bytes), the
    /// reference's `signature.v2` scheme. Output length equals the modulus size.
    Signature sign_pss_sha256(const Sha256Digest& digest) const;

    /// Opaque OpenSSL handle (EVP_PKEY*) for use inside the signing library only.
    void* native() const { return key_.get(); }
    explicit PrivateKey(std::shared_ptr<void> key) : key_(std::move(key)) {}

private:
    std::shared_ptr<void> key_;
};

/// Which signature encoding verified.
enum class SignatureScheme { PSS, PKCS1_V15 };

/// An X.509 certificate. Copyable.
class Certificate {
public:
    /// Loads the first certificate of a PEM file. @throws Error naming the file.
    static Certificate load_pem(const std::filesystem::path& path);
    /// Loads every certificate of a PEM file (at least one). @throws Error naming the file.
    static std::vector<Certificate> load_pem_all(const std::filesystem::path& path);
    /// Writes the certificate as PEM atomically, mode 0644.
    void save_pem(const std::filesystem::path& path) const;

    std::string subject() const;  ///< One-line RFC 2253 form, e.g. "CN=x,O=y,C=CA".
    std::string issuer() const;
    std::string serial_hex() const;
    std::chrono::system_clock::time_point not_before() const;
    std::chrono::system_clock::time_point not_after() const;
    std::string fingerprint_sha256() const;  ///< "AB:CD:..." upper-case hex, as openssl prints it.
    bool is_ca() const;                       ///< basicConstraints CA:TRUE.
    /// True if the certificate may sign data: it has no keyUsage extension, or its keyUsage
    /// includes digitalSignature or nonRepudiation. (`openssl req -x509` certificates have no
    /// keyUsage and are CA:TRUE, yet are meant as signers.)
    bool has_signing_usage() const;
    bool is_self_signed() const;              ///< Issuer equals subject and the signature checks.
    /// True if this certificate's public key matches the private key.
    bool matches(const PrivateKey& key) const;

    /// Verifies `signature` over `digest` with this certificate's RSA public key: PSS
    /// (SHA-256, MGF1-SHA-256, salt 32) first, then PKCS#1 v1.5 with a SHA-256 DigestInfo, as the
    /// reference accepts both. Returns the scheme that verified, or nullopt for a bad signature.
    /// @throws Error only for internal OpenSSL failures, never for a bad signature.
    std::optional<SignatureScheme> verify_sha256(
        const Sha256Digest& digest, const Signature& signature) const;

    void* native() const { return cert_.get(); }  ///< X509*, for the signing library only.
    explicit Certificate(std::shared_ptr<void> cert) : cert_(std::move(cert)) {}

private:
    std::shared_ptr<void> cert_;
};

/// Options for creating a certificate.
struct CertificateRequest {
    std::string common_name;             ///< CN, required.
    std::string organization;            ///< O, optional.
    std::string country;                 ///< C, optional, two letters.
    int valid_days = 3650;
    bool is_ca = false;  ///< Issue a CA certificate (keyCertSign) instead of a signer.
    std::optional<std::chrono::system_clock::time_point> not_before;  ///< Default: now.
};

/// Creates a self-signed certificate for `key`.
Certificate make_self_signed_certificate(const PrivateKey& key, const CertificateRequest& request);

/// Creates a certificate for `subject_key`, issued (signed) by `issuer_key` / `issuer_cert`.
/// @throws Error if issuer_cert is not a CA or does not match issuer_key.
Certificate make_issued_certificate(
    const PrivateKey& subject_key,
    const CertificateRequest& request,
    const PrivateKey& issuer_key,
    const Certificate& issuer_cert);

}  // namespace patching::signing
