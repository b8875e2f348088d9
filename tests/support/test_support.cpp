// SPDX-License-Identifier: Apache-2.0
#include "support/test_support.hpp"

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
    std::string full = "( " + command + " ) 2>&1";
    FILE* pipe = ::popen(full.c_str(), "r");
    if (pipe == nullptr) {
        throw std::runtime_error("popen failed: " + command);
    }
    std::array<char, 4096> buf{};
    std::string collected;
    size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) {
        collected.append(buf.data(), n);
    }
    int status = ::pclose(pipe);
    if (output != nullptr) {
        *output = collected;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
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
