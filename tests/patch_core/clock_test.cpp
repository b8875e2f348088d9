// SPDX-License-Identifier: Apache-2.0
// The one clock (issue #9 item 6): waiters wake at clock time, not real time, and re-evaluate
// when the clock jumps; a FileClock follows the file a test writes.
#include "support/test_support.hpp"

#include <patch_core/clock.hpp>
#include <patch_core/fs.hpp>

#include <catch2/catch.hpp>

#include <future>
#include <thread>

using namespace patching;
using namespace std::chrono_literals;

TEST_CASE("a waiter on a ManualClock wakes when the clock passes its deadline", "[clock]") {
    core::ManualClock clock(1000);
    std::mutex mutex;
    std::condition_variable cv;
    const auto deadline = clock.now() + 3600s;  // an hour of clock time
    auto waiter = std::async(std::launch::async, [&] {
        std::unique_lock lock(mutex);
        return clock.wait_until(lock, cv, deadline, [] { return false; });
    });
    CHECK(waiter.wait_for(100ms) == std::future_status::timeout);
    clock.advance(1800);
    CHECK(waiter.wait_for(100ms) == std::future_status::timeout);  // half way: still waiting
    const auto real = std::chrono::steady_clock::now();
    clock.advance(1801);
    REQUIRE(waiter.wait_for(2s) == std::future_status::ready);
    CHECK_FALSE(waiter.get());  // the deadline came, not the predicate
    CHECK(std::chrono::steady_clock::now() - real < 1s);
    CHECK(clock.now_seconds() == 4601);
}

TEST_CASE("a notify wakes a clock waiter whose predicate now holds", "[clock]") {
    core::ManualClock clock;
    std::mutex mutex;
    std::condition_variable cv;
    bool ready = false;
    auto waiter = std::async(std::launch::async, [&] {
        std::unique_lock lock(mutex);
        return clock.wait_for(lock, cv, 24h, [&] { return ready; });
    });
    {
        std::lock_guard lock(mutex);
        ready = true;
    }
    cv.notify_all();
    REQUIRE(waiter.wait_for(2s) == std::future_status::ready);
    CHECK(waiter.get());
}

TEST_CASE("the system clock waits in real time", "[clock]") {
    const core::Clock& clock = core::SystemClock::instance();
    std::mutex mutex;
    std::condition_variable cv;
    std::unique_lock lock(mutex);
    const auto start = std::chrono::steady_clock::now();
    CHECK_FALSE(clock.wait_for(lock, cv, 50ms, [] { return false; }));
    CHECK(std::chrono::steady_clock::now() - start >= 50ms);
}

TEST_CASE("a FileClock jumps to the time its file holds and runs on from there", "[clock]") {
    test::TempDir dir;
    const auto file = dir / "clock";
    core::FileClock clock(file, 20ms);
    // No file: real time.
    const auto real = std::chrono::system_clock::now();
    CHECK(std::chrono::abs(clock.now() - real) < 2s);

    core::write_file_atomically(file, "2000000000\n");
    std::this_thread::sleep_for(60ms);
    CHECK(clock.now_seconds() >= 2000000000);
    CHECK(clock.now_seconds() <= 2000000001);

    // A waiter for a deadline an hour ahead wakes when the file moves the clock past it.
    std::mutex mutex;
    std::condition_variable cv;
    const auto deadline = clock.now() + 1h;
    auto waiter = std::async(std::launch::async, [&] {
        std::unique_lock lock(mutex);
        return clock.wait_until(lock, cv, deadline, [] { return false; });
    });
    CHECK(waiter.wait_for(100ms) == std::future_status::timeout);
    core::write_file_atomically(file, "2000003601.5");
    REQUIRE(waiter.wait_for(2s) == std::future_status::ready);
    CHECK(clock.now_seconds() >= 2000003601);

    // Garbage is ignored (the clock keeps its offset); an empty file means real time again.
    core::write_file_atomically(file, "next tuesday");
    std::this_thread::sleep_for(60ms);
    CHECK(clock.now_seconds() >= 2000003601);
    core::write_file_atomically(file, "");
    std::this_thread::sleep_for(60ms);
    CHECK(std::chrono::abs(clock.now() - std::chrono::system_clock::now()) < 2s);
}

TEST_CASE("process_clock follows PATCHING_CLOCK_FILE only in test builds", "[clock]") {
    // This binary is a test build: the option is compiled in (builds for users never read it).
    CHECK(core::test_clock_compiled_in());
    CHECK(core::process_clock().now_seconds() > 1'600'000'000);
}
