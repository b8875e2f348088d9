// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "context.hpp"

namespace patching::client {

/// Registers the global options (--debug, --controller, --token-file, --version) and every
/// subcommand on `app`, bound to `ctx`. Global options are accepted before or after the
/// subcommand.
void setup_cli(CLI::App& app, Context& ctx);

/// Parses `args` (argv without the program name) and runs the subcommand. Returns the process
/// exit code: the command's ExitCode; USAGE for bad arguments (0 for --help); ERROR for any
/// failure, printed to ctx.err as "Error: <message>".
int run_cli(const std::vector<std::string>& args, Context& ctx);

/// The real process: the system environment, std streams, terminal detection. Used by main().
int run_main(int argc, char** argv);

}  // namespace patching::client
