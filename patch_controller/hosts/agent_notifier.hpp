// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <mutex>
#include <string>

namespace patching::controller {

/// How services tell agents they have news (agents/AgentApi wakes their held polls). Services
/// call notify() outside every state lock. Thread-safe.
class AgentNotifier {
public:
    /// `wake` receives a host name, or "" for every agent; nullptr disconnects.
    void set(std::function<void(const std::string&)> wake) {
        std::lock_guard lock(mutex_);
        wake_ = std::move(wake);
    }
    void notify(const std::string& hostname) const {
        std::function<void(const std::string&)> wake;
        {
            std::lock_guard lock(mutex_);
            wake = wake_;
        }
        if (wake) {
            wake(hostname);
        }
    }

private:
    mutable std::mutex mutex_;
    std::function<void(const std::string&)> wake_;
};

}  // namespace patching::controller
