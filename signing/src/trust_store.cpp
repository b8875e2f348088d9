// SPDX-License-Identifier: Apache-2.0
#include <signing/trust_store.hpp>

#include "ossl_handles.hpp"

#include <algorithm>
#include <system_error>

namespace patching::signing {

using detail::X509StoreCtxPtr;
using detail::X509StorePtr;

namespace {

namespace fs = std::filesystem;

using TimePoint = std::chrono::system_clock::time_point;

struct SourcedCertificate {
    Certificate certificate;
    fs::path origin;  // empty for from_certificates()
};

std::vector<fs::path> pem_files(const fs::path& dir) {
    std::vector<fs::path> files;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const fs::path& p = it->path();
        if (p.extension() == ".pem" && it->is_regular_file(ec)) {
            files.push_back(p);
        }
    }
    if (ec) {
        throw Error("cannot list trust directory " + dir.string() + ": " + ec.message());
    }
    std::sort(files.begin(), files.end(),
              [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
    return files;
}

void load_dir(const fs::path& dir, std::vector<SourcedCertificate>& out) {
    for (const fs::path& file : pem_files(dir)) {
        for (Certificate& cert : Certificate::load_pem_all(file)) {
            out.push_back({std::move(cert), file});
        }
    }
}

X509StorePtr new_anchor_store() {
    ERR_clear_error();
    X509StorePtr store(X509_STORE_new());
    // Dates are checked per signature by verify(), which can then say "expired" instead of
    // "untrusted"; any CA certificate of the store is an anchor, even an intermediate one.
    if (!store ||
        X509_STORE_set_flags(store.get(), X509_V_FLAG_NO_CHECK_TIME | X509_V_FLAG_PARTIAL_CHAIN) !=
            1) {
        detail::throw_openssl("cannot create certificate store");
    }
    return store;
}

void add_anchor(X509_STORE* store, const Certificate& cert) {
    ERR_clear_error();
    if (X509_STORE_add_cert(store, detail::x509_of(cert)) != 1) {
        unsigned long err = ERR_peek_last_error();
        if (ERR_GET_REASON(err) != X509_R_CERT_ALREADY_IN_HASH_TABLE) {
            detail::throw_openssl("cannot add CA certificate " + cert.subject() + " to the store");
        }
        ERR_clear_error();
    }
}

// Returns the reason the certificate does not chain to `anchors`, or nullopt if it does.
std::optional<std::string> chain_error(X509_STORE* anchors, const Certificate& cert) {
    ERR_clear_error();
    X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (!ctx || X509_STORE_CTX_init(ctx.get(), anchors, detail::x509_of(cert), nullptr) != 1) {
        detail::throw_openssl("cannot set up certificate chain verification");
    }
    int rc = X509_verify_cert(ctx.get());
    ERR_clear_error();
    if (rc == 1) {
        return std::nullopt;
    }
    return std::string(X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
}

std::string describe(const Certificate& cert) {
    return "certificate " + cert.subject() + " (SHA-256 " + cert.fingerprint_sha256() + ")";
}

std::string where(const SourcedCertificate& sc) {
    return sc.origin.empty() ? std::string() : sc.origin.string() + ": ";
}

Sha256Digest marker_digest() {
    Sha256 sha;
    std::string_view msg(DEV_MARKER_MESSAGE);
    sha.update(std::as_bytes(std::span(msg.data(), msg.size())));
    return sha.finish();
}

struct StoreContents {
    std::vector<Certificate> formal;
    std::vector<Certificate> dev;
    std::vector<Certificate> ca;
    std::vector<IgnoredCertificate> ignored;
    bool dev_enabled = false;
    std::string dev_status;
};

void classify(const std::vector<SourcedCertificate>& certs, CertClass cls, X509_STORE* anchors,
              std::vector<Certificate>& signers, std::vector<IgnoredCertificate>& ignored) {
    for (const SourcedCertificate& sc : certs) {
        const Certificate& cert = sc.certificate;
        if (!cert.has_signing_usage()) {
            if (!cert.is_ca()) {
                ignored.push_back({cert, cls,
                                   where(sc) + "certificate " + cert.subject() +
                                       " has a keyUsage that does not allow digital signatures"});
            }
            continue;  // a CA certificate proper: an anchor only
        }
        if (cert.is_self_signed()) {
            signers.push_back(cert);
            continue;
        }
        if (auto why = chain_error(anchors, cert)) {
            ignored.push_back({cert, cls,
                               where(sc) + "certificate " + cert.subject() +
                                   " does not chain to a " +
                                   (cls == CertClass::FORMAL ? "formal " : "") +
                                   "CA certificate of the trust store (" + *why +
                                   "); add its issuer's certificate to the trust directory"});
            continue;
        }
        signers.push_back(cert);
    }
}

void check_marker(StoreContents& contents, const std::optional<fs::path>& marker) {
    if (!marker) {
        contents.dev_status = "dev certificates disabled: no enable marker configured";
        return;
    }
    std::error_code ec;
    if (!fs::exists(*marker, ec)) {
        contents.dev_status = "dev certificates disabled: no enable marker at " + marker->string();
        return;
    }
    Signature bytes;
    try {
        std::string data = detail::read_small_file(*marker, "dev enable marker");
        bytes.assign(data.begin(), data.end());
    } catch (const Error& e) {
        contents.dev_status = std::string("dev certificates disabled: ") + e.what();
        return;
    }
    Sha256Digest digest = marker_digest();
    for (const Certificate& formal : contents.formal) {
        if (formal.verify_sha256(digest, bytes)) {
            contents.dev_enabled = true;
            contents.dev_status = "dev certificates enabled by " + marker->string();
            return;
        }
    }
    contents.dev_status =
        "enable marker " + marker->string() + " is not signed by a formal certificate";
    if (contents.formal.empty()) {
        contents.dev_status += " (the trust store has no formal signer)";
    }
}

StoreContents build_contents(const std::vector<SourcedCertificate>& formal,
                             const std::vector<SourcedCertificate>& dev,
                             const TrustOptions& options) {
    StoreContents contents;
    X509StorePtr formal_anchors = new_anchor_store();
    X509StorePtr all_anchors = new_anchor_store();
    for (const auto* list : {&formal, &dev}) {
        for (const SourcedCertificate& sc : *list) {
            if (sc.certificate.is_ca()) {
                contents.ca.push_back(sc.certificate);
                add_anchor(all_anchors.get(), sc.certificate);
                if (list == &formal) {
                    add_anchor(formal_anchors.get(), sc.certificate);
                }
            }
        }
    }
    classify(formal, CertClass::FORMAL, formal_anchors.get(), contents.formal, contents.ignored);
    classify(dev, CertClass::DEV, all_anchors.get(), contents.dev, contents.ignored);
    check_marker(contents, options.dev_marker);
    return contents;
}

}  // namespace

const char* to_string(CertClass c) {
    switch (c) {
    case CertClass::FORMAL:
        return "formal";
    case CertClass::DEV:
        return "dev";
    }
    return "unknown";
}

TrustStore TrustStore::load(const std::filesystem::path& dir, TrustOptions options) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        if (fs::exists(dir, ec)) {
            throw Error("trust directory " + dir.string() + " is not a directory");
        }
        throw Error("trust directory " + dir.string() +
                    " does not exist; create it and put the release certificates (*.pem) in it");
    }
    std::vector<SourcedCertificate> formal;
    std::vector<SourcedCertificate> dev;
    load_dir(dir, formal);
    fs::path dev_dir = dir / "dev";
    if (fs::is_directory(dev_dir, ec)) {
        load_dir(dev_dir, dev);
    }
    if (!options.dev_marker) {
        options.dev_marker = dir / "dev_certificate_enable.bin";
    }

