// SPDX-License-Identifier: Apache-2.0
#include "daemon.hpp"

#include <common/log.hpp>

#include <patch_core/errors.hpp>
#include <patch_core/rpm/installed.hpp>

#include <signing/mac.hpp>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace patching::agent {

namespace proto = core::protocol;

namespace {

HttpClientOptions http_options(const AgentConfig& config, const std::atomic<bool>* abort = nullptr) {
    HttpClientOptions o = agent_http_options();
    o.ca_file = config.ca_file;
    o.abort = abort;
    return o;
}

// The newest modification time in the rpmdb directory: rpm changes its database files in
// place, which does not always touch the directory itself.
std::int64_t rpmdb_mtime_ns(const std::filesystem::path& dir) {
    std::error_code ec;
    auto newest = std::filesystem::last_write_time(dir, ec);
    if (ec) {
        return 0;
    }
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        std::error_code entry_ec;
        const auto t = entry.last_write_time(entry_ec);
        if (!entry_ec && t > newest) {
            newest = t;
        }
    }
    return static_cast<std::int64_t>(newest.time_since_epoch().count());
}

// Forwards installer progress into the report, throttled.
class ProgressReporter : public InstallProgress {
public:
    ProgressReporter(const core::Clock& clock, std::chrono::milliseconds interval,
                     std::function<void(const std::string&, std::size_t, std::size_t)> sink)
        : clock_(clock), interval_(interval), sink_(std::move(sink)), last_(clock.now()) {}
    void on_progress(const std::string& phase, std::size_t done, std::size_t total, const std::string&) override {
        // Every report is a round trip that the install waits for: a quick install sends only
        // its start and end, a long one a report per interval (a clock set back counts as due).
        const auto now = clock_.now();
        if (now >= last_ && now - last_ < interval_) {
            return;
        }
        last_ = now;
        sink_(phase, done, total);
    }

private:
    const core::Clock& clock_;
    std::chrono::milliseconds interval_;
    std::function<void(const std::string&, std::size_t, std::size_t)> sink_;
    core::Clock::TimePoint last_{};
};

InstallerConfig installer_config(const AgentConfig& c) {
    InstallerConfig ic;
    ic.root = c.root;
    ic.state_dir = c.state_dir;
    ic.repo_url = c.repo_url();
    ic.subfunctions = c.subfunctions;
    ic.personality = c.personality;
    ic.download_timeout = std::chrono::seconds(c.download_timeout_seconds);
    ic.script_timeout = std::chrono::seconds(c.script_timeout_seconds);
    return ic;
}

/// The textfile directory if it exists (a host without the node exporter has none: no metrics,
/// no complaint); empty otherwise.
std::filesystem::path metrics_dir(const AgentConfig& config) {
    std::error_code ec;
    return !config.metrics_textfile_dir.empty() && std::filesystem::is_directory(config.metrics_textfile_dir, ec)
               ? config.metrics_textfile_dir
               : std::filesystem::path();
}

}  // namespace

AgentDaemon::AgentDaemon(AgentConfig config, const core::Clock& clock)
    : config_(std::move(config)),
      clock_(clock),
      worker_http_(http_options(config_)),
      poll_http_(http_options(config_, &poll_stopping_)),
      installer_(installer_config(config_), worker_http_),
      session_(config_),
      instance_id_(proto::to_hex(signing::random_bytes(6))),
      metrics_(metrics_dir(config_)),
      sender_(session_, http_options(config_), sender_callbacks()) {}

