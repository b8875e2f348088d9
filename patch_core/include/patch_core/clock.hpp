// SPDX-License-Identifier: Apache-2.0
#pragma once

// One clock for the controller and the agent: everything that reads the time (stale detection,
// timeouts, polls, timers, records) reads it from a Clock, so unit tests run at a fixed time
// (ManualClock) and end-to-end tests move a daemon's time from outside (FileClock, test builds).
// Durations measured for logs and benchmarks (how long a step took) use steady_clock directly:
// they are measurements, not behaviour.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>

namespace patching::core {

/// A source of wall time with a way to wait for it. Implementations are thread-safe.
class Clock {
public:
    using TimePoint = std::chrono::system_clock::time_point;
    using Duration = std::chrono::system_clock::duration;

    virtual ~Clock() = default;

    /// The current time (wall time: what records and the protocol carry).
    virtual TimePoint now() const = 0;
    /// now() in whole seconds since the Unix epoch.
    std::int64_t now_seconds() const {
        return std::chrono::duration_cast<std::chrono::seconds>(now().time_since_epoch()).count();
    }

    /// The longest real time a waiter sleeps between two looks at this clock: a jump of the
    /// clock (set(), a new clock file, an NTP step) is seen by every waiter within it.
    virtual std::chrono::milliseconds max_sleep() const = 0;

    /// Waits on `cv` (with `lock` held, as std::condition_variable::wait does) until `pred()`
    /// holds or this clock reaches `deadline`, whichever is first; a notify on `cv` makes it
    /// look again at once, a jump of the clock within max_sleep(). Returns pred().
    template <class Predicate>
    bool wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, TimePoint deadline,
                    Predicate pred) const {
        while (!pred()) {
            const TimePoint t = now();
            if (t >= deadline) {
                return pred();
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - t) +
                              std::chrono::milliseconds(1);
            cv.wait_for(lock, std::min(left, max_sleep()));
        }
        return true;
    }
    /// wait_until(now() + d).
    template <class Predicate>
    bool wait_for(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, Duration d,
                  Predicate pred) const {
        return wait_until(lock, cv, now() + d, std::move(pred));
    }
};

/// The system's wall clock.
class SystemClock final : public Clock {
public:
    TimePoint now() const override { return std::chrono::system_clock::now(); }
    std::chrono::milliseconds max_sleep() const override { return std::chrono::milliseconds(1000); }
    /// One shared instance (it has no state).
    static const Clock& instance();
};

/// A clock that moves only when told (unit tests). Waiters notice a move within 10 ms.
class ManualClock final : public Clock {
public:
    explicit ManualClock(std::int64_t start_seconds = 1'700'000'000) { set(start_seconds); }
    TimePoint now() const override { return TimePoint(Duration(now_.load())); }
    std::chrono::milliseconds max_sleep() const override { return std::chrono::milliseconds(10); }
    void set(std::int64_t seconds) {
        now_ = std::chrono::duration_cast<Duration>(std::chrono::seconds(seconds)).count();
    }
    void advance(std::int64_t seconds) { advance(std::chrono::seconds(seconds)); }
    void advance(Duration d) { now_ += d.count(); }

private:
    std::atomic<Duration::rep> now_{0};
};

/// Test builds only: a clock that follows a file. The file holds a time in seconds since the
/// epoch (decimal, optionally with a fraction); when its content changes, the clock jumps to
/// that time and runs on at real speed from there. No file (or an empty one) means real time.
/// The file is looked at on the first now() after `poll` has passed, so a change is seen
/// within `poll` by readers and within max_sleep() (= poll) by waiters. A file that cannot be
/// parsed is reported once on stderr and ignored (the clock keeps its last offset).
class FileClock final : public Clock {
public:
    explicit FileClock(std::filesystem::path file, std::chrono::milliseconds poll = std::chrono::milliseconds(50));
    TimePoint now() const override;
    std::chrono::milliseconds max_sleep() const override { return poll_; }
    const std::filesystem::path& file() const { return file_; }

private:
    void refresh(std::chrono::steady_clock::time_point real_now) const;

    std::filesystem::path file_;
    std::chrono::milliseconds poll_;
    mutable std::mutex mutex_;
    mutable std::chrono::steady_clock::time_point checked_{};
    mutable std::string content_;
    mutable std::atomic<Duration::rep> offset_{0};  ///< Added to the system clock.
};

/// The environment variable naming a FileClock's file (test builds only, see process_clock()).
inline constexpr const char* CLOCK_FILE_ENV = "PATCHING_CLOCK_FILE";

/// The clock a daemon runs on: the system clock; in test builds (PATCHING_TEST_CLOCK, on with
/// PATCHING_BUILD_TESTS), a FileClock when the environment variable PATCHING_CLOCK_FILE names
/// a file path. Builds for users never read the variable. One instance per process.
const Clock& process_clock();

/// True in builds where process_clock() honours PATCHING_CLOCK_FILE.
bool test_clock_compiled_in();

}  // namespace patching::core
