// SPDX-License-Identifier: Apache-2.0
#include "jobs/job_service.hpp"

#include "service/errors.hpp"
#include "work/rate_limits.hpp"

#include <common/log.hpp>
#include <patch_core/errors.hpp>

#include <algorithm>

namespace patching::controller {

namespace {

bool valid_job_name(const std::string& name) {
    if (name.empty() || name.size() > 63 || !(std::islower(static_cast<unsigned char>(name[0])) ||
                                              std::isdigit(static_cast<unsigned char>(name[0])))) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char ch) {
        const auto c = static_cast<unsigned char>(ch);
        return std::islower(c) || std::isdigit(c) || c == '.' || c == '_' || c == '-';
    });
}

std::string etag_text(std::int64_t revision) { return "\"" + std::to_string(revision) + "\""; }

constexpr int MAX_SLOTS_PER_PASS = 10000;

}  // namespace

JobService::JobService(Store& store, WorkEngine& work, GroupService& groups, HostCommands& hosts,
                       const core::Clock& clock, JobPolicy policy)
    : store_(store), work_(work), groups_(groups), hosts_(hosts), clock_(clock), policy_(policy) {}

void JobService::load() {
    {
        std::lock_guard lock(mutex_);
        jobs_.clear();
        due_.clear();
        queued_.clear();
        loaded_at_ = clock_.now_seconds();
        hold_until_ = loaded_at_ + policy_.start_hold_seconds;
        for (auto& job : store_.job_queries().load_jobs()) {
            Entry& e = jobs_[job.name];
            e.job = std::move(job);
            reindex(e);
        }
    }
    notify();
}

void JobService::set_on_change(std::function<void()> on_change) {
    std::lock_guard lock(mutex_);
    on_change_ = std::move(on_change);
}

void JobService::notify() {
    std::function<void()> f;
    {
        std::lock_guard lock(mutex_);
        f = on_change_;
    }
    if (f) {
        f();
    }
}

std::size_t JobService::indexed() {
    std::lock_guard lock(mutex_);
    return due_.size();
}

std::map<std::string, std::uint64_t> JobService::count_by_state() {
    std::lock_guard lock(mutex_);
    std::map<std::string, std::uint64_t> out;
    for (const auto& [name, e] : jobs_) {
        ++out[e.job.paused ? "PAUSED" : (e.job.next_slot == 0 && e.job.queued_run == 0) ? "INACTIVE" : "ACTIVE"];
    }
    return out;
}

void JobService::reindex(Entry& e) {
    if (e.indexed) {
        due_.erase(e.due);
        e.indexed = false;
    }
    if (e.job.next_slot != 0) {
        e.due = due_.emplace(e.job.next_slot, e.job.name);
        e.indexed = true;
    }
    if (e.job.queued_run != 0) {
        queued_.insert(e.job.name);
    } else {
        queued_.erase(e.job.name);
    }
}

JobService::Entry& JobService::entry(const std::string& name) {
    auto it = jobs_.find(name);
    if (it == jobs_.end()) {
        throw NotFound("no job '" + core::escape_unprintable(name) + "' (sw-manager job list shows them)");
    }
    return it->second;
}

void JobService::check_revision(const Entry& e, std::optional<std::int64_t> if_match) {
    if (if_match && *if_match != e.job.revision) {
        throw PreconditionFailed("job " + e.job.name + " has changed (ETag " + etag_text(e.job.revision) +
                                 "): read it again and retry");
    }
}

