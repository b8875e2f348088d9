// SPDX-License-Identifier: Apache-2.0
// patch-keys: key, certificate and trust-directory management for patch signing.
#include "key_commands.hpp"

#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

namespace {

enum class ExitCode : int { SUCCESS = 0, ERROR = 1, USAGE = 2 };

int code(ExitCode c) { return static_cast<int>(c); }

}  // namespace

int main(int argc, char** argv) {
    namespace tool = patching::signing::tool;
    CLI::App app{"patch-keys: make signing keys, certificates and the dev-enable marker"};
    app.require_subcommand(1);
    tool::setup_genkey(app);
    tool::setup_gencert(app);
    tool::setup_dev_marker(app);
    tool::setup_show_cert(app);
    tool::setup_check_trust(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? code(ExitCode::SUCCESS) : code(ExitCode::USAGE);
    } catch (const std::exception& e) {
        std::cerr << "patch-keys: error: " << e.what() << "\n";
        return code(ExitCode::ERROR);
    }
    return code(ExitCode::SUCCESS);
}
