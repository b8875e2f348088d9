// SPDX-License-Identifier: Apache-2.0
#include "cli.hpp"

#include "terminal_text.hpp"

#include <optional>

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "commands/commit.hpp"
#include "commands/host_commands.hpp"
#include "commands/patch_commands.hpp"
#include "commands/query_commands.hpp"
#include "errors.hpp"

#ifndef SW_PATCH_VERSION
#define SW_PATCH_VERSION "unknown"
#endif

namespace patching::client {

namespace {

std::optional<int> detect_terminal_columns() {
    for (int fd : {STDOUT_FILENO, STDERR_FILENO}) {
        winsize size{};
        if (::isatty(fd) != 0 && ::ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
            return static_cast<int>(size.ws_col);
        }
    }
    if (const char* columns = std::getenv("COLUMNS")) {
        int value = std::atoi(columns);
        if (value > 0) {
            return value;
        }
    }
    return std::nullopt;
}

}  // namespace

void setup_cli(CLI::App& app, Context& ctx) {
    // The reference lets non-root users run only query, query-hosts, what-requires and
    // completion, checked in the client alone. That check is not copied: the controller now
    // authenticates every request (bearer token) and answers 401/403 itself.
    app.fallthrough();
    app.require_subcommand(1);
    app.set_version_flag("--version", "sw-patch " SW_PATCH_VERSION);
    app.add_flag("--debug", ctx.global.debug, "Print the controller's JSON answers");
    app.add_option(
        "--controller", ctx.global.connection.controller,
        "Controller URL (default: $SW_PATCH_CONTROLLER, `controller` in sw-patch.conf, "
        "http://127.0.0.1:5487)");
    app.add_option(
        "--token-file", ctx.global.connection.token_file,
        "File holding the API token (default: $SW_PATCH_TOKEN, $SW_PATCH_TOKEN_FILE, "
        "`token_file` in sw-patch.conf, /etc/patching/admin.token)");
    app.footer(
        "Configuration: /etc/patching/sw-patch.conf (or $SW_PATCH_CONFIG), lines `key = value` "
        "with keys controller, token_file, ca_file, timeout.\n"
        "Environment: SW_PATCH_CONTROLLER, SW_PATCH_TOKEN, SW_PATCH_TOKEN_FILE, "
        "SW_PATCH_CONFIG, SW_PATCH_POLL_INTERVAL (host-install, seconds).");

    setup_upload(app, ctx);
    setup_upload_dir(app, ctx);
    setup_apply(app, ctx);
    setup_remove(app, ctx);
    setup_delete(app, ctx);
    setup_query(app, ctx);
    setup_show(app, ctx);
    setup_what_requires(app, ctx);
    setup_query_dependencies(app, ctx);
    setup_query_hosts(app, ctx);
    setup_host_install(app, ctx);
    setup_install_local(app, ctx);
    setup_drop_host(app, ctx);
    setup_commit(app, ctx);
    setup_releases(app, ctx);
    setup_is_state(app, ctx);
    setup_report_app_dependencies(app, ctx);
    setup_query_app_dependencies(app, ctx);
    setup_completion(app, ctx);
}

int run_cli(const std::vector<std::string>& args, Context& ctx) {
    CLI::App app{"Manage software patches through the patch controller.", "sw-patch"};
    setup_cli(app, ctx);
    try {
        app.parse(std::vector<std::string>(args.rbegin(), args.rend()));
    } catch (const CLI::ParseError& e) {
        int rc = app.exit(e, ctx.out, ctx.err);
        return rc == 0 ? 0 : static_cast<int>(ExitCode::USAGE);
    } catch (const UsageError& e) {
        ctx.out.flush();
        ctx.err << "Error: " << e.what() << "\nRun with --help for more information.\n";
        return static_cast<int>(ExitCode::USAGE);
    } catch (const std::exception& e) {
        ctx.out.flush();
        ctx.err << "Error: " << e.what() << "\n";
        return static_cast<int>(ExitCode::ERROR);
    }
    return static_cast<int>(ctx.exit_code);
}

int run_main(int argc, char** argv) {
    // Patch text and controller messages are data: on a terminal, their control characters are
    // shown, not obeyed. stderr keeps carriage returns for the upload progress line.
    std::optional<TerminalSafeBuf> safe_out;
    std::optional<TerminalSafeBuf> safe_err;
    std::streambuf* const original_out = std::cout.rdbuf();
    std::streambuf* const original_err = std::cerr.rdbuf();
    if (::isatty(STDOUT_FILENO) != 0) {
        safe_out.emplace(original_out, false);
        std::cout.rdbuf(&*safe_out);
    }
    if (::isatty(STDERR_FILENO) != 0) {
        safe_err.emplace(original_err, true);
        std::cerr.rdbuf(&*safe_err);
    }
    struct Restore {
        std::streambuf* out;
        std::streambuf* err;
        ~Restore() {
            std::cout.flush();
            std::cerr.flush();
            std::cout.rdbuf(out);
            std::cerr.rdbuf(err);
        }
    } restore{original_out, original_err};
    Context ctx(system_environment(), std::cout, std::cerr, std::cin);
    ctx.terminal_columns = detect_terminal_columns();
    ctx.show_progress = ::isatty(STDERR_FILENO) != 0;
    std::vector<std::string> args(argv + 1, argv + argc);
    return run_cli(args, ctx);
}

}  // namespace patching::client
