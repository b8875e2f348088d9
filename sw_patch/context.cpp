// SPDX-License-Identifier: Apache-2.0
#include "context.hpp"

#include <chrono>
#include <iostream>
#include <thread>
#include <utility>

#include "output.hpp"

namespace patching::client {

Context::Context(
    Environment environment,
    std::ostream& out_stream,
    std::ostream& err_stream,
    std::istream& in_stream)
    : env(std::move(environment)), out(out_stream), err(err_stream), in(in_stream) {
    sleep = [](double seconds) {
        std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    };
}

Context::~Context() = default;

const Settings& Context::settings() {
    if (!settings_) {
        settings_ = resolve_settings(global.connection, env);
    }
    return *settings_;
}

ControllerClient& Context::client() {
    if (!client_) {
        const Settings& s = settings();
        ClientOptions options;
        options.base_url = s.controller;
        options.token = s.token;
        options.token_source = s.token_source;
        options.token_hint = s.token_hint;
        options.ca_file = s.ca_file;
        options.timeout_s = s.timeout_s;
        options.default_token_file = env.default_token_file.string();
        client_ = std::make_unique<ControllerClient>(std::move(options));
    }
    return *client_;
}

std::size_t Context::wrap_width() const {
    return client::wrap_width(terminal_columns);
}

ExitCode Context::print_result(const Response& response) {
    print(global.debug ? format_debug(response) : format_op_result(response));
    return exit_code_of(response);
}

void Context::print(const std::string& text) {
    out << text;
    out.flush();
}

void add_format_option(CLI::App* sub, FormatOptions& options) {
    sub->add_option("--format", options.format, "Output format: text (default) or json")
        ->check(CLI::IsMember({"text", "json"}));
    sub->add_flag("--json", options.json_flag, "Same as --format json");
}

}  // namespace patching::client