void JobService::validate(StoredJob& job, std::int64_t now, bool spent) {
    if (job.operation != "INSTALL") {
        throw InvalidField("operation", "operation '" + core::escape_unprintable(job.operation) +
                                            "' is not one a job runs: INSTALL (the applied patches, across hosts)");
    }
    if (!job.hosts.empty() && !job.group.empty()) {
        throw InvalidField("hosts", "a job has exactly one target: give hosts or group, not both");
    }
    if (job.hosts.empty() && job.group.empty()) {
        throw InvalidField("hosts", "a job needs a target: name the hosts (\"hosts\": [...]) or a group (\"group\")");
    }
    const std::string kind = job.group.empty() ? "HOSTS" : "GROUP";
    if (!job.target_kind.empty() && job.target_kind != kind) {
        throw InvalidField(kind == "GROUP" ? "group" : "hosts",
                           "job " + job.name + " targets " + (job.target_kind == "GROUP" ? "a group" : "hosts") +
                               "; a job's target kind cannot change: delete the job and create it again");
    }
    job.target_kind = kind;
    if (kind == "GROUP") {
        try {
            groups_.show(job.group);
        } catch (const NotFound&) {
            throw InvalidField("group", "no group '" + core::escape_unprintable(job.group) +
                                            "' (sw-manager group list shows them; create it first)");
        }
    } else {
        std::vector<std::string> canonical;
        for (const auto& h : job.hosts) {
            const HostFacts f = hosts_.facts(h);
            if (!f.known) {
                throw InvalidField("hosts", "unknown host '" + core::escape_unprintable(h) +
                                                "': it is not in the host table (sw-patch query-hosts lists them)");
            }
            if (std::find(canonical.begin(), canonical.end(), f.hostname) == canonical.end()) {
                canonical.push_back(f.hostname);
            }
        }
        job.hosts = canonical;
    }
    // The work-request API's own checks, so that a job never fails at its first run for them.
    const auto concurrency = parse_max_concurrency(job.max_concurrency);
    if (!concurrency) {
        throw InvalidField("max_concurrency", "max-concurrency '" + core::escape_unprintable(job.max_concurrency) +
                                                  "' is not a number from 1 or a percentage from 1% to 100%");
    }
    const auto errors = parse_max_errors(job.max_errors);
    if (!errors) {
        throw InvalidField("max_errors", "max-errors '" + core::escape_unprintable(job.max_errors) +
                                             "' is not a number from 0 or a percentage from 0% to 100%");
    }
    job.max_concurrency = concurrency->text();
    job.max_errors = errors->text();
    if (job.retry_intervals.size() > 10) {
        throw InvalidField("retry_intervals", "at most 10 retry intervals");
    }
    for (int minutes : job.retry_intervals) {
        if (minutes < 1 || minutes > 10080) {
            throw InvalidField("retry_intervals",
                               "retry intervals are minutes from 1 to 10080, not " + std::to_string(minutes));
        }
    }
    if (job.overlap_policy != "SKIP" && job.overlap_policy != "QUEUE") {
        throw InvalidField("overlap_policy", "overlap_policy '" + core::escape_unprintable(job.overlap_policy) +
                                                 "' is not SKIP (a slot whose previous run is unfinished is skipped) "
                                                 "or QUEUE (it runs when the previous run finishes)");
    }
    if (job.description.size() > 1024) {
        throw InvalidField("description", "description is longer than 1024 characters");
    }
    const Recurrence rec(job.start, job.rule, job.time_zone);
    if (job.window_seconds < 0 || job.window_seconds > 7 * 86400) {
        throw InvalidField("window_minutes", "window_minutes must be from 0 (no window) to 10080 (a week)");
    }
    if (job.window_seconds > 0 && rec.is_recurring()) {
        const std::int64_t interval = rec.shortest_interval();
        if (interval > 0 && job.window_seconds > interval) {
            throw InvalidField("window_minutes", "the window (" + std::to_string(job.window_seconds / 60) +
                                                     " min) is longer than the rule's interval (" +
                                                     std::to_string(interval / 60) +
                                                     " min between two runs): make it at most the interval");
        }
    }
    if (spent) {
        job.next_slot = 0;
        job.anchor_local.clear();
        job.anchor_index = 0;
        return;
    }
    const auto first = rec.slots_until(now - 1, now - 1, 1);
    if (first.empty()) {
        throw InvalidField(rec.is_recurring() ? "rule" : "start",
                           rec.is_recurring() ? "the rule has no run left after now (COUNT or UNTIL): nothing to schedule"
                                              : "start " + job.start + " (" + job.time_zone +
                                                    ") is in the past: give a time to come, or use run-now");
    }
    job.next_slot = first[0].utc;
    job.anchor_local = first[0].anchor.local;
    job.anchor_index = first[0].anchor.index;
}