ReportSender::Callbacks AgentDaemon::sender_callbacks() {
    ReportSender::Callbacks callbacks;
    callbacks.sent = [this](const proto::AgentReport& report, const proto::PollReply& reply) {
        bool result_reported = false;
        {
            std::lock_guard lock(mutex_);
            sent_report_id_ = report.report_id;
            if (reply.op_counter != seen_counter_) {
                // The controller moved on while we queried: look again.
                seen_counter_ = reply.op_counter;
                pending_.requery = true;
            }
            if (report.command && proto::is_finished(report.command->status) &&
                report.command->id != result_reported_for_) {
                result_reported_for_ = report.command->id;
                result_reported = true;
            }
        }
        wake_.notify_all();
        metrics_.report_sent(true);
        metrics_.host_state(!report.out_of_date, report.requires_reboot);
        if (result_reported) {
            log(std::string(proto::to_string(report.command->kind)) + " " + report.command->id +
                ": the controller has the result (" + std::string(proto::to_string(report.command->status)) + ")");
        }
    };
    // The report did not get through: the next poll answer asks for it again.
    callbacks.failed = [this](const proto::AgentReport& /*report*/, const std::string& error) {
        metrics_.report_sent(false);
        log("cannot send a report: " + error);
    };
    callbacks.idle = [this] {
        std::lock_guard lock(mutex_);  // the poller checks its predicate under this lock
        wake_.notify_all();
    };
    return callbacks;
}

AgentDaemon::~AgentDaemon() {
    stop();
}

void AgentDaemon::log(const std::string& message) const {
    common::log::Logger("patch-agent[" + config_.hostname + "]").info(message);
}

void AgentDaemon::start() {
    std::filesystem::create_directories(config_.state_dir);
    interrupted_reason_ = installer_.recover_interrupted_install();
    if (interrupted_reason_) {
        log("an install was interrupted: " + *interrupted_reason_);
    }
    journal_.emplace(config_.state_dir / "commands", static_cast<std::size_t>(config_.command_history));
    if (auto last = journal_->last()) {
        if (last->status == proto::CommandStatus::RUNNING && last->kind == proto::CommandKind::REBOOT) {
            finish_reboot_at_start(*last);
        } else if (last->status == proto::CommandStatus::RUNNING) {
            // We died while it ran: it is over, and it failed. Never run it again.
            last->status = proto::CommandStatus::FAILED;
            last->reason = interrupted_reason_.value_or("the agent restarted while the command ran");
            journal_->record(*last);
            log(std::string(proto::to_string(last->kind)) + " " + last->id + " was interrupted: " + last->reason);
        }
        command_status_ = proto::CommandReport{last->id, last->kind, last->status, last->reason, "", 0, 0};
    }
    pending_.requery = true;
    worker_ = std::thread([this] { work_loop(); });
    poller_ = std::thread([this] { poll_loop(); });
}

void AgentDaemon::stop() {
    if (stopping_.exchange(true)) {
        return;
    }
    {
        std::lock_guard lock(mutex_);
        if (!worker_busy_) {
            poll_stopping_ = true;  // nothing to finish: a held poll ends at once
        }
    }
    wake_.notify_all();
    // The worker ends what it is doing (an install runs to the end of its librpm transaction);
    // meanwhile the poller goes on, so the controller does not see the host go stale.
    if (worker_.joinable()) {
        worker_.join();
    }
    poll_stopping_ = true;
    wake_.notify_all();
    if (poller_.joinable()) {
        poller_.join();
    }
    sender_.stop();  // after the worker: an install's final report still goes out
}

bool AgentDaemon::pause(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex_);
    clock_.wait_for(lock, wake_, d, [this] { return stopping_.load(); });
    return !stopping_;
}

void AgentDaemon::queue(const Work& work) {
    {
        std::lock_guard lock(mutex_);
        pending_.requery |= work.requery;
        pending_.report |= work.report;
        if (work.command) {
            pending_.command = work.command;
        }
    }
    wake_.notify_all();
}

