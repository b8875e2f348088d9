// SPDX-License-Identifier: Apache-2.0
#include "commands/host_commands.hpp"

#include <common/subprocess.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "context.hpp"
#include "errors.hpp"
#include "host_install_poller.hpp"
#include "output.hpp"

namespace patching::client {

namespace {

struct HostInstallOptions {
    std::string host;
    bool force = false;
};

std::string host_install_target(const HostInstallOptions& opts) {
    std::vector<std::string> segments{opts.host};
    if (opts.force) {
        segments.emplace_back("force");
    }
    return api_target("host_install_async", segments);
}

ExitCode wait_for_install_complete(Context& ctx, const std::string& host) {
    // The reference tolerated 4 misses at 5 s each; keep that 20 s budget at any interval.
    HostInstallPoller poller(host, std::max(4, static_cast<int>(20.0 / std::max(0.05, ctx.settings().poll_interval_s))));
    double interval = ctx.settings().poll_interval_s;
    while (true) {
        // Sleep on the first pass too, to give the agent time to respond.
        ctx.sleep(interval);
        HostInstallPoller::Step step;
        try {
            step = poller.observe(ctx.client().get(api_target("query_hosts", {}, {{"brief", "yes"}})));
        } catch (const TransportError&) {
            step = poller.observe_unreachable();
        }
        ctx.print(step.output);
        if (step.done) {
            return step.exit_code == 0 ? ExitCode::SUCCESS : ExitCode::ERROR;
        }
    }
}

ExitCode run_host_install(Context& ctx, const HostInstallOptions& opts) {
    Response response = ctx.client().post(host_install_target(opts));
    if (response.status == 200 && response.error().empty()) {
        return wait_for_install_complete(ctx, opts.host);
    }
    if (response.status == 500) {
        ctx.print(format_op_result(response));
    } else {
        ctx.print("Error:\n" + response.error() + "\n");
    }
    return ExitCode::ERROR;
}

}  // namespace

void setup_query_hosts(CLI::App& app, Context& ctx) {
    auto opts = std::make_shared<FormatOptions>();
    auto* sub = app.add_subcommand("query-hosts", "Query patch states for hosts in the system.");
    add_format_option(sub, *opts);
    sub->callback([&ctx, opts] {
        // The table needs no package lists: ask for the brief view (a reference controller
        // ignores the parameter and sends everything, which the table handles too).
        const bool table = !opts->json() && !ctx.global.debug;
        Response response = ctx.client().get(
            table ? api_target("query_hosts", {}, {{"brief", "yes"}}) : api_target("query_hosts"));
        if (opts->json()) {
            ctx.print(format_json(response.body));
        } else if (ctx.global.debug) {
            ctx.print(format_debug(response));
        } else {
            ctx.print(format_hosts_result(response));
        }
        ctx.exit_code = exit_code_of(response);
    });
}

void setup_host_install(CLI::App& app, Context& ctx) {
    for (bool async : {false, true}) {
        auto opts = std::make_shared<HostInstallOptions>();
        auto* sub = app.add_subcommand(
            async ? "host-install-async" : "host-install",
            std::string("Trigger patch install/remove on specified host. To force install on "
                        "unlocked node, use the --force option.") +
                (async ? " Note: This command returns immediately upon dispatching installation "
                         "request."
                       : ""));
        sub->add_option("host", opts->host, "Hostname or IP address")->required();
        sub->add_flag("--force", opts->force, "Install on an unlocked host");
        sub->callback([&ctx, opts, async] {
            ctx.exit_code = async ? ctx.print_result(ctx.client().post(host_install_target(*opts)))
                                  : run_host_install(ctx, *opts);
        });
    }
}

void setup_drop_host(CLI::App& app, Context& ctx) {
    auto host = std::make_shared<std::string>();
    auto* sub = app.add_subcommand("drop-host", "Drop specified host from table.");
    sub->add_option("host", *host, "Hostname or IP address")->required();
    sub->callback([&ctx, host] {
        ctx.exit_code = ctx.print_result(ctx.client().post(api_target("drop_host", {*host})));
    });
}

// install-local runs the agent's boot-time install against the local controller, as the
// reference ran /etc/init.d/sw-patch with "controller" mapped to 127.0.0.1. The agent is a
// separate program (sw-patch links no librpm), found by SW_PATCH_AGENT or in /usr/sbin or PATH.
void setup_install_local(CLI::App& app, Context& ctx) {
    auto agent_config = std::make_shared<std::string>("/etc/patching/patch-agent.conf");
    auto* sub = app.add_subcommand(
        "install-local",
        "Trigger patch install/remove on the local host. This command can only be used for "
        "patch installation prior to initial configuration.");
    sub->add_option("--agent-config", *agent_config, "The local agent's configuration file")
        ->capture_default_str();
    sub->callback([&ctx, agent_config] {
        const std::string marker = ctx.env.getenv("SW_PATCH_INITIAL_CONFIG_MARKER")
                                       .value_or("/etc/platform/.initial_controller_config_complete");
        if (std::filesystem::exists(marker)) {
            ctx.err << "Error: install-local may only be used before the initial configuration ("
                    << marker << " exists). Use host-install instead.\n";
            ctx.exit_code = ExitCode::ERROR;
            return;
        }
        std::string agent = ctx.env.getenv("SW_PATCH_AGENT").value_or("");
        if (agent.empty()) {
            agent = std::filesystem::exists("/usr/sbin/patch-agent") ? "/usr/sbin/patch-agent" : "patch-agent";
        }
        common::subprocess::Options run;
        run.argv = {agent, "--config", *agent_config, "--install", "--controller-url", ctx.settings().controller};
        // The agent talks to the user's terminal and stays in its process group (Ctrl-C reaches it).
        run.output = common::subprocess::Output::INHERIT;
        run.inherit_stdin = true;
        run.new_process_group = false;
        run.die_with_parent = false;
        ctx.out.flush();
        ctx.err.flush();
        try {
            common::subprocess::Child child = common::subprocess::Child::spawn(run);
            ctx.exit_code = child.wait().is_success() ? ExitCode::SUCCESS : ExitCode::ERROR;
        } catch (const common::subprocess::SpawnError& e) {
            ctx.err << "Error: cannot run " << agent << ": " << std::strerror(e.error_number())
                    << " (install patch-agent, or set SW_PATCH_AGENT to its path)\n";
            ctx.exit_code = ExitCode::ERROR;
        }
    });
}

}  // namespace patching::client
