// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <signing/keys.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace patching::signing {

/// The reference's split between release ("formal") and development certificates.
enum class CertClass { FORMAL, DEV };
const char* to_string(CertClass c);  ///< "formal" or "dev", as the reference's query_patch prints.

/// Verdict of a signature check. A bad signature is a normal outcome, not an exception.
enum class VerifyStatus {
    OK,
    BAD_SIGNATURE,      ///< No trusted, currently valid certificate verifies the signature.
    NO_TRUSTED_CERTS,   ///< The trust store holds no usable signer certificate.
    CERT_EXPIRED,       ///< Only an expired certificate verifies it (detail says which and when).
    CERT_NOT_YET_VALID, ///< Only a not-yet-valid certificate verifies it.
    DEV_NOT_ENABLED,    ///< Only a dev certificate verifies it and no valid enable marker exists.
};

struct VerifyResult {
    VerifyStatus status = VerifyStatus::BAD_SIGNATURE;
    /// Human-readable explanation, e.g. "certificate CN=x (SHA-256 AB:..) expired on 2027-08-16
    /// 14:35:12 UTC". Empty when OK.
    std::string detail;
    std::optional<Certificate> signer;  ///< Set when OK (and for the CERT_* / DEV_* verdicts).
    CertClass cert_class = CertClass::FORMAL;
    SignatureScheme scheme = SignatureScheme::PSS;
    bool ok() const { return status == VerifyStatus::OK; }
};

struct TrustOptions {
    /// Accept certificates outside their validity period (the reference never checks dates).
    bool allow_expired = false;
    /// Clock used for validity checks; defaults to now. Tests inject a fixed time.
    std::optional<std::chrono::system_clock::time_point> now;
    /// Dev-enable marker file. Default: `<trust dir>/dev_certificate_enable.bin`.
    std::optional<std::filesystem::path> dev_marker;
    /// Restrict to one class (query_patch asks "dev" then "formal"); nullopt = both.
    std::optional<CertClass> only_class;
};

/// A certificate of the store that is not a candidate signer, and why.
struct IgnoredCertificate {
    Certificate certificate;
    CertClass cert_class = CertClass::FORMAL;
    /// E.g. "/etc/pki/x/a.pem: certificate CN=a does not chain to a CA certificate of the trust
    /// store (unable to get local issuer certificate)".
    std::string reason;
};

/// A directory of trusted PEM certificates.
///
/// Layout:  `<dir>/*.pem`       formal (release) certificates and CA certificates
///          `<dir>/dev/*.pem`   development certificates
///          `<dir>/dev_certificate_enable.bin` optional marker enabling dev certificates
///
/// Every CA certificate (basicConstraints CA:TRUE) of the store is a chain anchor: formal signers
/// may chain to formal CA certificates, dev signers to formal or dev ones. A certificate whose key
/// usage allows signing (see Certificate::has_signing_usage) is a candidate signer if it is
/// self-signed, or if it chains to such an anchor (X509 chain verification, purpose-independent,
/// partial chains allowed, dates ignored; dates are checked per signature in verify()). So a CA
/// certificate restricted to keyCertSign/cRLSign is never a candidate signer, while a self-signed
/// `openssl req -x509` certificate (CA:TRUE, no keyUsage) is both. Certificates that are neither
/// are kept in ignored_certificates() with the reason, for messages.
/// Dev certificates are trusted only when the marker is present and is a valid signature (PSS or
/// PKCS#1 v1.5, as the reference) by a formal signer over SHA-256 of the ASCII string
/// "Titanium patching". Marker and chain checks ignore validity dates, as the reference does.
///
/// Immutable after load; safe to share between threads.
class TrustStore {
public:
    /// @throws Error naming the directory if it does not exist or a PEM file in it is unreadable.
    static TrustStore load(const std::filesystem::path& dir, TrustOptions options = {});
    /// A store made of explicit certificates (tests, `--cert` on the command line). They are
    /// classified as load() does; without options.dev_marker, dev certificates stay disabled.
    /// @throws Error only for internal OpenSSL failures.
    static TrustStore from_certificates(
        std::vector<Certificate> formal,
        std::vector<Certificate> dev = {},
        TrustOptions options = {});

    /// Verifies a SHA-256 digest signature against the candidate signers: formal first, then dev
    /// (restricted by TrustOptions::only_class). The first candidate that verifies and is usable
    /// (within its validity period unless allow_expired; dev only when enabled) gives OK. Otherwise
    /// the first specific verdict (CERT_EXPIRED, CERT_NOT_YET_VALID, DEV_NOT_ENABLED) is returned,
    /// then BAD_SIGNATURE (whose detail names an untrusted store certificate that would have
    /// verified, if any), or NO_TRUSTED_CERTS when there is no candidate at all.
    /// @throws Error only for internal OpenSSL failures.
    VerifyResult verify(const Sha256Digest& digest, const Signature& signature) const;

    bool dev_enabled() const { return dev_enabled_; }
    const std::vector<Certificate>& formal_signers() const { return formal_; }
    const std::vector<Certificate>& dev_signers() const { return dev_; }
    /// CA certificates (formal and dev) used as chain anchors.
    const std::vector<Certificate>& ca_certificates() const { return ca_; }
    /// Certificates that are neither signers nor CA certificates, with the reason.
    const std::vector<IgnoredCertificate>& ignored_certificates() const { return ignored_; }
    /// Why dev certificates are disabled (marker missing / invalid), for messages.
    const std::string& dev_status() const { return dev_status_; }

private:
    std::vector<Certificate> formal_;
    std::vector<Certificate> dev_;
    std::vector<Certificate> ca_;
    std::vector<IgnoredCertificate> ignored_;
    bool dev_enabled_ = false;
    std::string dev_status_;
    TrustOptions options_;
};

/// The fixed message the dev-enable marker signs (reference compatibility).
inline constexpr const char* DEV_MARKER_MESSAGE = "Titanium patching";

/// Creates the dev-enable marker: a PSS signature by `formal_key` over SHA-256(DEV_MARKER_MESSAGE).
Signature make_dev_marker(const PrivateKey& formal_key);

}  // namespace patching::signing
