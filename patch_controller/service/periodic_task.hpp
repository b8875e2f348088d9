// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <common/log.hpp>
#include <patch_core/errors.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace patching::controller {

/// A daemon thread that runs `task` every `interval` until destroyed (the work engine's tick,
/// the host audit). A failing run (a store error, say) is logged under `name` and tried again at
/// the next interval. The destructor wakes the thread and waits for the run in progress.
class PeriodicTask {
public:
    PeriodicTask(std::string name, std::function<void()> task, std::chrono::milliseconds interval)
        : name_(std::move(name)), task_(std::move(task)), interval_(interval), thread_([this] { run(); }) {}
    ~PeriodicTask() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        wake_.notify_all();
        thread_.join();
    }
    PeriodicTask(const PeriodicTask&) = delete;
    PeriodicTask& operator=(const PeriodicTask&) = delete;

private:
    void run() {
        std::unique_lock lock(mutex_);
        while (!stop_) {
            lock.unlock();
            try {
                task_();
            } catch (const std::exception& e) {
                common::log::error(name_ + ": " + core::format_error_chain(e));
            }
            lock.lock();
            wake_.wait_for(lock, interval_, [this] { return stop_; });
        }
    }

    std::string name_;
    std::function<void()> task_;
    std::chrono::milliseconds interval_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread thread_;  ///< Last: starts once everything above is ready.
};

}  // namespace patching::controller
