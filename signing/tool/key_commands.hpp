// SPDX-License-Identifier: Apache-2.0
// Subcommands of patch-keys, one options struct + setup + run per subcommand (CLI11's
// subcom_in_files layout). Each run_* prints to stdout and throws on failure.
#pragma once

#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace patching::signing::tool {

struct GenkeyOptions {
    int bits = 3072;
    std::string output;
    bool force = false;
};
void setup_genkey(CLI::App& app);
void run_genkey(const GenkeyOptions& opt);

struct GencertOptions {
    std::string key;
    std::string common_name;
    std::string organization;
    std::string country;
    int days = 3650;
    bool ca = false;
    std::string issuer_key;
    std::string issuer_cert;
    std::string output;
};
void setup_gencert(CLI::App& app);
void run_gencert(const GencertOptions& opt);

struct DevMarkerOptions {
    std::string formal_key;
    std::string output;
};
void setup_dev_marker(CLI::App& app);
void run_dev_marker(const DevMarkerOptions& opt);

struct ShowCertOptions {
    std::string cert;
};
void setup_show_cert(CLI::App& app);
void run_show_cert(const ShowCertOptions& opt);

struct CheckTrustOptions {
    std::string dir;
    std::string dev_marker;  ///< Empty: <dir>/dev_certificate_enable.bin.
};
void setup_check_trust(CLI::App& app);
void run_check_trust(const CheckTrustOptions& opt);

}  // namespace patching::signing::tool
