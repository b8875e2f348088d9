// SPDX-License-Identifier: Apache-2.0
#include "commands/patch_commands.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>

#include "context.hpp"
#include "errors.hpp"
#include "output.hpp"
#include "progress.hpp"

namespace patching::client {

namespace {

namespace fs = std::filesystem;

struct UploadOptions {
    std::vector<std::string> files;
};

struct UploadDirOptions {
    std::vector<std::string> dirs;
};

struct ApplyOptions {
    std::vector<std::string> ids;
    bool all = false;
    bool skip_semantic = false;
};

struct RemoveOptions {
    std::vector<std::string> ids;
    bool skip_app_check = false;
    bool skip_semantic = false;
    bool remove_unremovable = false;
};

struct IdsOptions {
    std::vector<std::string> ids;
};

struct ReleaseOptions {
    std::string release;
};

struct ReportAppOptions {
    std::string app;
    std::vector<std::string> ids;
};

// Client-side checks that spare an upload the controller would reject anyway; the message is
// printed and the file skipped.
std::string check_upload_file(const std::string& file) {
    std::error_code ec;
    auto status = fs::status(file, ec);
    if (fs::is_directory(status)) {
        return "Error: " + file + " is a directory. Please use upload-dir";
    }
    if (!fs::is_regular_file(status)) {
        return "Error: File does not exist: " + file;
    }
    if (fs::path(file).extension() != ".patch") {
        return "Error: " + file + ": File must end in .patch extension";
    }
    if (::access(file.c_str(), R_OK) != 0) {
        return "Error: cannot read " + file + ": " + std::strerror(errno);
    }
    return {};
}

ExitCode run_upload(Context& ctx, const UploadOptions& opts) {
    ExitCode rc = ExitCode::SUCCESS;
    std::set<std::string> files(opts.files.begin(), opts.files.end());
    for (const auto& file : files) {
        if (auto problem = check_upload_file(file); !problem.empty()) {
            ctx.print(problem + "\n");
            // The reference carries on with rc 0 here; a file that was not uploaded is a failure.
            rc = ExitCode::ERROR;
            continue;
        }
        std::unique_ptr<ProgressBar> bar;
        ProgressFn progress;
        if (ctx.show_progress) {
            bar = std::make_unique<ProgressBar>(ctx.err, fs::path(file).filename().string());
            progress = [&bar](std::uint64_t sent, std::uint64_t total) {
                bar->update(sent, total);
            };
        }
        Response response;
        try {
            response = ctx.client().upload(file, progress);
        } catch (...) {
            if (bar) {
                bar->finish();
            }
            throw;
        }
        if (bar) {
            bar->finish();
        }
        if (ctx.print_result(response) != ExitCode::SUCCESS) {
            rc = ExitCode::ERROR;
        }
    }
    return rc;
}

std::string absolute_dir(const std::string& dir) {
    std::string path = fs::absolute(dir).lexically_normal().string();
    while (path.size() > 1 && path.back() == '/') {
        path.pop_back();
    }
    return path;
}

ExitCode run_upload_dir(Context& ctx, const UploadDirOptions& opts) {
    std::set<std::string> dirs;
    for (const auto& dir : opts.dirs) {
        dirs.insert(absolute_dir(dir));
    }
    std::vector<std::pair<std::string, std::string>> query;
    for (const auto& dir : dirs) {
        query.emplace_back("dir" + std::to_string(query.size()), dir);
    }
    return ctx.print_result(ctx.client().post(api_target("upload_dir", {}, query)));
}

ExitCode run_apply(Context& ctx, const ApplyOptions& opts) {
    if (opts.all == !opts.ids.empty()) {
        throw UsageError(
            opts.all ? "apply: give either --all or patch IDs, not both"
                     : "apply: give the patch IDs to apply, or --all");
    }
    std::vector<std::string> ids = opts.all ? std::vector<std::string>{"--all"} : opts.ids;
    std::vector<std::pair<std::string, std::string>> query;
    if (opts.skip_semantic) {
        query.emplace_back("skip-semantic", "yes");
    }
    return ctx.print_result(ctx.client().post(api_target("apply", ids, query)));
}

ExitCode run_remove(Context& ctx, const RemoveOptions& opts) {
    std::vector<std::pair<std::string, std::string>> query;
    if (opts.remove_unremovable) {
        query.emplace_back("removeunremovable", "yes");
    }
    if (opts.skip_app_check) {
        query.emplace_back("skipappcheck", "yes");
    }
    if (opts.skip_semantic) {
        query.emplace_back("skip-semantic", "yes");
    }
    return ctx.print_result(ctx.client().post(api_target("remove", opts.ids, query)));
}

ExitCode run_report_app_dependencies(Context& ctx, const ReportAppOptions& opts) {
    if (opts.app.empty()) {
        ctx.print("Application name must be specified with --app argument.\n");
        return ExitCode::ERROR;
    }
    Response response =
        ctx.client().post(api_target("report_app_dependencies", opts.ids, {{"app", opts.app}}));
    if (ctx.global.debug) {
        ctx.print(format_debug(response));
    } else if (response.status == 500) {
        ctx.print(format_op_result(response));
    } else {
        ctx.print(format_messages(response.body));
    }
    // The reference exits 0 on any HTTP 200; an error the controller reports is a failure here.
    return exit_code_of(response);
}

}  // namespace

void setup_upload(CLI::App& app, Context& ctx) {
    auto opts = std::make_shared<UploadOptions>();
    auto* sub = app.add_subcommand("upload", "Upload one or more patches to the patching system.");
    sub->add_option("files", opts->files, "Patch files (.patch)")->required();
    sub->callback([&ctx, opts] { ctx.exit_code = run_upload(ctx, *opts); });
}

void setup_upload_dir(CLI::App& app, Context& ctx) {
    auto opts = std::make_shared<UploadDirOptions>();
    auto* sub = app.add_subcommand(
        "upload-dir",
        "Upload patches from one or more directories to the patching system. The directories "
        "are read by the controller, so they must be on its host.");
    sub->add_option("dirs", opts->dirs, "Directories holding .patch files")->required();
    sub->callback([&ctx, opts] { ctx.exit_code = run_upload_dir(ctx, *opts); });
}

void setup_apply(CLI::App& app, Context& ctx) {
    auto opts = std::make_shared<ApplyOptions>();
    auto* sub = app.add_subcommand(
        "apply",
        "Apply one or more patches. This adds the specified patches to the repository, making "
        "the update(s) available to the hosts in the system. Use --all to apply all available "
        "patches.");
    sub->add_option("ids", opts->ids, "Patch IDs");
    sub->add_flag("--all", opts->all, "Apply every available patch");
    sub->add_flag("--skip-semantic", opts->skip_semantic, "Skip the patches' semantic checks");
    sub->callback([&ctx, opts] { ctx.exit_code = run_apply(ctx, *opts); });
}

void setup_remove(CLI::App& app, Context& ctx) {
    auto opts = std::make_shared<RemoveOptions>();
    auto* sub = app.add_subcommand(
        "remove",
        "Remove one or more patches. This removes the specified patches from the repository.");
    sub->add_option("ids", opts->ids, "Patch IDs")->required();
    sub->add_flag("--skipappcheck", opts->skip_app_check, "Skip the application dependency check");
    sub->add_flag("--skip-semantic", opts->skip_semantic, "Skip the patches' semantic checks");
    // Hidden, as in the reference: for emergencies, under supervision of the design team.
    sub->add_flag("--removeunremovable", opts->remove_unremovable)->group("");
    sub->callback([&ctx, opts] { ctx.exit_code = run_remove(ctx, *opts); });
}

void setup_delete(CLI::App& app, Context& ctx) {
    auto opts = std::make_shared<IdsOptions>();
    auto* sub =
        app.add_subcommand("delete", "Delete one or more patches from the patching system.");
    sub->add_option("ids", opts->ids, "Patch IDs")->required();
    sub->callback([&ctx, opts] {
        ctx.exit_code = ctx.print_result(ctx.client().post(api_target("delete", opts->ids)));
    });
}

void setup_releases(CLI::App& app, Context& ctx) {
    for (const char* verb : {"init-release", "del-release"}) {
        auto opts = std::make_shared<ReleaseOptions>();
        auto* sub = app.add_subcommand(verb, "")->group("");
        sub->add_option("release", opts->release, "Release")->required();
        std::string route = verb[0] == 'i' ? "init_release" : "del_release";
        sub->callback([&ctx, opts, route] {
            ctx.exit_code = ctx.print_result(ctx.client().post(api_target(route, {opts->release})));
        });
    }
}

void setup_report_app_dependencies(CLI::App& app, Context& ctx) {
    auto opts = std::make_shared<ReportAppOptions>();
    auto* sub = app.add_subcommand(
        "report-app-dependencies",
        "Report application patch dependencies, specifying application name with --app option, "
        "plus a list of patches. Reported dependencies can be dropped by specifying app with no "
        "patch list.");
    sub->add_option("--app", opts->app, "Application name");
    sub->add_option("ids", opts->ids, "Patch IDs");
    sub->callback([&ctx, opts] { ctx.exit_code = run_report_app_dependencies(ctx, *opts); });
}

}  // namespace patching::client
