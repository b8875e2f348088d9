// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include "config.hpp"
#include "controller_client.hpp"
#include "response.hpp"

namespace patching::client {

/// Process exit codes of sw-patch (STYLE §6). Command results follow the reference: 0 when the
/// controller answered 200 without an error, else 1; is-applied/is-available exit 0 only for
/// True.
enum class ExitCode { SUCCESS = 0, ERROR = 1, USAGE = 2 };

/// Options that apply to every subcommand (they may appear before or after it).
struct GlobalOptions {
    bool debug = false;          ///< --debug: pretty-print the raw JSON like the reference
    ConnectionFlags connection;  ///< --controller, --token-file
};

/// --format json|text / --json of the query commands.
struct FormatOptions {
    std::string format = "text";
    bool json_flag = false;
    bool json() const { return json_flag || format == "json"; }
};

/// What a command needs from the outside world: streams, environment, the controller client and
/// a sleep function, all replaceable by tests. One per process (or per test run).
class Context {
public:
    Context(Environment env, std::ostream& out, std::ostream& err, std::istream& in);
    ~Context();
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    GlobalOptions global;
    Environment env;
    std::ostream& out;
    std::ostream& err;
    std::istream& in;
    /// Sleeps for the given seconds (host-install polling).
    std::function<void(double)> sleep;
    /// Terminal width for `show` and the commit warning; nullopt means "not a terminal".
    std::optional<int> terminal_columns;
    /// Draw an upload progress bar on `err` (set when stderr is a terminal).
    bool show_progress = false;
    /// Set by the subcommand callback; returned by run_cli.
    ExitCode exit_code = ExitCode::SUCCESS;

    /// The resolved settings; resolved on first use, after the command line was parsed.
    /// @throws ConfigError (see resolve_settings).
    const Settings& settings();
    /// The controller client, created on first use.
    ControllerClient& client();
    /// Wrapping width of `show` and the commit warning.
    std::size_t wrap_width() const;

    /// Prints `response` as the reference's print_patch_op_result (or the --debug dump) and
    /// returns its check_rc exit code.
    ExitCode print_result(const Response& response);
    /// Writes `text` to `out` and flushes.
    void print(const std::string& text);

private:
    std::optional<Settings> settings_;
    std::unique_ptr<ControllerClient> client_;
};

/// Adds --format text|json and --json to `sub`.
void add_format_option(CLI::App* sub, FormatOptions& options);

/// ExitCode from the reference's check_rc.
inline ExitCode exit_code_of(const Response& response) {
    return response.ok() ? ExitCode::SUCCESS : ExitCode::ERROR;
}

}  // namespace patching::client