JobView JobService::view(const StoredJob& job, int n) {
    JobView v;
    v.job = job;
    v.state = job.paused ? "PAUSED" : (job.next_slot == 0 && job.queued_run == 0) ? "INACTIVE" : "ACTIVE";
    if (job.next_slot != 0 && n > 0) {
        try {
            const Recurrence rec(job.start, job.rule, job.time_zone, Recurrence::Anchor{job.anchor_local, job.anchor_index});
            v.next.push_back(job.next_slot);  // stored: a list page expands no rule
            if (n > 1) {
                for (auto s : rec.next_slots(job.next_slot, n - 1)) {
                    v.next.push_back(s);
                }
            }
            for (auto s : v.next) {
                v.next_local.push_back(rec.local_text(s));
            }
        } catch (const ServiceError&) {
            v.next.clear();  // a zone dropped from the system's database: shown without next runs
        }
    }
    return v;
}

void JobService::save(Entry& e, StoredJob job, const std::vector<JobRun>& rows) {
    job.revision = e.job.revision + 1;
    job.updated_at = clock_.now_seconds();
    store_.write([&](WriteTransaction& tx) {
        for (const auto& r : rows) {
            tx.work().jobs().put_job_run(r);
        }
        tx.work().jobs().put_job(job);
    });
    e.job = std::move(job);
    reindex(e);
}

JobView JobService::create(StoredJob job, const std::string& by,
                           const std::function<void(WorkTables&, const JobView&)>& on_write) {
    JobView result;
    if (!valid_job_name(job.name)) {
        throw InvalidField("name", "job name '" + core::escape_unprintable(job.name) +
                                       "' must be 1 to 63 of a-z, 0-9, '.', '_', '-', starting with a letter or "
                                       "digit");
    }
    const std::int64_t now = clock_.now_seconds();
    job.target_kind.clear();
    validate(job, now);  // outside the lock: expanding the rule takes time
    {
        std::lock_guard lock(mutex_);
        if (jobs_.contains(job.name)) {
            throw Conflict("job '" + job.name + "' already exists: update it, or delete it first");
        }
        job.skip_count = 0;
        job.queued_run = 0;
        job.last_work_request = 0;
        job.last_fired_at = 0;
        job.created_by = by;
        job.created_at = job.updated_at = now;
        job.revision = 1;
        result = view(job, 5);
        store_.write([&](WriteTransaction& tx) {
            tx.work().jobs().put_job(job);
            if (on_write) {
                on_write(tx.work(), result);
            }
        });
        Entry& e = jobs_[job.name];
        e.job = job;
        reindex(e);
    }
    notify();
    return result;
}

JobView JobService::update(const std::string& name, const JobChanges& changes, std::optional<std::int64_t> if_match) {
    JobView result;
    for (;;) {
        StoredJob current;
        {
            std::lock_guard lock(mutex_);
            Entry& e = entry(name);
            check_revision(e, if_match);
            current = e.job;
        }
        StoredJob job = current;
        changes.apply_to(job);
        const std::int64_t now = clock_.now_seconds();
        // A one-time job whose run is used stays so unless it is moved (a new start or zone).
        const bool spent = current.rule.empty() && current.next_slot == 0 && job.rule.empty() &&
                           job.start == current.start && job.time_zone == current.time_zone;
        validate(job, now, spent);  // outside the lock: expanding the rule takes time
        // Slots that were due but not yet handled (the start hold, a busy scheduler) and that the
        // new schedule drops: every nominal slot gets a row.
        std::vector<JobRun> dropped;
        if (current.next_slot != 0 && current.next_slot <= now) {
            std::vector<std::int64_t> due{current.next_slot};
            try {
                const Recurrence old(current.start, current.rule, current.time_zone,
                                     Recurrence::Anchor{current.anchor_local, current.anchor_index});
                for (const auto& s : old.slots_until(current.next_slot, now, MAX_SLOTS_PER_PASS)) {
                    if (s.utc <= now) {
                        due.push_back(s.utc);
                    }
                }
            } catch (const ServiceError&) {
                // its zone left the system's database: the stored slot only
            }
            for (std::int64_t slot : due) {
                if (slot == job.next_slot) {
                    continue;  // still scheduled
                }
                JobRun run;
                run.job = current.name;
                run.slot = slot;
                run.recorded_at = now;
                run.result = "SKIPPED";
                run.reason = "UPDATED";
                run.message = "the job was updated before the slot was handled";
                dropped.push_back(run);
            }
        }
        std::lock_guard lock(mutex_);
        Entry& e = entry(name);
        check_revision(e, if_match);
        if (e.job.revision != current.revision) {
            continue;  // changed meanwhile (e.g. a slot fired): validate against what it is now
        }
        // What the scheduler owns stays.
        job.skip_count = e.job.skip_count;
        job.queued_run = e.job.queued_run;
        job.last_work_request = e.job.last_work_request;
        job.last_fired_at = e.job.last_fired_at;
        job.created_by = e.job.created_by;
        job.created_at = e.job.created_at;
        save(e, std::move(job), dropped);
        result = view(e.job, 5);
        break;
    }
    notify();
    return result;
}

