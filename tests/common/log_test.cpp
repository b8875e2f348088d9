// SPDX-License-Identifier: Apache-2.0
// The logger's line format and level threshold, read back from a redirected stderr.
#include <common/log.hpp>

#include "support/test_support.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <string>

namespace clog = patching::common::log;
using patching::test::read_file;
using patching::test::TempDir;

TEST_CASE("Log lines are '<program>: [level: ]message', below the threshold dropped", "[common][log]") {
    TempDir tmp;
    const auto file = tmp / "stderr";
    const int saved = ::dup(STDERR_FILENO);
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    ::dup2(fd, STDERR_FILENO);
    ::close(fd);
    clog::set_program("prog[h1]");
    clog::set_level(clog::Level::INFO);
    clog::info("started");
    clog::debug("hidden");
    clog::warning("disk almost full");
    clog::error("cannot bind");
    clog::set_level(clog::Level::DEBUG);
    clog::debug("shown");
    clog::set_level(clog::Level::INFO);
    clog::set_program("patching");
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    CHECK(
        read_file(file) ==
        "prog[h1]: started\nprog[h1]: warning: disk almost full\nprog[h1]: error: cannot bind\n"
        "prog[h1]: debug: shown\n");
}

TEST_CASE("Under systemd's journal stream each line carries its syslog priority", "[common][log]") {
    TempDir tmp;
    const auto file = tmp / "journal";
    const int saved = ::dup(STDERR_FILENO);
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    struct stat st {};
    REQUIRE(::fstat(fd, &st) == 0);
    ::dup2(fd, STDERR_FILENO);
    ::close(fd);
    // What systemd sets when stdout/stderr are connected to the journal: "device:inode".
    const std::string stream = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    ::setenv("JOURNAL_STREAM", stream.c_str(), 1);
    clog::set_program("patch-agent[h1]");
    clog::info("running");
    clog::warning("controller unreachable");
    clog::error("install failed");
    // Another stream (the journal's variable inherited by a process whose stderr is elsewhere).
    ::setenv("JOURNAL_STREAM", "1:1", 1);
    clog::info("not the journal");
    ::unsetenv("JOURNAL_STREAM");
    clog::set_program("patching");
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    CHECK(read_file(file) ==
          "<6>patch-agent[h1]: running\n<4>patch-agent[h1]: warning: controller unreachable\n"
          "<3>patch-agent[h1]: error: install failed\npatch-agent[h1]: not the journal\n");
}
