// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace patching::test {

/// ../shared/fixtures (the reference-built patches, keys and RPMs).
std::filesystem::path fixtures_dir();
/// The CMake build directory (where the tools are built).
std::filesystem::path binary_dir();

/// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

/// Reads a whole (small) file. Throws std::runtime_error if it cannot.
std::string read_file(const std::filesystem::path& path);
/// Writes a whole file, replacing it.
void write_file(const std::filesystem::path& path, const std::string& data);

/// Runs a shell command, returns its exit status (128 + signal if killed); stdout+stderr are
/// captured into `output`. What it starts in the background keeps running.
int run_command(const std::string& command, std::string* output = nullptr);
/// `text` in single quotes for /bin/sh.
std::string shell_quote(const std::string& text);
/// `text` without leading and trailing whitespace.
std::string trim(std::string_view text);

/// Reports the running test case as skipped: prints "SKIPPED: <reason>", which CTest's
/// SKIP_REGULAR_EXPRESSION (set for every suite in tests/CMakeLists.txt) turns into a "Skipped"
/// result instead of a pass. The caller then returns. CI fails when anything is skipped.
void skip_test(const std::string& reason);

/// Reaps child `pid` if it exits within `timeout`: its exit code (128 + signal if killed), -1 if
/// it is not our child, nullopt if it still runs.
std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds timeout);

}  // namespace patching::test