void JobService::remove(const std::string& name, std::optional<std::int64_t> if_match) {
    {
        std::lock_guard lock(mutex_);
        Entry& e = entry(name);
        check_revision(e, if_match);
        store_.write([&](WriteTransaction& tx) { tx.work().jobs().delete_job(name); });
        if (e.indexed) {
            due_.erase(e.due);
        }
        queued_.erase(name);
        jobs_.erase(name);
    }
    notify();
}

JobView JobService::pause(const std::string& name, std::optional<std::int64_t> if_match) {
    std::lock_guard lock(mutex_);
    Entry& e = entry(name);
    check_revision(e, if_match);
    StoredJob job = e.job;
    job.paused = true;
    save(e, job);
    return view(e.job, 5);
}

JobView JobService::resume(const std::string& name, std::optional<std::int64_t> if_match) {
    std::lock_guard lock(mutex_);
    Entry& e = entry(name);
    check_revision(e, if_match);
    StoredJob job = e.job;
    job.paused = false;
    save(e, job);
    return view(e.job, 5);
}

JobView JobService::skip_next(const std::string& name, std::optional<std::int64_t> if_match) {
    std::lock_guard lock(mutex_);
    Entry& e = entry(name);
    check_revision(e, if_match);
    StoredJob job = e.job;
    if (job.next_slot == 0) {
        throw Conflict("job " + name + " has no run left to skip");
    }
    const Recurrence rec(job.start, job.rule, job.time_zone, Recurrence::Anchor{job.anchor_local, job.anchor_index});
    if (static_cast<int>(rec.next_slots(job.next_slot, job.skip_count).size()) < job.skip_count) {
        throw Conflict("job " + name + " has no run left to skip (" + std::to_string(job.skip_count) +
                       " already skipped)");
    }
    ++job.skip_count;
    save(e, job);
    return view(e.job, 5);
}

bool JobService::unfinished(std::int64_t id) {
    if (id == 0) {
        return false;
    }
    auto wr = store_.work_queries().work_request(id);
    return wr && !is_terminal(wr->state);
}

void JobService::write_rows(const StoredJob& job, const std::vector<JobRun>& rows) {
    store_.write([&](WriteTransaction& tx) {
        for (const auto& r : rows) {
            tx.work().jobs().put_job_run(r);
        }
        tx.work().jobs().put_job(job);
    });
}

std::optional<StoredWorkRequest> JobService::fire(StoredJob& job, JobRun run, std::vector<JobRun> rows,
                                                  std::int64_t now, bool rethrow, const OnAccept& on_accept) {
    StoredJob next = job;
    next.revision = job.revision + 1;
    next.updated_at = now;
    next.last_fired_at = now;
    run.recorded_at = now;
    run.result = "FIRED";
    try {
        InstallRequest r;
        if (job.target_kind == "GROUP") {
            r.hosts = groups_.resolve(job.group);
            r.target_kind = "GROUP";
            r.target = job.group;
        } else {
            r.hosts = job.hosts;
            r.target_kind = job.hosts.size() == 1 ? "HOST" : "HOSTS";
        }
        r.force = job.force;
        r.max_concurrency = job.max_concurrency;
        r.max_errors = job.max_errors;
        r.retry_intervals = job.retry_intervals;
        r.created_by = "job:" + job.name;
        r.initiator = Initiator::SCHEDULE;
        r.cutoff = job.window_seconds > 0 ? run.slot + job.window_seconds : 0;
        StoredWorkRequest wr = work_.submit_install(r, [&](WorkTables& tx, const StoredWorkRequest& parent) {
            run.work_request_id = parent.id;
            next.last_work_request = parent.id;
            for (const auto& row : rows) {
                tx.jobs().put_job_run(row);
            }
            tx.jobs().put_job_run(run);
            tx.jobs().put_job(next);
            if (on_accept) {
                on_accept(tx, parent);
            }
        });
        job = next;
        common::log::info("job " + job.name + ": slot " + Recurrence::utc_text(run.slot) + " fired as work request " +
                          std::to_string(wr.id));
        return wr;
    } catch (const ServiceError& e) {
        if (rethrow) {
            throw;
        }
        run.result = "FAILED";
        run.message = e.what();
        next.last_fired_at = job.last_fired_at;
        rows.push_back(run);
        write_rows(next, rows);
        job = next;
        common::log::warning("job " + job.name + ": slot " + Recurrence::utc_text(run.slot) +
                             " could not start: " + e.what());
        return std::nullopt;
    }
}

