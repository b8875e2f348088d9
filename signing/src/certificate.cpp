// SPDX-License-Identifier: Apache-2.0
#include <signing/keys.hpp>

#include "ossl_handles.hpp"

#include <openssl/rand.h>

#include <array>
#include <cctype>
#include <ctime>

namespace patching::signing {

using detail::BignumPtr;
using detail::BioPtr;
using detail::EvpPkeyCtxPtr;
using detail::X509ExtensionPtr;
using detail::X509NamePtr;
using detail::X509Ptr;

namespace {


std::string name_to_string(const X509_NAME* name) {
    ERR_clear_error();
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
        detail::throw_openssl("cannot format certificate name");
    }
    return detail::bio_to_string(bio.get());
}

std::chrono::system_clock::time_point to_time_point(const ASN1_TIME* t) {
    std::tm tm{};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
        detail::throw_openssl("certificate has an invalid validity time");
    }
    return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

std::vector<Certificate> parse_pem_certificates(const std::string& pem,
                                                const std::filesystem::path& path) {
    ERR_clear_error();
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) {
        detail::throw_openssl("cannot read certificate file " + path.string());
    }
    std::vector<Certificate> certs;
    // Non-certificate PEM blocks (keys, CRLs) are skipped by the reader.
    while (X509* raw = PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr)) {
        certs.push_back(detail::wrap_certificate(X509Ptr(raw)));
    }
    unsigned long last = ERR_peek_last_error();
    if (ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE) {
        ERR_clear_error();  // the normal end of the file
    }
    if (ERR_peek_error() != 0) {
        detail::throw_openssl("cannot parse certificate file " + path.string() +
                              " (expected PEM X.509 certificates)");
    }
    if (certs.empty()) {
        throw Error("certificate file " + path.string() +
                    " contains no PEM certificate (\"-----BEGIN CERTIFICATE-----\")");
    }
    return certs;
}

void add_name_entry(X509_NAME* name, const char* field, const std::string& value) {
    if (value.empty()) {
        return;
    }
    if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) != 1) {
        detail::throw_openssl(std::string("invalid certificate name field ") + field + "=" + value);
    }
}

void add_extension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
    X509ExtensionPtr ext(X509V3_EXT_nconf_nid(nullptr, ctx, nid, value));
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
        detail::throw_openssl(std::string("cannot add certificate extension ") + OBJ_nid2sn(nid));
    }
}

void validate(const CertificateRequest& request) {
    if (request.common_name.empty()) {
        throw Error("a certificate needs a common name (CN)");
    }
    if (request.valid_days <= 0) {
        throw Error("certificate validity must be at least one day, not " +
                    std::to_string(request.valid_days));
    }
    if (!request.country.empty() &&
        (request.country.size() != 2 ||
         std::isalpha(static_cast<unsigned char>(request.country[0])) == 0 ||
         std::isalpha(static_cast<unsigned char>(request.country[1])) == 0)) {
        throw Error("certificate country must be a two-letter code such as CA, not \"" +
                    request.country + "\"");
    }
}

