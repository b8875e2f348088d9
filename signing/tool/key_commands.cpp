// SPDX-License-Identifier: Apache-2.0
#include "key_commands.hpp"

#include <signing/errors.hpp>
#include <signing/keys.hpp>
#include <signing/trust_store.hpp>

#include <CLI/CLI.hpp>

#include <array>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

namespace patching::signing::tool {

namespace {

std::string utc(std::chrono::system_clock::time_point tp) {
    std::time_t t = std::chrono::system_clock::to_time_t(tp);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    std::array<char, 64> buf{};
    std::size_t n = std::strftime(buf.data(), buf.size(), "%Y-%m-%d %H:%M:%S UTC", &tm);
    return std::string(buf.data(), n);
}

std::string kind(const Certificate& cert) {
    if (cert.is_ca()) {
        return cert.has_signing_usage() ? "CA and signer (no keyUsage restriction)" : "CA";
    }
    return cert.has_signing_usage() ? "signer" : "neither CA nor signer (keyUsage)";
}

void print_brief(const Certificate& cert) {
    std::cout << "  " << cert.subject() << "\n"
              << "    SHA-256 " << cert.fingerprint_sha256() << "\n"
              << "    valid " << utc(cert.not_before()) << " to " << utc(cert.not_after());
    auto now = std::chrono::system_clock::now();
    if (now > cert.not_after()) {
        std::cout << " (EXPIRED)";
    } else if (now < cert.not_before()) {
        std::cout << " (NOT YET VALID)";
    }
    std::cout << "\n";
}

}  // namespace

void setup_genkey(CLI::App& app) {
    auto opt = std::make_shared<GenkeyOptions>();
    CLI::App* sub =
        app.add_subcommand("genkey", "Generate an RSA private key (PKCS#8 PEM, mode 0600)");
    sub->add_option("--bits", opt->bits, "Key size in bits")
        ->check(CLI::Range(2048, 4096))
        ->capture_default_str();
    sub->add_option("-o,--output", opt->output, "Key file to write")->required();
    sub->add_flag("--force", opt->force, "Replace an existing key file");
    sub->callback([opt] { run_genkey(*opt); });
}

void run_genkey(const GenkeyOptions& opt) {
    if (!opt.force && std::filesystem::exists(opt.output)) {
        throw Error("refusing to overwrite existing key file " + opt.output +
                    "; use --force to replace it");
    }
    PrivateKey key = PrivateKey::generate_rsa(opt.bits);
    key.save_pem(opt.output);
    std::cout << "wrote " << key.bits() << "-bit RSA key to " << opt.output << "\n";
}

void setup_gencert(CLI::App& app) {
    auto opt = std::make_shared<GencertOptions>();
    CLI::App* sub = app.add_subcommand(
        "gencert", "Create a certificate for a key (self-signed unless an issuer is given)");
    sub->add_option("--key", opt->key, "Private key the certificate is for")
        ->required()
        ->check(CLI::ExistingFile);
    sub->add_option("--cn", opt->common_name, "Subject common name")->required();
    sub->add_option("--org", opt->organization, "Subject organization");
    sub->add_option("--country", opt->country, "Subject country (two letters)");
    sub->add_option("--days", opt->days, "Validity in days")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    sub->add_flag("--ca", opt->ca, "Make a CA certificate (keyCertSign) instead of a signer");
    CLI::Option* ikey =
        sub->add_option("--issuer-key", opt->issuer_key, "Private key of the issuing CA")
            ->check(CLI::ExistingFile);
    CLI::Option* icert =
        sub->add_option("--issuer-cert", opt->issuer_cert, "Certificate of the issuing CA")
            ->check(CLI::ExistingFile);
    ikey->needs(icert);
    icert->needs(ikey);
    sub->add_option("-o,--output", opt->output, "Certificate file to write")->required();
    sub->callback([opt] { run_gencert(*opt); });
}

void run_gencert(const GencertOptions& opt) {
    PrivateKey key = PrivateKey::load_pem(opt.key);
    CertificateRequest request;
    request.common_name = opt.common_name;
    request.organization = opt.organization;
    request.country = opt.country;
    request.valid_days = opt.days;
    request.is_ca = opt.ca;
    std::optional<Certificate> cert;
    if (opt.issuer_key.empty()) {
        cert = make_self_signed_certificate(key, request);
    } else {
        PrivateKey issuer_key = PrivateKey::load_pem(opt.issuer_key);
        Certificate issuer_cert = Certificate::load_pem(opt.issuer_cert);
        cert = make_issued_certificate(key, request, issuer_key, issuer_cert);
    }
    cert->save_pem(opt.output);
    std::cout << "wrote " << (opt.ca ? "CA" : "signer") << " certificate " << cert->subject()
              << " (SHA-256 " << cert->fingerprint_sha256() << ") to " << opt.output << "\n";
}

void setup_dev_marker(CLI::App& app) {
    auto opt = std::make_shared<DevMarkerOptions>();
    CLI::App* sub = app.add_subcommand(
        "dev-marker", "Create the dev-certificate enable marker (signed by the formal key)");
    sub->add_option("--formal-key", opt->formal_key, "Formal (release) private key")
        ->required()
        ->check(CLI::ExistingFile);
    sub->add_option("-o,--output", opt->output, "Marker file to write, e.g. "
                                                "dev_certificate_enable.bin")
        ->required();
    sub->callback([opt] { run_dev_marker(*opt); });
}

void run_dev_marker(const DevMarkerOptions& opt) {
    Signature marker = make_dev_marker(PrivateKey::load_pem(opt.formal_key));
    std::ofstream out(opt.output, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(marker.data()),
              static_cast<std::streamsize>(marker.size()));
    out.close();
    if (!out) {
        throw Error("cannot write dev enable marker " + opt.output);
    }
    std::cout << "wrote " << marker.size() << "-byte dev enable marker to " << opt.output << "\n";
}

void setup_show_cert(CLI::App& app) {
    auto opt = std::make_shared<ShowCertOptions>();
    CLI::App* sub = app.add_subcommand("show-cert", "Describe the certificates of a PEM file");
    sub->add_option("cert", opt->cert, "PEM certificate file")->required();
    sub->callback([opt] { run_show_cert(*opt); });
}

void run_show_cert(const ShowCertOptions& opt) {
    std::vector<Certificate> certs = Certificate::load_pem_all(opt.cert);
    for (std::size_t i = 0; i < certs.size(); ++i) {
        const Certificate& c = certs[i];
        if (certs.size() > 1) {
            std::cout << (i == 0 ? "" : "\n") << "certificate " << i + 1 << " of " << certs.size()
                      << "\n";
        }
        std::cout << "subject:     " << c.subject() << "\n"
                  << "issuer:      " << c.issuer() << "\n"
                  << "serial:      " << c.serial_hex() << "\n"
                  << "not before:  " << utc(c.not_before()) << "\n"
                  << "not after:   " << utc(c.not_after()) << "\n"
                  << "SHA-256:     " << c.fingerprint_sha256() << "\n"
                  << "type:        " << kind(c) << "\n"
                  << "self-signed: " << (c.is_self_signed() ? "yes" : "no") << "\n";
    }
}

void setup_check_trust(CLI::App& app) {
    auto opt = std::make_shared<CheckTrustOptions>();
    CLI::App* sub = app.add_subcommand(
        "check-trust", "List the signer and CA certificates of a trust directory");
    sub->add_option("dir", opt->dir, "Trust directory (*.pem, dev/*.pem)")->required();
    sub->add_option("--dev-marker", opt->dev_marker,
                    "Dev enable marker (default: DIR/dev_certificate_enable.bin)");
    sub->callback([opt] { run_check_trust(*opt); });
}

void run_check_trust(const CheckTrustOptions& opt) {
    TrustOptions options;
    if (!opt.dev_marker.empty()) {
        options.dev_marker = opt.dev_marker;
    }
    TrustStore store = TrustStore::load(opt.dir, options);
    auto list = [](const char* title, const std::vector<Certificate>& certs) {
        std::cout << title << ": " << certs.size() << "\n";
        for (const Certificate& c : certs) {
            print_brief(c);
        }
    };
    std::cout << "trust directory: " << opt.dir << "\n";
    list("formal signers", store.formal_signers());
    list("dev signers", store.dev_signers());
    list("CA certificates", store.ca_certificates());
    std::cout << "ignored certificates: " << store.ignored_certificates().size() << "\n";
    for (const IgnoredCertificate& ignored : store.ignored_certificates()) {
        std::cout << "  [" << to_string(ignored.cert_class) << "] " << ignored.reason << "\n";
    }
    std::cout << "dev status: " << store.dev_status() << "\n";
}

}  // namespace patching::signing::tool
