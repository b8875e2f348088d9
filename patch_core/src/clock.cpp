// SPDX-License-Identifier: Apache-2.0
#include <patch_core/clock.hpp>

#include <common/log.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

#ifndef PATCHING_TEST_CLOCK
#define PATCHING_TEST_CLOCK 0
#endif

namespace patching::core {

const Clock& SystemClock::instance() {
    static const SystemClock clock;
    return clock;
}

FileClock::FileClock(std::filesystem::path file, std::chrono::milliseconds poll)
    : file_(std::move(file)), poll_(poll) {
    refresh(std::chrono::steady_clock::now());
}

void FileClock::refresh(std::chrono::steady_clock::time_point real_now) const {
    std::lock_guard lock(mutex_);
    if (checked_ != std::chrono::steady_clock::time_point{} && real_now - checked_ < poll_) {
        return;
    }
    checked_ = real_now;
    std::ifstream in(file_);
    std::stringstream text;
    if (in) {
        text << in.rdbuf();
    }
    std::string content = text.str();
    while (!content.empty() && (content.back() == '\n' || content.back() == ' ' || content.back() == '\r')) {
        content.pop_back();
    }
    if (content == content_) {
        return;
    }
    content_ = content;
    if (content.empty()) {
        offset_ = 0;
        return;
    }
    try {
        std::size_t used = 0;
        const double seconds = std::stod(content, &used);
        if (used != content.size() || seconds < 0) {
            throw std::invalid_argument(content);
        }
        const auto target = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
        offset_ = (target - std::chrono::system_clock::now().time_since_epoch()).count();
    } catch (const std::exception&) {
        common::log::warning("clock file " + file_.string() + " holds \"" + content +
                             "\", not seconds since the epoch: ignored (write e.g. 1700000000)");
    }
}

FileClock::TimePoint FileClock::now() const {
    refresh(std::chrono::steady_clock::now());
    return std::chrono::system_clock::now() + Duration(offset_.load());
}

bool test_clock_compiled_in() {
    return PATCHING_TEST_CLOCK != 0;
}

const Clock& process_clock() {
#if PATCHING_TEST_CLOCK
    static const Clock* const clock = []() -> const Clock* {
        const char* file = std::getenv(CLOCK_FILE_ENV);
        if (file == nullptr || *file == '\0') {
            return &SystemClock::instance();
        }
        common::log::info(std::string("clock: following ") + file + " (" + CLOCK_FILE_ENV + ", a test build)");
        return new FileClock(file);  // lives as long as the process: threads may read it at exit
    }();
    return *clock;
#else
    return SystemClock::instance();
#endif
}

}  // namespace patching::core
