// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "hosts/host_admin.hpp"

#include <common/log.hpp>
#include <patch_core/errors.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace patching::controller {

/// The daemon's thread that keeps the controller's own host alarms in step with the host table
/// (HostAdmin::audit) every `interval` until destroyed. A failing audit is logged and retried.
class HostMonitor {
public:
    HostMonitor(HostAdmin& admin, std::chrono::milliseconds interval)
        : admin_(admin), interval_(interval), thread_([this] { run(); }) {}
    ~HostMonitor() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        wake_.notify_all();
        thread_.join();
    }
    HostMonitor(const HostMonitor&) = delete;
    HostMonitor& operator=(const HostMonitor&) = delete;

private:
    void run() {
        std::unique_lock lock(mutex_);
        while (!stop_) {
            lock.unlock();
            try {
                admin_.audit();
            } catch (const std::exception& e) {
                common::log::error("host audit: " + core::format_error_chain(e));
            }
            lock.lock();
            wake_.wait_for(lock, interval_, [this] { return stop_; });
        }
    }

    HostAdmin& admin_;
    std::chrono::milliseconds interval_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace patching::controller
