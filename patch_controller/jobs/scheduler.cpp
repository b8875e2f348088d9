// SPDX-License-Identifier: Apache-2.0
#include "jobs/scheduler.hpp"

#include <common/log.hpp>
#include <patch_core/errors.hpp>

namespace patching::controller {

Scheduler::Scheduler(JobService& jobs, const core::Clock& clock) : jobs_(jobs), clock_(clock) {
    jobs_.set_on_change([this] { wake(); });
    thread_ = std::thread([this] { run(); });
}

Scheduler::~Scheduler() {
    jobs_.set_on_change(nullptr);
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

std::uint64_t Scheduler::passes() const {
    std::lock_guard lock(mutex_);
    return passes_;
}

void Scheduler::wake() {
    {
        std::lock_guard lock(mutex_);
        changed_ = true;
    }
    cv_.notify_all();
}

void Scheduler::run() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
        changed_ = false;
        ++passes_;
        lock.unlock();
        std::optional<std::int64_t> due;
        bool failed = false;
        try {
            jobs_.run_due();
            due = jobs_.next_due();
        } catch (const std::exception& e) {
            common::log::error("scheduled jobs: " + core::format_error_chain(e));
            failed = true;
        }
        lock.lock();
        const auto now = clock_.now();
        core::Clock::TimePoint deadline =
            due ? core::Clock::TimePoint(std::chrono::seconds(*due)) : now + std::chrono::hours(24);
        if (failed) {
            deadline = now + std::chrono::seconds(1);
        }
        clock_.wait_until(lock, cv_, deadline, [this] { return stop_ || changed_; });
    }
}

}  // namespace patching::controller
