// SPDX-License-Identifier: Apache-2.0
#include "support/test_support.hpp"

#include <common/subprocess.hpp>
#include <common/text.hpp>

#include <sys/wait.h>

#include <catch2/catch.hpp>

#include <array>
#include <cerrno>
#include <thread>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace patching::test {

std::filesystem::path fixtures_dir() {
    if (const char* env = std::getenv("PATCHING_FIXTURES_DIR")) {
        return env;
    }
    return PATCHING_FIXTURES_DIR;
}

std::filesystem::path binary_dir() { return PATCHING_BINARY_DIR; }

TempDir::TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "patching-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed for " + tmpl);
    }
    path_ = tmpl;
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read " + path.string());
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_file(const std::filesystem::path& path, const std::string& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << data;
    if (!out) {
        throw std::runtime_error("cannot write " + path.string());
    }
}

int run_command(const std::string& command, std::string* output) {
    common::subprocess::Options options;
    options.argv = {"/bin/sh", "-c", command};
    options.inherit_stdin = true;
    // What the command starts in the background (a daemon) outlives it, as with popen().
    const auto result = common::subprocess::run(
        std::move(options), {.timeout = std::chrono::hours(1),
                             .max_output = 256U << 20U,
                             .on_exit = common::subprocess::Limits::OnExit::LEAVE_GROUP});
    if (output != nullptr) {
        *output = result.output;
    }
    return result.status.code();
}

std::string shell_quote(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

std::string trim(std::string_view text) {
    return std::string(common::trim(text));
}

void skip_test(const std::string& reason) {
    WARN("SKIPPED: " << reason);
}

std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        if (r < 0 && errno != EINTR) {
            return -1;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

}  // namespace patching::test