void AgentDaemon::poll_loop() {
    auto backoff = std::chrono::milliseconds(250);
    bool enrolled = false;
    while (!poll_stopping_) {
        try {
            if (!enrolled) {
                session_.ensure_credentials(poll_http_);
                enrolled = true;
            }
            proto::PollRequest request;
            {
                std::lock_guard lock(mutex_);
                request.op_counter = seen_counter_;
                request.report_id = sent_report_id_;
            }
            // Stopping: polls are only the heartbeat that keeps the host current until the
            // worker has finished, so they are short and their news is left for the next start.
            request.wait_ms = stopping_ ? 1000 : config_.poll_wait_seconds * 1000;
            // The poll's HTTP timeout is bounded, so stop() waits at most one poll period.
            const proto::PollReply reply = session_.poll(poll_http_, request);
            backoff = std::chrono::milliseconds(250);
            Work work;
            {
                std::lock_guard lock(mutex_);
                if (reply.op_counter != seen_counter_) {
                    seen_counter_ = reply.op_counter;
                    work.requery = true;
                }
            }
            work.report = reply.send_report;
            work.command = reply.command;  // the worker runs each id once
            if (stopping_) {
                continue;
            }
            if (work.requery || work.report || work.command) {
                queue(work);
                // Give the worker a moment to act on it before asking again, so the same news
                // (an unsent report, a command not yet acknowledged) does not spin the poll.
                std::unique_lock lock(mutex_);
                clock_.wait_for(lock, wake_, std::chrono::seconds(config_.rpmdb_check_seconds), [this] {
                    return stopping_ || (!worker_busy_ && !pending_.requery && !pending_.report && !pending_.command &&
                                         !sender_.busy());
                });
            }
        } catch (const std::exception& e) {
            if (stopping_) {
                break;
            }
            log("cannot reach the controller: " + core::format_error_chain(e) + " (retrying)");
            if (!pause(backoff)) {
                break;
            }
            backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(config_.retry_max_seconds));
        }
    }
}

void AgentDaemon::work_loop() {
    auto next_requery = clock_.now() + std::chrono::seconds(config_.requery_seconds);
    auto next_health = clock_.now();
    const std::filesystem::path rpmdb = rpm::rpmdb_directory(config_.root);
    std::int64_t rpmdb_mtime = rpmdb_mtime_ns(rpmdb);
    while (!stopping_) {
        Work work;
        {
            std::unique_lock lock(mutex_);
            auto wait = std::chrono::duration_cast<core::Clock::Duration>(
                std::chrono::seconds(config_.rpmdb_check_seconds));
            if (prefetch_due_) {
                wait = std::clamp<core::Clock::Duration>(*prefetch_due_ - clock_.now(), core::Clock::Duration::zero(),
                                                         wait);
            }
            clock_.wait_for(lock, wake_, wait, [this] {
                return stopping_ || pending_.requery || pending_.report || pending_.command;
            });
            if (stopping_) {
                break;
            }
            work = pending_;
            pending_ = Work{};
            worker_busy_ = true;
        }
        const std::int64_t mtime = rpmdb_mtime_ns(rpmdb);
        // Someone ran rpm by hand, or the timer is due (a clock set back by more than the
        // interval counts as due, so it cannot stop the timer for that long).
        const auto now = clock_.now();
        if (mtime != rpmdb_mtime || now >= next_requery ||
            next_requery - now > std::chrono::seconds(config_.requery_seconds)) {
            work.requery = true;
        }
        try {
            if (work.command) {
                run_command(*work.command);
            } else if (work.requery) {
                std::uint64_t counter = 0;
                {
                    std::lock_guard lock(mutex_);
                    counter = seen_counter_;
                }
                requery(counter);
                send_report();
                schedule_prefetch();
            } else if (prefetch_due_ && clock_.now() >= *prefetch_due_) {
                prefetch();
            } else if (work.report) {
                send_report();
            } else if (rejection_shown_ && current_state() != proto::HostState::INSTALL_REJECTED) {
                rejection_shown_ = false;
                send_report();  // the rejected state expired or the node got locked: show idle
            }
        } catch (const std::exception& e) {
            log(core::format_error_chain(e));
            // The report did not get through: the next poll tells us to send it again.
        }
        if (config_.health_interval_seconds > 0 && !stopping_ && clock_.now() >= next_health) {
            try {
                check_health();
            } catch (const std::exception& e) {
                log("health check: " + core::format_error_chain(e));
            }
            next_health = clock_.now() + std::chrono::seconds(config_.health_interval_seconds);
        }
        if (work.requery || work.command) {
            next_requery = clock_.now() + std::chrono::seconds(config_.requery_seconds);
            rpmdb_mtime = rpmdb_mtime_ns(rpmdb);
        }
        {
            std::lock_guard lock(mutex_);
            worker_busy_ = false;
        }
        wake_.notify_all();
    }
}

