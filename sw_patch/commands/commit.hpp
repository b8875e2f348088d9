// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <CLI/CLI.hpp>

namespace patching::client {

class Context;

/// `commit [--dry-run] [--all [--release R]] [-y] [IDs...]` (spec §2): lists the patches to be
/// committed (every patch of the release with --all, else the recursive dependencies of IDs),
/// runs commit_dry_run, prints the irreversibility warning and asks
/// "Would you like to continue? [y/N]: " on ctx.in unless --yes; only "y"/"Y" commits.
/// Without --release, --all uses the running release (SW_VERSION in /etc/build.info).
void setup_commit(CLI::App& app, Context& ctx);

}  // namespace patching::client
