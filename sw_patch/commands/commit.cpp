// SPDX-License-Identifier: Apache-2.0
#include "commands/commit.hpp"

#include <istream>
#include <memory>

#include "context.hpp"
#include "errors.hpp"
#include "output.hpp"

namespace patching::client {

namespace {

struct CommitOptions {
    std::vector<std::string> ids;
    bool dry_run = false;
    bool all = false;
    std::string release;
    bool yes = false;
};

std::string patch_list_text(const std::vector<std::string>& ids) {
    std::string out = "The following patches will be committed:\n";
    for (const auto& id : ids) {
        out += "    " + id + "\n";
    }
    return out + "\n";
}

// Lists what --all commits; nullopt means "stop with *rc".
std::optional<std::vector<std::string>> all_patches(
    Context& ctx, const CommitOptions& opts, ExitCode* rc) {
    std::string release = opts.release;
    if (release.empty()) {
        auto running = running_release(ctx.env.build_info);
        if (!running) {
            throw UsageError(
                "commit --all: cannot tell the running release (no SW_VERSION in " +
                ctx.env.build_info.string() + "): pass --release R");
        }
        release = *running;
    }
    Response response =
        ctx.client().get(api_target("query", {}, {{"show", "all"}, {"release", release}}));
    if (response.status == 500) {
        ctx.print("Failed to get patch list. Aborting...\n");
        *rc = ExitCode::ERROR;
        return std::nullopt;
    }
    if (!response.ok()) {
        ctx.print(format_messages(response.body) + "Aborting...\n");
        *rc = ExitCode::ERROR;
        return std::nullopt;
    }
    std::vector<std::string> ids;
    if (auto query = response.query()) {
        for (const auto& [id, entry] : query->pd) {
            ids.push_back(id);
        }
    }
    if (ids.empty()) {
        ctx.print("There are no " + release + " patches to commit.\n");
        *rc = ExitCode::SUCCESS;
        return std::nullopt;
    }
    return ids;
}

std::optional<std::vector<std::string>> dependency_closure(
    Context& ctx, const CommitOptions& opts, ExitCode* rc) {
    Response response =
        ctx.client().get(api_target("query_dependencies", opts.ids, {{"recursive", "yes"}}));
    *rc = ExitCode::ERROR;
    if (response.status == 500) {
        ctx.print(format_op_result(response));
        return std::nullopt;
    }
    if (!response.error().empty() || response.status != 200) {
        ctx.print(format_messages(response.body) + "Aborting...\n");
        return std::nullopt;
    }
    auto deps = response.dependencies();
    if (!deps) {
        ctx.print("No patches found to commit\n");
        return std::nullopt;
    }
    std::vector<std::string> ids = std::move(deps->patches);
    std::sort(ids.begin(), ids.end());
    return ids;
}

ExitCode run_commit(Context& ctx, const CommitOptions& opts) {
    if (!opts.release.empty() && !opts.all) {
        ctx.print("Use of --release option requires --all\n");
        return ExitCode::ERROR;
    }
    if (opts.all && !opts.ids.empty()) {
        throw UsageError("commit: give either --all or patch IDs, not both");
    }
    if (!opts.all && opts.ids.empty()) {
        throw UsageError("commit: give the patch IDs to commit, or --all");
    }
    ExitCode rc = ExitCode::SUCCESS;
    auto listed = opts.all ? all_patches(ctx, opts, &rc) : dependency_closure(ctx, opts, &rc);
    if (!listed) {
        return rc;
    }
    ctx.print(patch_list_text(*listed));
    // With --all the listed IDs are sent; otherwise the controller computes the same closure.
    const std::vector<std::string>& ids = opts.all ? *listed : opts.ids;

    Response dry_run = ctx.client().post(api_target("commit_dry_run", ids));
    ctx.print(format_op_result(dry_run));
    if (!dry_run.ok()) {
        ctx.print("Aborting...\n");
        return ExitCode::ERROR;
    }
    if (opts.dry_run) {
        return ExitCode::SUCCESS;
    }
    ctx.print("\n" + format_commit_warning(ctx.wrap_width()) + "\n");
    if (!opts.yes) {
        ctx.print("Would you like to continue? [y/N]: ");
        std::string answer;
        if (!std::getline(ctx.in, answer) || (answer != "y" && answer != "Y")) {
            ctx.print(ctx.in ? "Aborting...\n" : "\nAborting...\n");
            return ExitCode::ERROR;
        }
    }
    return ctx.print_result(ctx.client().post(api_target("commit", ids)));
}

}  // namespace

void setup_commit(CLI::App& app, Context& ctx) {
    auto opts = std::make_shared<CommitOptions>();
    auto* sub = app.add_subcommand(
        "commit", "Commit patches to free disk space. WARNING: This action is irreversible!");
    sub->add_option("ids", opts->ids, "Patch IDs (their dependencies are committed too)");
    sub->add_flag("--dry-run", opts->dry_run, "Only show what would be committed and freed");
    sub->add_flag("--all", opts->all, "Commit every patch of the release");
    sub->add_option("--release", opts->release, "With --all: the release (default: running)");
    sub->add_flag("-y,--yes", opts->yes, "Do not ask for confirmation");
    sub->callback([&ctx, opts] { ctx.exit_code = run_commit(ctx, *opts); });
}

}  // namespace patching::client
