// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <signing/trust_store.hpp>

#include <CLI/CLI.hpp>

#include <filesystem>
#include <optional>
#include <vector>

namespace patching::build {

/// Where a command gets its trusted certificates from.
struct TrustArgs {
    std::optional<std::filesystem::path> trust_dir;
    std::vector<std::filesystem::path> certs;
    std::optional<std::filesystem::path> dev_marker;
    bool allow_expired = false;
};

/// Default trust store directory when neither --trust-dir nor --cert is given.
inline constexpr const char* DEFAULT_TRUST_DIR = "/etc/patching/trust";

/// Adds --trust-dir, --cert, --dev-marker and --allow-expired to `cmd`.
void add_trust_options(CLI::App& cmd, TrustArgs& args);

/// Loads the trust store the options describe. @throws core::Error saying which option to use.
signing::TrustStore load_trust(const TrustArgs& args);

}  // namespace patching::build
