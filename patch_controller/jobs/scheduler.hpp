// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "jobs/job_service.hpp"

#include <patch_core/clock.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>

namespace patching::controller {

/// The daemon's thread that fires jobs: it waits on the clock until the earliest slot of any job
/// (JobService::next_due()) or until the jobs change, then calls JobService::run_due(). With no
/// slot due it does no work at all (the clock's wait notices a jump of the clock within its
/// max_sleep()). A failing pass (a store error) is logged and retried a second later.
class Scheduler {
public:
    Scheduler(JobService& jobs, const core::Clock& clock);
    ~Scheduler();
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    /// How many passes run_due() has made (tests, benchmarks).
    std::uint64_t passes() const;

private:
    void run();
    void wake();

    JobService& jobs_;
    const core::Clock& clock_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    bool stop_ = false;
    bool changed_ = false;
    std::uint64_t passes_ = 0;
    std::thread thread_;
};

}  // namespace patching::controller