StoredWorkRequest JobService::run_now(const std::string& name, const std::string& by, const OnAccept& on_accept) {
    std::optional<StoredWorkRequest> wr;
    {
        std::lock_guard lock(mutex_);
        Entry& e = entry(name);
        StoredJob job = e.job;
        if (unfinished(job.last_work_request)) {
            throw Conflict("job " + name + "'s last run (work request " + std::to_string(job.last_work_request) +
                           ") has not finished: wait for it, or cancel it (sw-manager work-request cancel " +
                           std::to_string(job.last_work_request) + ")");
        }
        const std::int64_t now = clock_.now_seconds();
        const bool one_time = job.rule.empty();
        if (one_time && job.next_slot == 0) {
            throw Conflict("one-time job " + name + " has already run: create another job, or update its start");
        }
        JobRun run;
        run.job = name;
        run.reason = "RUN_NOW";
        run.message = "run now by " + by;
        run.slot = one_time ? job.next_slot : now;
        if (one_time) {
            job.next_slot = 0;  // run-now consumes a one-time job's run
        }
        wr = fire(job, run, {}, now, true, on_accept);
        e.job = job;
        reindex(e);
    }
    notify();
    return *wr;
}

JobView JobService::show(const std::string& name, int n) {
    std::lock_guard lock(mutex_);
    return view(entry(name).job, n);
}

std::vector<JobView> JobService::list(const JobFilter& filter) {
    std::vector<StoredJob> page = store_.job_queries().list_jobs(filter);
    std::lock_guard lock(mutex_);
    std::vector<JobView> out;
    for (const auto& job : page) {
        out.push_back(view(job, 1));
    }
    return out;
}

std::vector<JobRun> JobService::runs(const std::string& name, std::int64_t before_id, int limit) {
    bool exists = false;
    {
        std::lock_guard lock(mutex_);
        exists = jobs_.contains(name);
    }
    auto out = store_.job_queries().job_runs(name, before_id, limit);
    if (!exists && out.empty() && store_.job_queries().job_runs(name, 0, 1).empty()) {
        std::lock_guard lock(mutex_);
        entry(name);  // throws NotFound
    }
    return out;
}

std::optional<std::int64_t> JobService::next_due() {
    std::lock_guard lock(mutex_);
    const std::int64_t now = clock_.now_seconds();
    const bool holding = now < hold_until_;
    std::optional<std::int64_t> out;
    if (!due_.empty()) {
        out = holding && due_.begin()->first < loaded_at_ ? hold_until_ : due_.begin()->first;
        if (holding) {
            auto after = due_.lower_bound(loaded_at_);
            if (after != due_.end()) {
                out = std::min(*out, after->first);
            }
        }
    }
    if (!queued_.empty()) {
        const std::int64_t soon = holding ? hold_until_ : now + 1;
        out = out ? std::min(*out, soon) : soon;
    }
    return out;
}

void JobService::run_due() {
    {
        std::lock_guard lock(mutex_);
        const std::int64_t now = clock_.now_seconds();
        if (now < hold_until_) {
            // Only slots after the start: the missed ones wait for the agents.
            for (auto it = due_.lower_bound(loaded_at_); it != due_.end() && it->first <= now;
                 it = due_.lower_bound(loaded_at_)) {
                handle_due(jobs_.at(it->second), now);
            }
            return;
        }
        for (auto it = queued_.begin(); it != queued_.end();) {
            Entry& e = jobs_.at(*it++);
            if (unfinished(e.job.last_work_request)) {
                continue;
            }
            auto queued = store_.job_queries().job_run(e.job.queued_run);
            StoredJob job = e.job;
            job.queued_run = 0;
            if (queued) {
                JobRun run = *queued;
                run.reason = "QUEUED";
                run.message = "queued behind work request " + std::to_string(e.job.last_work_request);
                fire(job, run, {}, now, false);
            } else {
                write_rows(job, {});
            }
            e.job = job;
            reindex(e);
        }
        while (!due_.empty() && due_.begin()->first <= now) {
            handle_due(jobs_.at(due_.begin()->second), now);
        }
    }
}