// REQUIRES: issuer_cert == nullptr (self-signed) or issuer_cert matches issuer_key.
Certificate build_certificate(const PrivateKey& subject_key, const CertificateRequest& request,
                              const PrivateKey& issuer_key, X509* issuer_cert) {
    validate(request);
    ERR_clear_error();
    X509Ptr cert(X509_new());
    if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
        detail::throw_openssl("cannot create certificate");
    }

    BignumPtr serial(BN_new());
    if (!serial || BN_rand(serial.get(), 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) {
        detail::throw_openssl("cannot generate certificate serial number");
    }
    if (BN_is_zero(serial.get()) != 0) {
        BN_one(serial.get());
    }
    if (BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
        detail::throw_openssl("cannot set certificate serial number");
    }

    X509NamePtr name(X509_NAME_new());
    if (!name) {
        detail::throw_openssl("cannot create certificate name");
    }
    add_name_entry(name.get(), "C", request.country);
    add_name_entry(name.get(), "O", request.organization);
    add_name_entry(name.get(), "CN", request.common_name);
    const X509_NAME* issuer_name =
        issuer_cert != nullptr ? X509_get_subject_name(issuer_cert) : name.get();
    if (X509_set_subject_name(cert.get(), name.get()) != 1 ||
        X509_set_issuer_name(cert.get(), issuer_name) != 1) {
        detail::throw_openssl("cannot set certificate names");
    }

    std::time_t start = std::chrono::system_clock::to_time_t(
        request.not_before.value_or(std::chrono::system_clock::now()));
    if (ASN1_TIME_set(X509_getm_notBefore(cert.get()), start) == nullptr ||
        ASN1_TIME_adj(X509_getm_notAfter(cert.get()), start, request.valid_days, 0) == nullptr) {
        detail::throw_openssl("cannot set certificate validity");
    }
    if (X509_set_pubkey(cert.get(), detail::pkey_of(subject_key)) != 1) {
        detail::throw_openssl("cannot set certificate public key");
    }

    // The subject key identifier must exist before the authority key identifier of a
    // self-signed certificate can refer to it.
    X509V3_CTX v3{};
    X509V3_set_ctx(&v3, issuer_cert != nullptr ? issuer_cert : cert.get(), cert.get(), nullptr,
                   nullptr, 0);
    add_extension(cert.get(), &v3, NID_basic_constraints,
                  request.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    add_extension(cert.get(), &v3, NID_key_usage,
                  request.is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
    add_extension(cert.get(), &v3, NID_subject_key_identifier, "hash");
    add_extension(cert.get(), &v3, NID_authority_key_identifier, "keyid:always");

    if (X509_sign(cert.get(), detail::pkey_of(issuer_key), detail::sha256_md()) <= 0) {
        detail::throw_openssl("cannot sign certificate for CN=" + request.common_name);
    }
    return detail::wrap_certificate(std::move(cert));
}

}  // namespace

Certificate Certificate::load_pem(const std::filesystem::path& path) {
    return load_pem_all(path).front();
}

std::vector<Certificate> Certificate::load_pem_all(const std::filesystem::path& path) {
    return parse_pem_certificates(detail::read_small_file(path, "certificate file"), path);
}

void Certificate::save_pem(const std::filesystem::path& path) const {
    ERR_clear_error();
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), detail::x509_of(*this)) != 1) {
        detail::throw_openssl("cannot encode certificate for " + path.string());
    }
    detail::write_file_atomic(path, detail::bio_to_string(bio.get()), 0644);
}

std::string Certificate::subject() const {
    return name_to_string(X509_get_subject_name(detail::x509_of(*this)));
}

std::string Certificate::issuer() const {
    return name_to_string(X509_get_issuer_name(detail::x509_of(*this)));
}

std::string Certificate::serial_hex() const {
    ERR_clear_error();
    BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(detail::x509_of(*this)), nullptr));
    if (!bn) {
        detail::throw_openssl("cannot read certificate serial number");
    }
    detail::OsslStringPtr hex(BN_bn2hex(bn.get()));
    if (!hex) {
        detail::throw_openssl("cannot format certificate serial number");
    }
    return hex.get();
}

std::chrono::system_clock::time_point Certificate::not_before() const {
    return to_time_point(X509_get0_notBefore(detail::x509_of(*this)));
}

std::chrono::system_clock::time_point Certificate::not_after() const {
    return to_time_point(X509_get0_notAfter(detail::x509_of(*this)));
}

std::string Certificate::fingerprint_sha256() const {
    ERR_clear_error();
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (X509_digest(detail::x509_of(*this), detail::sha256_md(), md.data(), &len) != 1) {
        detail::throw_openssl("cannot compute certificate fingerprint");
    }
    static constexpr char DIGITS[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
        if (i != 0) {
            out += ':';
        }
        out += DIGITS[md[i] >> 4];
        out += DIGITS[md[i] & 0x0f];
    }
    return out;
}

