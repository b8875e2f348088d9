// SPDX-License-Identifier: Apache-2.0
#include "commands/query_commands.hpp"

#include <memory>

#include "context.hpp"
#include "output.hpp"

namespace patching::client {

namespace {

struct QueryOptions {
    std::string state = "all";
    std::string release;
    FormatOptions format;
};

struct IdsFormatOptions {
    std::vector<std::string> ids;
    FormatOptions format;
};

struct DependenciesOptions {
    std::vector<std::string> ids;
    bool recursive = false;
    FormatOptions format;
};

// Prints a response in --format json, --debug or the command's own text layout.
template <class TextFn>
void print_with(Context& ctx, const FormatOptions& format, const Response& response, TextFn text) {
    if (format.json()) {
        ctx.print(format_json(response.body));
    } else if (ctx.global.debug) {
        ctx.print(format_debug(response));
    } else {
        ctx.print(text(response));
    }
}

ExitCode run_query(Context& ctx, const QueryOptions& opts) {
    std::vector<std::pair<std::string, std::string>> query{{"show", opts.state}};
    if (!opts.release.empty()) {
        query.emplace_back("release", opts.release);
    }
    Response response = ctx.client().get(api_target("query", {}, query));
    print_with(ctx, opts.format, response, format_op_result);
    return exit_code_of(response);
}

ExitCode run_is_state(Context& ctx, const std::string& route, const IdsFormatOptions& opts) {
    Response response = ctx.client().post(api_target(route, opts.ids));
    if (opts.format.json()) {
        ctx.print(format_json(response.body));
    } else {
        ctx.print(format_bool_result(response));
        if (response.status == 500) {
            ctx.err << INTERNAL_ERROR_MESSAGE << "\n";
        } else if (auto error = response.error(); !error.empty()) {
            ctx.err << "Error:\n" << error << "\n";
        }
    }
    bool value = response.status == 200 && response.boolean().value_or(false);
    return value ? ExitCode::SUCCESS : ExitCode::ERROR;
}

ExitCode run_query_app_dependencies(Context& ctx, const FormatOptions& format) {
    Response response = ctx.client().post(api_target("query_app_dependencies"));
    if (format.json()) {
        ctx.print(format_json(response.body));
    } else if (response.status != 200 || !response.error().empty()) {
        ctx.print(
            response.status == 500 ? format_op_result(response) : format_messages(response.body));
    } else if (ctx.global.debug) {
        ctx.print(format_debug(response));
    } else {
        ctx.print(format_app_dependencies(response.body));
    }
    return exit_code_of(response);
}

ExitCode run_completion(Context& ctx, const std::string& what) {
    if (what == "patches") {
        Response response = ctx.client().get(api_target("query"));
        if (auto query = response.query(); response.status == 200 && query) {
            std::string ids;
            for (const auto& [id, entry] : query->pd) {
                ids += (ids.empty() ? "" : " ") + id;
            }
            ctx.print(ids + "\n");
        }
        return ExitCode::SUCCESS;
    }
    Response response = ctx.client().get(api_target("query_hosts"));
    if (auto hosts = response.hosts(); response.status == 200 && hosts) {
        std::string names;
        for (const auto& host : hosts->data) {
            if (!host.hostname.empty()) {
                names += host.hostname + "\n";
            }
        }
        ctx.print(names);
    }
    return ExitCode::SUCCESS;
}

}  // namespace

void setup_query(CLI::App& app, Context& ctx) {
    auto opts = std::make_shared<QueryOptions>();
    auto* sub = app.add_subcommand(
        "query",
        "Query system patches. Optionally, specify 'query applied' to query only those patches "
        "that are applied, or 'query available' to query those that are not.");
    sub->add_option("state", opts->state, "all (default), available, applied or committed")
        ->check(CLI::IsMember({"all", "available", "applied", "committed"}));
    sub->add_option("--release", opts->release, "Only the patches of this release");
    add_format_option(sub, opts->format);
    sub->callback([&ctx, opts] { ctx.exit_code = run_query(ctx, *opts); });
}

void setup_show(CLI::App& app, Context& ctx) {
    auto opts = std::make_shared<IdsFormatOptions>();
    auto* sub = app.add_subcommand("show", "Show details for specified patches.");
    sub->add_option("ids", opts->ids, "Patch IDs")->required();
    add_format_option(sub, opts->format);
    sub->callback([&ctx, opts] {
        Response response = ctx.client().post(api_target("show", opts->ids));
        std::size_t width = ctx.wrap_width();
        print_with(ctx, opts->format, response, [width](const Response& r) {
            return format_show_result(r, width);
        });
        ctx.exit_code = exit_code_of(response);
    });
}

void setup_what_requires(CLI::App& app, Context& ctx) {
    auto opts = std::make_shared<IdsFormatOptions>();
    auto* sub =
        app.add_subcommand("what-requires", "List patches that require the specified patches.");
    sub->add_option("ids", opts->ids, "Patch IDs")->required();
    add_format_option(sub, opts->format);
    sub->callback([&ctx, opts] {
        Response response = ctx.client().get(api_target("what_requires", opts->ids));
        print_with(ctx, opts->format, response, format_op_result);
        ctx.exit_code = exit_code_of(response);
    });
}

void setup_query_dependencies(CLI::App& app, Context& ctx) {
    auto opts = std::make_shared<DependenciesOptions>();
    auto* sub = app.add_subcommand(
        "query-dependencies",
        "List dependencies for specified patch. Use --recursive for recursive query.");
    sub->add_option("ids", opts->ids, "Patch IDs")->required();
    sub->add_flag("--recursive", opts->recursive, "Include indirect dependencies");
    add_format_option(sub, opts->format);
    sub->callback([&ctx, opts] {
        std::vector<std::pair<std::string, std::string>> query;
        if (opts->recursive) {
            query.emplace_back("recursive", "yes");
        }
        Response response = ctx.client().get(api_target("query_dependencies", opts->ids, query));
        print_with(ctx, opts->format, response, format_dependencies_result);
        ctx.exit_code = exit_code_of(response);
    });
}

void setup_is_state(CLI::App& app, Context& ctx) {
    struct Verb {
        const char* name;
        const char* route;
        const char* help;
    };
    for (const Verb& verb :
         {Verb{
              "is-applied", "is_applied",
              "Query Applied state for list of patches. Returns True if all are Applied, False "
              "otherwise."},
          Verb{
              "is-available", "is_available",
              "Query Available state for list of patches. Returns True if all are Available, "
              "False otherwise."}}) {
        auto opts = std::make_shared<IdsFormatOptions>();
        auto* sub = app.add_subcommand(verb.name, verb.help);
        sub->add_option("ids", opts->ids, "Patch IDs")->required();
        add_format_option(sub, opts->format);
        std::string route = verb.route;
        sub->callback([&ctx, opts, route] { ctx.exit_code = run_is_state(ctx, route, *opts); });
    }
}

void setup_query_app_dependencies(CLI::App& app, Context& ctx) {
    auto opts = std::make_shared<FormatOptions>();
    auto* sub = app.add_subcommand(
        "query-app-dependencies", "Display set of reported application patch dependencies.");
    add_format_option(sub, *opts);
    sub->callback([&ctx, opts] { ctx.exit_code = run_query_app_dependencies(ctx, *opts); });
}

void setup_completion(CLI::App& app, Context& ctx) {
    auto what = std::make_shared<std::string>();
    auto* sub = app.add_subcommand("completion", "Helper of the bash completion script")->group("");
    sub->add_option("what", *what, "patches or hosts")
        ->required()
        ->check(CLI::IsMember({"patches", "hosts"}));
    sub->callback([&ctx, what] { ctx.exit_code = run_completion(ctx, *what); });
}

}  // namespace patching::client
