// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <CLI/CLI.hpp>

namespace patching::client {

class Context;

/// Host subcommands (spec §6.3): query-hosts (with --format json), host-install (blocking: polls
/// query_hosts every Settings::poll_interval_s, see HostInstallPoller), host-install-async,
/// drop-host, and install-local (runs the local patch-agent's boot-time install).
void setup_query_hosts(CLI::App& app, Context& ctx);
void setup_host_install(CLI::App& app, Context& ctx);
void setup_drop_host(CLI::App& app, Context& ctx);
void setup_install_local(CLI::App& app, Context& ctx);

}  // namespace patching::client