    StoreContents contents = build_contents(formal, dev, options);
    TrustStore store;
    store.formal_ = std::move(contents.formal);
    store.dev_ = std::move(contents.dev);
    store.ca_ = std::move(contents.ca);
    store.ignored_ = std::move(contents.ignored);
    store.dev_enabled_ = contents.dev_enabled;
    store.dev_status_ = std::move(contents.dev_status);
    store.options_ = std::move(options);
    return store;
}

TrustStore TrustStore::from_certificates(std::vector<Certificate> formal,
                                         std::vector<Certificate> dev,
                                         TrustOptions options) {
    auto sourced = [](std::vector<Certificate>& certs) {
        std::vector<SourcedCertificate> out;
        for (Certificate& c : certs) {
            out.push_back({std::move(c), {}});
        }
        return out;
    };
    StoreContents contents = build_contents(sourced(formal), sourced(dev), options);
    TrustStore store;
    store.formal_ = std::move(contents.formal);
    store.dev_ = std::move(contents.dev);
    store.ca_ = std::move(contents.ca);
    store.ignored_ = std::move(contents.ignored);
    store.dev_enabled_ = contents.dev_enabled;
    store.dev_status_ = std::move(contents.dev_status);
    store.options_ = std::move(options);
    return store;
}

namespace {

// The verdict for a candidate whose key verified the signature.
VerifyResult judge_candidate(
    const Certificate& cert,
    CertClass cls,
    SignatureScheme scheme,
    TimePoint now,
    const TrustOptions& options,
    bool dev_enabled,
    const std::string& dev_status) {
    VerifyResult result;
    result.signer = cert;
    result.cert_class = cls;
    result.scheme = scheme;
    result.status = VerifyStatus::OK;
    if (!options.allow_expired && now < cert.not_before()) {
        result.status = VerifyStatus::CERT_NOT_YET_VALID;
        result.detail =
            describe(cert) + " is not valid until " + detail::format_utc(cert.not_before());
    } else if (!options.allow_expired && now > cert.not_after()) {
        result.status = VerifyStatus::CERT_EXPIRED;
        result.detail = describe(cert) + " expired on " + detail::format_utc(cert.not_after());
    } else if (cls == CertClass::DEV && !dev_enabled) {
        result.status = VerifyStatus::DEV_NOT_ENABLED;
        result.detail =
            "signed by development certificate " + cert.subject() + ", but " + dev_status;
    }
    return result;
}

}  // namespace

VerifyResult TrustStore::verify(const Sha256Digest& digest, const Signature& signature) const {
    const auto now = options_.now.value_or(std::chrono::system_clock::now());
    std::optional<VerifyResult> specific;
    std::size_t tried_formal = 0;
    std::size_t tried_dev = 0;

    for (CertClass cls : {CertClass::FORMAL, CertClass::DEV}) {
        if (options_.only_class && *options_.only_class != cls) {
            continue;
        }
        const std::vector<Certificate>& signers = cls == CertClass::FORMAL ? formal_ : dev_;
        (cls == CertClass::FORMAL ? tried_formal : tried_dev) = signers.size();
        for (const Certificate& cert : signers) {
            std::optional<SignatureScheme> scheme = cert.verify_sha256(digest, signature);
            if (!scheme) {
                continue;
            }
            VerifyResult result =
                judge_candidate(cert, cls, *scheme, now, options_, dev_enabled_, dev_status_);
            if (result.ok()) {
                return result;
            }
            if (!specific) {
                specific = std::move(result);
            }
        }
    }
    if (specific) {
        return *specific;
    }

    VerifyResult result;
    if (tried_formal + tried_dev == 0) {
        result.status = VerifyStatus::NO_TRUSTED_CERTS;
        result.detail = "the trust store has no ";
        if (options_.only_class) {
            result.detail += std::string(to_string(*options_.only_class)) + " ";
        }
        result.detail += "signer certificate";
    } else {
        result.status = VerifyStatus::BAD_SIGNATURE;
        result.detail = "no trusted certificate (" + std::to_string(tried_formal) + " formal, " +
                        std::to_string(tried_dev) + " dev) verifies the signature";
    }
    // Say so if a certificate of the store that is not trusted as a signer would have verified
    // it: that is a configuration problem rather than a forged signature.
    for (const IgnoredCertificate& ignored : ignored_) {
        if (ignored.certificate.verify_sha256(digest, signature)) {
            result.detail += "; it was made by an untrusted certificate: " + ignored.reason;
            return result;
        }
    }
    for (const Certificate& ca : ca_) {
        if (!ca.has_signing_usage() && ca.verify_sha256(digest, signature)) {
            result.detail += "; it was made by CA certificate " + ca.subject() +
                             ", whose keyUsage does not allow signing data";
            return result;
        }
    }
    return result;
}

Signature make_dev_marker(const PrivateKey& formal_key) {
    return formal_key.sign_pss_sha256(marker_digest());
}

}  // namespace patching::signing
