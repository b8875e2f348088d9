// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace patching::controller {

/// The controller's time source: services read wall time only through it, so unit tests run
/// them at a fixed time. Implementations are thread-safe.
class Clock {
public:
    virtual ~Clock() = default;
    /// Seconds since the Unix epoch.
    virtual std::int64_t now_seconds() const = 0;
};

/// The real clock.
class SystemClock final : public Clock {
public:
    std::int64_t now_seconds() const override {
        return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    }
    /// One shared instance (it has no state).
    static const Clock& instance() {
        static const SystemClock clock;
        return clock;
    }
};

/// A clock that moves only when told (tests).
class ManualClock final : public Clock {
public:
    explicit ManualClock(std::int64_t start = 1'700'000'000) : now_(start) {}
    std::int64_t now_seconds() const override { return now_.load(); }
    void set(std::int64_t seconds) { now_ = seconds; }
    void advance(std::int64_t seconds) { now_ += seconds; }

private:
    std::atomic<std::int64_t> now_;
};

}  // namespace patching::controller
