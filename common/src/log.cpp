// SPDX-License-Identifier: Apache-2.0
#include <common/log.hpp>

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <mutex>

namespace patching::common::log {

namespace {

std::mutex& program_mutex() {
    static std::mutex m;
    return m;
}

std::string& program_name() {
    static std::string name = "patching";
    return name;
}

Level level_from_environment() {
    const char* value = std::getenv("PATCHING_LOG_LEVEL");
    const std::string_view v = value != nullptr ? value : "";
    if (v == "debug") {
        return Level::DEBUG;
    }
    if (v == "warning") {
        return Level::WARNING;
    }
    if (v == "error") {
        return Level::ERROR;
    }
    return Level::INFO;
}

std::atomic<Level>& threshold() {
    static std::atomic<Level> level{level_from_environment()};
    return level;
}

std::string_view level_tag(Level level) {
    switch (level) {
        case Level::DEBUG:
            return "debug: ";
        case Level::WARNING:
            return "warning: ";
        case Level::ERROR:
            return "error: ";
        case Level::INFO:
            break;
    }
    return "";
}

}  // namespace

void set_program(std::string program) {
    std::lock_guard lock(program_mutex());
    program_name() = std::move(program);
}

void set_level(Level level) {
    threshold().store(level);
}

bool is_enabled(Level level) {
    return level >= threshold().load();
}

namespace {

// One line, one write(2): lines of concurrent threads never interleave.
void emit(std::string line, Level level, std::string_view message) noexcept {
    try {
        line += ": ";
        line += level_tag(level);
        line += message;
        line += '\n';
        for (std::size_t done = 0; done < line.size();) {
            const ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                return;
            }
            done += static_cast<std::size_t>(n);
        }
    } catch (...) {
        // Out of memory while logging: the line is lost, the caller carries on.
    }
}

}  // namespace

void write(Level level, std::string_view message) noexcept {
    if (!is_enabled(level)) {
        return;
    }
    try {
        std::string program;
        {
            std::lock_guard lock(program_mutex());
            program = program_name();
        }
        emit(std::move(program), level, message);
    } catch (...) {
        // Out of memory while logging: the line is lost.
    }
}

void Logger::write(Level level, std::string_view message) const noexcept {
    if (!is_enabled(level)) {
        return;
    }
    try {
        emit(program_, level, message);
    } catch (...) {
        // Out of memory while logging: the line is lost.
    }
}

}  // namespace patching::common::log
