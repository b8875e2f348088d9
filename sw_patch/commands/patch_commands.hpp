// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <CLI/CLI.hpp>

namespace patching::client {

class Context;

/// Subcommands that change patches (spec §6.3): upload, upload-dir, apply, remove, delete,
/// init-release, del-release (both hidden) and report-app-dependencies. Each registers a
/// callback that talks to the controller through ctx and sets ctx.exit_code.
void setup_upload(CLI::App& app, Context& ctx);
void setup_upload_dir(CLI::App& app, Context& ctx);
void setup_apply(CLI::App& app, Context& ctx);
void setup_remove(CLI::App& app, Context& ctx);
void setup_delete(CLI::App& app, Context& ctx);
void setup_releases(CLI::App& app, Context& ctx);
void setup_report_app_dependencies(CLI::App& app, Context& ctx);

}  // namespace patching::client
