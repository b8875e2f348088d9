// SPDX-License-Identifier: Apache-2.0
#include "trust_options.hpp"

#include <patch_core/errors.hpp>

namespace patching::build {

void add_trust_options(CLI::App& cmd, TrustArgs& args) {
    cmd.add_option("--trust-dir", args.trust_dir,
                   std::string("Directory of trusted PEM certificates (formal: *.pem, development: dev/*.pem); "
                               "default ") + DEFAULT_TRUST_DIR);
    cmd.add_option("--cert", args.certs, "Trust this PEM certificate (repeatable); instead of a trust directory")
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    cmd.add_option("--dev-marker", args.dev_marker,
                   "Development-certificate enable marker (default <trust-dir>/dev_certificate_enable.bin)");
    cmd.add_flag("--allow-expired", args.allow_expired, "Accept certificates outside their validity period");
}

signing::TrustStore load_trust(const TrustArgs& args) {
    signing::TrustOptions options;
    options.allow_expired = args.allow_expired;
    options.dev_marker = args.dev_marker;
    if (!args.certs.empty()) {
        std::vector<signing::Certificate> certs;
        for (const auto& path : args.certs) {
            auto loaded = signing::Certificate::load_pem_all(path);
            certs.insert(certs.end(), loaded.begin(), loaded.end());
        }
        return signing::TrustStore::from_certificates(std::move(certs), {}, options);
    }
    std::filesystem::path dir = args.trust_dir.value_or(DEFAULT_TRUST_DIR);
    std::error_code ec;
    if (!args.trust_dir && !std::filesystem::is_directory(dir, ec)) {
        throw core::Error(std::string("no trust store: ") + DEFAULT_TRUST_DIR +
                          " does not exist; give --trust-dir DIR or --cert CERT.pem");
    }
    return signing::TrustStore::load(dir, options);
}

}  // namespace patching::build
