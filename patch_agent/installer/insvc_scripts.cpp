// SPDX-License-Identifier: Apache-2.0
// The installer's in-service scripts (spec §4.4): the executables a patch leaves in the scripts
// directory, run after an in-service install, each with its timeout, their output in the log.
#include "installer/installer.hpp"

#include "installer/installer_detail.hpp"

#include <common/subprocess.hpp>
#include <patch_core/errors.hpp>

#include <algorithm>
#include <optional>

namespace fs = std::filesystem;

namespace patching::agent {

namespace {

constexpr size_t MAX_SCRIPT_OUTPUT = 1U << 20U;

/// How one script ended: the run's status and output, or (when it could not be started) exit
/// code 127 and why, as a shell reports it.
common::subprocess::Result run_script(
    const fs::path& script,
    const std::optional<fs::path>& chroot_root,
    const std::vector<std::string>& environment,
    std::chrono::seconds timeout) {
    namespace sp = common::subprocess;
    sp::Options options;
    // In a chroot, scripts run with /bin/sh of the managed root; otherwise they are executed
    // (falling back to /bin/sh without a shebang).
    options.argv = chroot_root ? std::vector<std::string>{"/bin/sh", script.string()}
                               : std::vector<std::string>{script.string()};
    options.shell_fallback = !chroot_root;
    options.chroot_dir = chroot_root;
    options.cwd = "/";
    options.environment = environment;
    options.die_with_parent = false;
    try {
        // A restarted service the script leaves running must survive it (and may keep the
        // output pipe open for as long as it lives): the script's own exit ends the wait.
        return sp::run(
            std::move(options), {.timeout = timeout,
                                 .max_output = MAX_SCRIPT_OUTPUT,
                                 .keep = sp::Limits::Keep::HEAD,
                                 .on_exit = sp::Limits::OnExit::LEAVE_GROUP});
    } catch (const sp::SpawnError& e) {
        sp::Result failed;
        failed.status.exit_code = 127;
        failed.output = std::string("patch-agent: ") + e.what() + "\n";
        return failed;
    }
}

}  // namespace

std::vector<fs::path> Installer::in_service_scripts() {
    const fs::path dir = flags_.scripts_dir();
    std::vector<fs::path> scripts;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const fs::file_status st = entry.symlink_status();
        const auto exec_bits =
            fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec;
        if (fs::is_regular_file(st) && (st.permissions() & exec_bits) != fs::perms::none) {
            scripts.push_back(entry.path());
        }
    }
    if (ec) {
        flags_.set_node_patched(true);
        throw InstallFailure(
            "Cannot read the in-service script directory " + dir.string() + ": " + ec.message() +
            ". The packages are installed; the host requires a reboot.");
    }
    std::sort(scripts.begin(), scripts.end(), [](const fs::path& a, const fs::path& b) {
        return a.filename().string() < b.filename().string();
    });
    return scripts;
}

void Installer::run_scripts(
    const std::vector<fs::path>& scripts, InstallProgress& progress, InstallOutcome& outcome) {
    // Scripts run inside the managed root when the agent can chroot there; then they see the
    // directories at their production paths.
    const bool in_root = config_.root != "/" && ::geteuid() == 0;
    const fs::path relative_scripts = flags_.scripts_dir().lexically_relative(config_.root);
    const fs::path relative_flags = flags_.flags_dir().lexically_relative(config_.root);
    const fs::path seen_scripts = in_root ? "/" / relative_scripts : flags_.scripts_dir();
    const fs::path seen_flags = in_root ? "/" / relative_flags : flags_.flags_dir();
    std::string subfunctions;
    for (const auto& s : config_.subfunctions) {
        subfunctions += (subfunctions.empty() ? "" : ",") + s;
    }
    const std::vector<std::string> environment{
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "PATCH_SCRIPTDIR=" + seen_scripts.string(),
        "PATCH_FLAGDIR=" + seen_flags.string(),
        "PATCH_STATUS_OK=0",
        "PATCH_STATUS_FAILED=1",
        "PATCH_PERSONALITY=" + config_.personality,
        "PATCH_SUBFUNCTIONS=" + subfunctions,
    };

    std::vector<std::string> failures;
    for (std::size_t i = 0; i < scripts.size(); ++i) {
        const std::string name = core::escape_unprintable(scripts[i].filename().string());
        progress.on_progress("scripts", i, scripts.size(), scripts[i].filename().string());
        const auto run =
            in_root ? run_script(
                          seen_scripts / scripts[i].filename(), config_.root, environment,
                          config_.script_timeout)
                    : run_script(scripts[i], std::nullopt, environment, config_.script_timeout);
        append_lines(outcome.log, "script " + name + ": ", run.output);
        if (run.timed_out) {
            failures.push_back(
                name + " did not finish within " + std::to_string(config_.script_timeout.count()) +
                " s and was killed");
        } else if (run.status.signal != 0) {
            failures.push_back(name + " was killed by signal " + std::to_string(run.status.signal));
        } else if (run.status.exit_code != 0) {
            failures.push_back(name + " failed with exit code " + std::to_string(run.status.exit_code));
        } else {
            outcome.log.push_back("script " + name + ": ok");
        }
    }
    progress.on_progress("scripts", scripts.size(), scripts.size(), "");
    if (!failures.empty()) {
        throw InstallFailure(
            std::string(
                failures.size() > 1 ? "In-service patch scripts: " : "In-service patch script ") +
            joined(failures, "; ") +
            ". The packages are installed but their in-service restart did not complete, so the "
            "host requires a reboot (node_is_patched stays set); the script output is in the "
            "install log.");
    }
}

}  // namespace patching::agent
