// SPDX-License-Identifier: Apache-2.0
#include "commands.hpp"

#include <patch_core/errors.hpp>
#include <patch_core/rpm/package.hpp>

#include <iostream>

int main(int argc, char** argv) {
    using patching::build::ExitCode;
    CLI::App app{"Build, verify, query, modify and re-sign StarlingX-compatible .patch files.\n"
                 "Build: patch-build --id ID --release REL --sign-key KEY [options] RPM...",
                 "patch-build"};
    app.require_subcommand(0, 1);
    patching::build::setup_build(app);
    patching::build::setup_verify(app);
    patching::build::setup_query(app);
    patching::build::setup_modify(app);
    patching::build::setup_sign(app);
    try {
        patching::rpm::init_librpm();
        app.parse(argc, argv);
    } catch (const CLI::RuntimeError& e) {
        return e.get_exit_code();
    } catch (const CLI::ParseError& e) {
        int rc = app.exit(e);
        return rc == 0 ? 0 : static_cast<int>(ExitCode::USAGE);
    } catch (const std::exception& e) {
        std::cerr << "patch-build: error: " << patching::core::format_error_chain(e) << "\n";
        return static_cast<int>(ExitCode::ERROR);
    }
    return static_cast<int>(ExitCode::SUCCESS);
}
