// SPDX-License-Identifier: Apache-2.0
// The logger's line format and level threshold, read back from a redirected stderr.
#include <common/log.hpp>

#include "support/test_support.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <string>

namespace log = patching::common::log;
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
    log::set_program("prog[h1]");
    log::set_level(log::Level::INFO);
    log::info("started");
    log::debug("hidden");
    log::warning("disk almost full");
    log::error("cannot bind");
    log::set_level(log::Level::DEBUG);
    log::debug("shown");
    log::set_level(log::Level::INFO);
    log::set_program("patching");
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    CHECK(
        read_file(file) ==
        "prog[h1]: started\nprog[h1]: warning: disk almost full\nprog[h1]: error: cannot bind\n"
        "prog[h1]: debug: shown\n");
}