bool Certificate::is_ca() const {
    return (X509_get_extension_flags(detail::x509_of(*this)) & EXFLAG_CA) != 0;
}

bool Certificate::has_signing_usage() const {
    X509* cert = detail::x509_of(*this);
    if ((X509_get_extension_flags(cert) & EXFLAG_KUSAGE) == 0) {
        return true;
    }
    return (X509_get_key_usage(cert) & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) != 0;
}

bool Certificate::is_self_signed() const {
    // Not X509_check_issued(): it also demands keyCertSign, which a self-signed signer lacks.
    X509* cert = detail::x509_of(*this);
    ERR_clear_error();
    bool self = X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)) == 0 &&
                X509_verify(cert, X509_get0_pubkey(cert)) == 1;
    ERR_clear_error();
    return self;
}

bool Certificate::matches(const PrivateKey& key) const {
    EVP_PKEY* pub = X509_get0_pubkey(detail::x509_of(*this));
    ERR_clear_error();
    bool same = pub != nullptr && EVP_PKEY_eq(pub, detail::pkey_of(key)) == 1;
    ERR_clear_error();
    return same;
}

std::optional<SignatureScheme> Certificate::verify_sha256(const Sha256Digest& digest,
                                                          const Signature& signature) const {
    EVP_PKEY* pub = X509_get0_pubkey(detail::x509_of(*this));
    if (pub == nullptr || EVP_PKEY_is_a(pub, "RSA") != 1 || signature.empty()) {
        ERR_clear_error();
        return std::nullopt;
    }
    auto verifies = [&](int padding) {
        ERR_clear_error();
        EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pub, nullptr));
        bool ready = ctx && EVP_PKEY_verify_init(ctx.get()) == 1 &&
                     EVP_PKEY_CTX_set_rsa_padding(ctx.get(), padding) == 1 &&
                     EVP_PKEY_CTX_set_signature_md(ctx.get(), detail::sha256_md()) == 1;
        if (ready && padding == RSA_PKCS1_PSS_PADDING) {
            ready = EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), detail::sha256_md()) == 1 &&
                    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), detail::PSS_SALT_LEN) == 1;
        }
        if (!ready) {
            detail::throw_openssl("cannot set up signature verification with certificate " +
                                  subject());
        }
        // 0 is a bad signature; <0 is what a malformed one (e.g. wrong length) gives, which is
        // just as much a bad signature and no reason to throw.
        int rc = EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), digest.data(),
                                 digest.size());
        ERR_clear_error();
        return rc == 1;
    };
    if (verifies(RSA_PKCS1_PSS_PADDING)) {
        return SignatureScheme::PSS;
    }
    if (verifies(RSA_PKCS1_PADDING)) {
        return SignatureScheme::PKCS1_V15;
    }
    return std::nullopt;
}

Certificate make_self_signed_certificate(const PrivateKey& key, const CertificateRequest& request) {
    return build_certificate(key, request, key, nullptr);
}

Certificate make_issued_certificate(const PrivateKey& subject_key,
                                    const CertificateRequest& request,
                                    const PrivateKey& issuer_key,
                                    const Certificate& issuer_cert) {
    if (!issuer_cert.is_ca()) {
        throw Error("issuer certificate " + issuer_cert.subject() +
                    " is not a CA certificate (basicConstraints CA:TRUE); create one with "
                    "`patch-keys gencert --ca`");
    }
    if (!issuer_cert.matches(issuer_key)) {
        throw Error("issuer key does not match issuer certificate " + issuer_cert.subject());
    }
    return build_certificate(subject_key, request, issuer_key, detail::x509_of(issuer_cert));
}

}  // namespace patching::signing
