// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <CLI/CLI.hpp>

namespace patching::client {

class Context;

/// Read-only subcommands (spec §6.3): query, show, what-requires, query-dependencies,
/// is-applied, is-available, query-app-dependencies (each with --format json) and the hidden
/// `completion patches|hosts` helper of the bash completion script.
void setup_query(CLI::App& app, Context& ctx);
void setup_show(CLI::App& app, Context& ctx);
void setup_what_requires(CLI::App& app, Context& ctx);
void setup_query_dependencies(CLI::App& app, Context& ctx);
void setup_is_state(CLI::App& app, Context& ctx);
void setup_query_app_dependencies(CLI::App& app, Context& ctx);
void setup_completion(CLI::App& app, Context& ctx);

}  // namespace patching::client
