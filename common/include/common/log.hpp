// SPDX-License-Identifier: Apache-2.0
// The daemons' and tools' one logger: a line on stderr, "<program>: [<level>: ]<message>".
#pragma once

#include <string>
#include <string_view>

namespace patching::common::log {

/// Severity; lines below the threshold (set_level, or PATCHING_LOG_LEVEL=debug|info|warning|error
/// in the environment) are dropped.
enum class Level { DEBUG, INFO, WARNING, ERROR };

/// Sets the prefix of every line (e.g. "patch-controller", "patch-agent[host-1]"). Thread-safe;
/// usually called once from main. The default is "patching".
void set_program(std::string program);
/// Sets the lowest level written. Thread-safe.
void set_level(Level level);
/// Whether a line of `level` would be written.
bool is_enabled(Level level);

/// Writes "<program>: <message>" (INFO), "<program>: debug: ...", "<program>: warning: ...",
/// or "<program>: error: ..." as one write, so lines of concurrent threads never interleave.
/// Never throws.
void write(Level level, std::string_view message) noexcept;

/// A logger with its own prefix (e.g. one agent of several in a test process); same format and
/// threshold as the free functions.
class Logger {
public:
    explicit Logger(std::string program) : program_(std::move(program)) {}
    void write(Level level, std::string_view message) const noexcept;
    void debug(std::string_view message) const noexcept { write(Level::DEBUG, message); }
    void info(std::string_view message) const noexcept { write(Level::INFO, message); }
    void warning(std::string_view message) const noexcept { write(Level::WARNING, message); }
    void error(std::string_view message) const noexcept { write(Level::ERROR, message); }

private:
    std::string program_;
};

inline void debug(std::string_view message) noexcept { write(Level::DEBUG, message); }
inline void info(std::string_view message) noexcept { write(Level::INFO, message); }
inline void warning(std::string_view message) noexcept { write(Level::WARNING, message); }
inline void error(std::string_view message) noexcept { write(Level::ERROR, message); }

}  // namespace patching::common::log