void AgentDaemon::requery(std::uint64_t op_counter, bool rpmdb_only) {
    try {
        // An unchanged repository costs one GET of repomd.xml (the installer keeps the index);
        // rpmdb_only skips even that.
        QueryResult result = rpmdb_only ? installer_.query_rpmdb() : installer_.query();
        last_query_ = std::move(result);
        query_error_.clear();
        // Only a successful query answers for this counter (a failed one keeps the old answer).
        query_counter_ = op_counter;
    } catch (const std::exception& e) {
        // Keep the previous answer (as the reference does) and say why it could not be renewed.
        query_error_ = core::format_error_chain(e);
        log("query failed: " + query_error_);
    }
}

void AgentDaemon::schedule_prefetch() {
    if (!config_.prefetch || !last_query_ || !last_query_->plan.has_changes() ||
        prefetched_revision_ == last_query_->repo_revision) {
        prefetch_due_.reset();
        return;
    }
    if (!prefetch_due_) {
        std::uniform_int_distribution<int> spread(0, config_.prefetch_spread_seconds * 1000);
        prefetch_due_ = clock_.now() + std::chrono::milliseconds(spread(random_));
    }
}

void AgentDaemon::prefetch() {
    prefetch_due_.reset();
    if (!config_.prefetch || !last_query_ || !last_query_->plan.has_changes() ||
        prefetched_revision_ == last_query_->repo_revision) {
        return;
    }
    const auto started = std::chrono::steady_clock::now();
    try {
        const std::size_t fetched = installer_.prefetch(*last_query_);
        prefetched_revision_ = last_query_->repo_revision;
        if (fetched > 0) {
            log("prefetched " + std::to_string(fetched) + " package(s) for repository revision " +
                core::escape_unprintable(last_query_->repo_revision) + " in " +
                std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now() - started)
                                   .count()) +
                " ms: host-install will not wait for them");
        }
    } catch (const std::exception& e) {
        // The install downloads them itself (and says what is wrong if it still cannot).
        log("prefetch failed (host-install will download the packages itself): " + core::format_error_chain(e));
    }
}

proto::HostState AgentDaemon::current_state() {
    if (installing_) {
        return proto::HostState::INSTALLING;
    }
    const auto now = clock_.now();
    if (command_status_ && command_status_->kind == proto::CommandKind::INSTALL &&
        command_status_->status == proto::CommandStatus::REJECTED && now >= rejected_at_ &&
        now - rejected_at_ < std::chrono::seconds(config_.rejected_hold_seconds) && !installer_.flags().is_locked()) {
        return proto::HostState::INSTALL_REJECTED;
    }
    if (installer_.flags().install_failed()) {
        return proto::HostState::INSTALL_FAILED;
    }
    return proto::HostState::IDLE;
}

proto::AgentReport AgentDaemon::build_report() {
    proto::AgentReport r;
    r.hostname = config_.hostname;
    r.report_id = instance_id_ + "-" + std::to_string(++report_seq_);
    r.op_counter = query_counter_;
    r.sw_version = config_.sw_version;
    r.personality = config_.personality;
    r.labels = config_.labels;
    r.subfunctions = config_.subfunctions;
    r.nodetype = config_.nodetype;
    r.state = current_state();
    HostFlags& flags = installer_.flags();
    r.requires_reboot = flags.is_node_patched();
    const auto failed = flags.install_failed();
    r.patch_failed = failed.has_value();
    r.failure_reason = failed.value_or("");
    r.locked = flags.is_locked();
    r.query_error = query_error_;
    if (last_query_) {
        const Plan& plan = last_query_->plan;
        r.repo_revision = last_query_->repo_revision;
        r.out_of_date = plan.has_changes();
        r.installed = plan.installed;
        r.to_remove = plan.to_remove_names;
        r.missing_pkgs = plan.missing_names;
        r.duplicated_pkgs = plan.duplicated;
    }
    r.command = command_status_;
    r.agent_version = PATCH_AGENT_VERSION;
    r.health = health_;
    r.health_output = health_output_;
    return r;
}