void JobService::handle_due(Entry& e, std::int64_t now) {
    StoredJob job = e.job;
    std::vector<std::int64_t> slots{job.next_slot};
    std::optional<Recurrence::Slot> after;
    try {
        // One pass from the anchor: the due slots, then the next one.
        const Recurrence rec(job.start, job.rule, job.time_zone, Recurrence::Anchor{job.anchor_local, job.anchor_index});
        const auto more = rec.slots_until(job.next_slot, now, MAX_SLOTS_PER_PASS);
        for (const auto& s : more) {
            if (s.utc <= now) {
                slots.push_back(s.utc);
            } else {
                after = s;
            }
        }
        if (!after && std::ssize(more) == MAX_SLOTS_PER_PASS) {
            after = more.back();  // more than a pass can take: the rest in the next pass
            slots.pop_back();
        }
    } catch (const ServiceError& err) {
        after.reset();  // its zone left the system's database: this slot is its last
        common::log::error("job " + job.name + ": " + err.what());
    }
    job.next_slot = after ? after->utc : 0;
    job.anchor_local = after ? after->anchor.local : std::string();
    job.anchor_index = after ? after->anchor.index : 0;
    std::vector<JobRun> rows;
    const std::int64_t last = slots.back();
    // A slot missed while the controller was down is as late as it was at the start: the start
    // hold (agents reporting again) is not the slot's lateness.
    const auto lateness = [&](std::int64_t slot) { return (slot < loaded_at_ ? loaded_at_ : now) - slot; };
    const bool late = lateness(last) > policy_.misfire_grace_seconds;
    for (std::int64_t slot : slots) {
        JobRun run;
        run.job = job.name;
        run.slot = slot;
        run.recorded_at = now;
        if (job.paused) {
            run.result = "SKIPPED";
            run.reason = "PAUSED";
            run.message = "the job was paused";
        } else if (job.skip_count > 0) {
            --job.skip_count;
            run.result = "SKIPPED";
            run.reason = "SKIP_NEXT";
            run.message = "skipped with skip-next";
        } else if (slot != last || late) {
            run.result = "MISSED";
            run.reason = "CONTROLLER_DOWN";
            run.message = slot != last && !late
                              ? "the controller was not running at the slot; coalesced into the run of the slot at " +
                                    Recurrence::utc_text(last)
                              : "the controller was not running at the slot, and " +
                                    std::to_string(lateness(slot)) + " s is later than job_misfire_grace_seconds (" +
                                    std::to_string(policy_.misfire_grace_seconds) + " s)";
        } else if (unfinished(job.last_work_request)) {
            if (job.overlap_policy == "QUEUE" && job.queued_run == 0) {
                run.result = "QUEUED";
                run.reason = "OVERLAP";
                run.message = "queued: work request " + std::to_string(job.last_work_request) +
                              " of the previous run has not finished";
            } else {
                run.result = "SKIPPED";
                run.reason = "OVERLAP";
                run.message = "work request " + std::to_string(job.last_work_request) +
                              " of the previous run has not finished" +
                              (job.queued_run != 0 ? " and another slot is already queued" : "");
            }
        } else {
            fire(job, run, rows, now, false);
            e.job = job;
            reindex(e);
            return;
        }
        rows.push_back(run);
    }
    job.revision = e.job.revision + 1;
    job.updated_at = now;
    if (!rows.empty() && rows.back().result == "QUEUED") {
        // The queued row needs its id in the job: written first, in the same transaction.
        JobRun queued = rows.back();
        rows.pop_back();
        store_.write([&](WriteTransaction& tx) {
            for (const auto& r : rows) {
                tx.work().jobs().put_job_run(r);
            }
            job.queued_run = tx.work().jobs().put_job_run(queued);
            tx.work().jobs().put_job(job);
        });
    } else {
        write_rows(job, rows);
    }
    e.job = job;
    reindex(e);
}

}  // namespace patching::controller
