// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <CLI/CLI.hpp>

namespace patching::build {

/// Process exit codes of patch-build.
enum class ExitCode { SUCCESS = 0, ERROR = 1, USAGE = 2 };

/// Root options of `patch-build` (the reference's patch_build) and its subcommands
/// `verify`, `query` (query_patch), `modify` (modify_patch) and `sign` (re-sign).
/// Each setup function registers a callback that does the work; errors propagate as exceptions.
void setup_build(CLI::App& app);
void setup_verify(CLI::App& app);
void setup_query(CLI::App& app);
void setup_modify(CLI::App& app);
void setup_sign(CLI::App& app);

}  // namespace patching::build
