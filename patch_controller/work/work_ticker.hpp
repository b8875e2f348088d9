// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "work/work_engine.hpp"

#include <common/log.hpp>
#include <patch_core/errors.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace patching::controller {

/// The daemon's thread that drives WorkEngine::tick() every `interval` until destroyed. A
/// failing tick (a store error) is logged and retried at the next interval.
class WorkTicker {
public:
    WorkTicker(WorkEngine& engine, std::chrono::milliseconds interval)
        : engine_(engine), interval_(interval), thread_([this] { run(); }) {}
    ~WorkTicker() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        wake_.notify_all();
        thread_.join();
    }
    WorkTicker(const WorkTicker&) = delete;
    WorkTicker& operator=(const WorkTicker&) = delete;

private:
    void run() {
        std::unique_lock lock(mutex_);
        while (!stop_) {
            lock.unlock();
            try {
                engine_.tick();
            } catch (const std::exception& e) {
                common::log::error("work requests: " + core::format_error_chain(e));
            }
            lock.lock();
            wake_.wait_for(lock, interval_, [this] { return stop_; });
        }
    }

    WorkEngine& engine_;
    std::chrono::milliseconds interval_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace patching::controller
