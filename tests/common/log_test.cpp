// SPDX-License-Identifier: Apache-2.0
// The logger's line format and level threshold, read back from a redirected stderr.
#include <common/log.hpp>

#include "support/test_support.hpp"

#include <fcntl.h>
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