void AgentDaemon::send_report() {
    sender_.send(build_report());
}

void AgentDaemon::record_command(const proto::CommandReport& status) {
    journal_->record({status.id, status.kind, status.status, status.reason});
    command_status_ = status;
}

void AgentDaemon::run_command(const proto::Command& command) {
    if (auto done = journal_->find(command.id)) {
        // A repeat of a command already run (its answer crossed our report, or the controller
        // or this agent restarted): acknowledge it with its outcome, never run it again.
        log(std::string(proto::to_string(command.kind)) + " " + command.id + " already ran (" +
            std::string(proto::to_string(done->status)) + "): acknowledged, not run again");
        command_status_ = proto::CommandReport{done->id, done->kind, done->status, done->reason, "", 0, 0};
        send_report();
        return;
    }
    switch (command.kind) {
        case proto::CommandKind::INSTALL:
            run_install(command);
            return;
        case proto::CommandKind::REBOOT:
            run_reboot(command);
            return;
        case proto::CommandKind::LOCK:
        case proto::CommandKind::UNLOCK:
            run_lock(command, command.kind == proto::CommandKind::LOCK);
            return;
        case proto::CommandKind::HOOK:
            run_hook_command(command);
            return;
    }
    const std::string reason = "this agent (version " + std::string(PATCH_AGENT_VERSION) + ") cannot run " +
                               std::string(proto::to_string(command.kind)) + " commands yet";
    log(std::string(proto::to_string(command.kind)) + " " + command.id + " rejected: " + reason);
    record_command({command.id, command.kind, proto::CommandStatus::REJECTED, reason, "", 0, 0});
    send_report();
}

