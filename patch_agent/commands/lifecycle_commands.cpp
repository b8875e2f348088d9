// SPDX-License-Identifier: Apache-2.0
// The host lifecycle's commands on the agent (README "Host lifecycle"): LOCK and UNLOCK write
// the lock flag from the controller's administrative state, HOOK runs a named phase's hook from
// hook_dir, REBOOT runs reboot_command. Each runs on the worker thread, recorded in the command
// journal before it acts.
#include "daemon.hpp"

#include "hooks/hook_runner.hpp"

#include <common/subprocess.hpp>
#include <patch_core/errors.hpp>
#include <patch_core/fs.hpp>

namespace patching::agent {

namespace proto = core::protocol;

void AgentDaemon::run_lock(const proto::Command& command, bool lock) {
    const char* what = lock ? "lock" : "unlock";
    log(std::string(what) + " requested (" + command.id + ")");
    record_command({command.id, command.kind, proto::CommandStatus::RUNNING, "", "", 0, 0});
    proto::CommandReport result{command.id, command.kind, proto::CommandStatus::OK,
                                lock ? "the lock flag is set" : "the lock flag is removed", "", 0, 0};
    try {
        // The controller's state first (the locking rule follows it), then the reference's flag.
        core::write_file_atomically(config_.state_dir / "admin_lock", lock ? "locked\n" : "unlocked\n");
        installer_.flags().set_locked(lock);
        installer_.flags().sync();
    } catch (const std::exception& e) {
        result.status = proto::CommandStatus::FAILED;
        result.reason = std::string("cannot ") + what + " the host: " + core::format_error_chain(e);
    }
    record_command(result);
    send_report();
}

std::optional<bool> AgentDaemon::admin_locked() const {
    std::error_code ec;
    if (!std::filesystem::exists(config_.state_dir / "admin_lock", ec)) {
        return std::nullopt;
    }
    try {
        return core::read_small_file(config_.state_dir / "admin_lock", 64).rfind("locked", 0) == 0;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

void AgentDaemon::run_hook_command(const proto::Command& command) {
    log("hook " + command.hook + " requested (" + command.id + ")");
    record_command({command.id, command.kind, proto::CommandStatus::RUNNING, "", command.hook, 0, 0});
    send_report();
    const HookResult hook = run_hook(config_.hook_dir, command.hook, std::chrono::seconds(config_.hook_timeout_seconds),
                                     {"PATCH_HOST=" + config_.hostname, "PATCH_WR_ID=" + command.id});
    proto::CommandReport result{command.id, command.kind,
                                hook.exit_code == proto::HOOK_OK ? proto::CommandStatus::OK
                                                                 : proto::CommandStatus::FAILED,
                                hook.summary, command.hook, 0, 0};
    result.exit_code = static_cast<std::uint64_t>(hook.exit_code);
    result.output = hook.output;
    log(hook.summary);
    try {
        record_command(result);
    } catch (const std::exception& e) {
        log("cannot record the outcome of " + command.id + ": " + core::format_error_chain(e));
        command_status_ = result;
    }
    send_report();
}

void AgentDaemon::run_reboot(const proto::Command& command) {
    std::string boot_id;
    try {
        boot_id = session_.read_boot_id();
    } catch (const std::exception& e) {
        record_command({command.id, command.kind, proto::CommandStatus::FAILED,
                        "cannot reboot: " + core::format_error_chain(e), "", 0, 0});
        send_report();
        return;
    }
    log("reboot requested (" + command.id + "): running " + config_.reboot_command.front());
    // In the journal first: after the reboot, start() sees it running and compares boot ids.
    record_command({command.id, command.kind, proto::CommandStatus::RUNNING, "boot_id=" + boot_id, "", 0, 0});
    send_report();
    common::subprocess::Options options;
    options.argv = config_.reboot_command;
    common::subprocess::Limits limits;
    limits.timeout = std::chrono::seconds(config_.hook_timeout_seconds);
    limits.max_output = proto::MAX_HOOK_OUTPUT;
    limits.on_exit = common::subprocess::Limits::OnExit::LEAVE_GROUP;
    std::string problem;
    std::string output;
    try {
        const auto r = common::subprocess::run(options, limits);
        output = r.output;
        if (!r.is_success()) {
            problem = config_.reboot_command.front() + " ended with " + r.describe_status();
        }
    } catch (const common::subprocess::SpawnError& e) {
        problem = e.what();
    }
    if (!problem.empty()) {
        log("reboot failed: " + problem);
        proto::CommandReport failed{command.id, command.kind, proto::CommandStatus::FAILED,
                                    "the reboot command failed: " + problem, "", 0, 0};
        failed.output = output;
        record_command(failed);
        send_report();
        return;
    }
    // It stays running: the controller finishes it when this host says hello with a new boot id.
    log("reboot issued: waiting to go down");
}

void AgentDaemon::finish_reboot_at_start(CommandJournal::Entry& entry) {
    const std::string was = entry.reason.rfind("boot_id=", 0) == 0 ? entry.reason.substr(8) : std::string();
    std::string now;
    try {
        now = session_.read_boot_id();
    } catch (const std::exception&) {
    }
    if (!was.empty() && !now.empty() && now != was) {
        entry.status = proto::CommandStatus::OK;
        entry.reason = "the host rebooted (boot id " + was + " -> " + now + ")";
    } else {
        entry.status = proto::CommandStatus::FAILED;
        entry.reason = "the agent restarted but the host did not reboot (boot id " + (now.empty() ? "unknown" : now) +
                       " unchanged)";
    }
    journal_->record(entry);
    log("reboot " + entry.id + ": " + entry.reason);
}

void AgentDaemon::check_health() {
    const HookResult hook = run_hook(config_.hook_dir, "health", std::chrono::seconds(config_.health_timeout_seconds),
                                     {"PATCH_HOST=" + config_.hostname});
    std::string health;
    std::string output;
    if (hook.present) {
        health = hook.exit_code == proto::HOOK_OK ? "ok" : "failing";
        output = health == "ok" ? std::string() : hook.summary + (hook.output.empty() ? "" : ":\n" + hook.output);
    }
    if (health == health_ && output == health_output_) {
        return;
    }
    if (health != health_) {
        log("health: " + (health.empty() ? std::string("no health hook") : health + " (" + hook.summary + ")"));
    }
    health_ = health;
    health_output_ = output;
    send_report();
}

}  // namespace patching::agent