void AgentDaemon::run_install(const proto::Command& command) {
    const auto started = std::chrono::steady_clock::now();
    auto since = [last = started]() mutable {
        const auto now = std::chrono::steady_clock::now();
        const double ms = std::chrono::duration<double, std::milli>(now - last).count();
        last = now;
        return ms;
    };
    std::vector<std::pair<std::string, double>> timings;
    std::uint64_t counter = 0;
    {
        std::lock_guard lock(mutex_);
        counter = seen_counter_;
    }
    log("install requested (" + command.id + (command.force ? ", force" : "") + ")");
    installing_ = true;
    // In the journal before anything changes on the host: after a crash from here on, this id
    // is never run again.
    record_command({command.id, command.kind, proto::CommandStatus::RUNNING, "", "query", 0, 0});
    // Reports go out on the sender's thread: the install does not wait for their round trips.
    send_report();
    ProgressReporter progress(clock_, std::chrono::milliseconds(config_.progress_interval_ms),
                              [&](const std::string& phase, std::size_t done, std::size_t total) {
                                  command_status_->phase = phase;
                                  command_status_->done = done;
                                  command_status_->total = total;
                                  send_report();
                              });
    InstallRequest request;
    request.force = command.force;
    request.locked = admin_locked();
    since();
    const InstallOutcome outcome = installer_.install(request, progress);
    since();
    timings.insert(timings.end(), outcome.timings.begin(), outcome.timings.end());
    installing_ = false;
    proto::CommandReport result{command.id, command.kind, proto::CommandStatus::OK, outcome.reason, "", 0, 0};
    // The install's log goes to the controller with the outcome: its tail if it is long.
    for (const auto& line : outcome.log) {
        result.output += line + "\n";
    }
    if (result.output.size() > proto::MAX_COMMAND_OUTPUT) {
        std::string tail = result.output.substr(result.output.size() - proto::MAX_COMMAND_OUTPUT + 64);
        tail = tail.substr(std::min(tail.size(), tail.find('\n') + 1));
        result.output = "[... earlier lines left out]\n" + tail;
    }
    switch (outcome.status) {
        case InstallStatus::OK:
            break;
        case InstallStatus::FAILED:
            result.status = proto::CommandStatus::FAILED;
            break;
        case InstallStatus::REJECTED:
            result.status = proto::CommandStatus::REJECTED;
            rejected_at_ = clock_.now();
            rejection_shown_ = true;
            break;
    }
    try {
        record_command(result);
    } catch (const std::exception& e) {
        // The outcome still goes out; a repeat of this id would report it as interrupted.
        log("cannot record the outcome of " + command.id + ": " + core::format_error_chain(e));
        command_status_ = result;
    }
    // The result is reported as soon as the install ends. The packages are read back from the
    // rpmdb; the repository index is the one the install used, made for `counter` or later (a
    // repository that moved since brings a new op_counter, and with it a full query).
    requery(counter, true);
    timings.emplace_back("rpmdb", since());
    send_report();
    const auto reported = std::chrono::steady_clock::now();
    since();
    if (auto error = installer_.wait_until_durable()) {
        log("install: " + *error);
    }
    installer_.remove_downloads();  // after the report: nothing waits for these two
    timings.emplace_back("after_report_sync_cleanup", since());
    switch (outcome.status) {
        case InstallStatus::OK:
            log(std::string("install finished") + (outcome.reboot_required ? "; the host must be rebooted" : ""));
            break;
        case InstallStatus::FAILED:
            log("install failed: " + outcome.reason);
            break;
        case InstallStatus::REJECTED:
            log("install rejected: " + outcome.reason);
            break;
    }
    metrics_.install_finished(outcome.status == InstallStatus::OK,
                              std::chrono::duration<double>(reported - started).count());
    log_timings(timings, reported - started);
}

void AgentDaemon::log_timings(
    const std::vector<std::pair<std::string, double>>& timings,
    std::chrono::steady_clock::duration total) const {
    std::ostringstream line;
    line << std::fixed << std::setprecision(1) << "install timing: total="
         << std::chrono::duration<double, std::milli>(total).count();
    for (const auto& [step, ms] : timings) {
        line << " " << step << "=" << ms;
    }
    log(line.str());
}

int run_boot_install(const AgentConfig& config) {
    HttpClient http(http_options(config));
    Installer installer(installer_config(config), http);
    installer.recover_interrupted_install();
    class Printer : public InstallProgress {
        void on_progress(const std::string& phase, std::size_t done, std::size_t total, const std::string& item) override {
            if (!item.empty()) {
                std::cout << phase << " " << done << "/" << total << " " << item << "\n";
            }
        }
    } printer;
    InstallRequest request;
    request.force = true;
    request.boot_time = true;
    const InstallOutcome outcome = installer.install(request, printer);
    if (auto error = installer.wait_until_durable()) {
        common::log::error(*error);
    }
    installer.remove_downloads();
    for (const auto& line : outcome.log) {
        std::cout << line << "\n";
    }
    if (outcome.status != InstallStatus::OK) {
        common::log::error("install failed: " + outcome.reason);
        return 1;
    }
    std::cout << (outcome.changed ? "Patch installation is complete." : "Nothing to install: the host is current.")
              << "\n";
    if (outcome.reboot_required) {
        std::cout << "Please reboot before continuing with configuration.\n";
    }
    return 0;
}

int run_status(const AgentConfig& config) {
    HttpClient http(http_options(config));
    Installer installer(installer_config(config), http);
    const QueryResult result = installer.query();
    return result.plan.has_changes() ? 1 : 0;
}

}  // namespace patching::agent
