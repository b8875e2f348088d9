// SPDX-License-Identifier: Apache-2.0
#include <controller/repo/subprocess.hpp>
#include <patch_core/errors.hpp>

#include <catch2/catch.hpp>

#include <chrono>

using namespace std::chrono_literals;
using patching::controller::run_process;

TEST_CASE("run_process captures output and exit status without a shell", "[repo]") {
    auto r = run_process({"sh", "-c", "echo out; echo err >&2; exit 3"}, 10s);
    CHECK_FALSE(r.is_success());
    CHECK(r.exit_code == 3);
    CHECK(r.signal == 0);
    CHECK_FALSE(r.timed_out);
    CHECK(r.output.find("out\n") != std::string::npos);
    CHECK(r.output.find("err\n") != std::string::npos);
    CHECK(r.describe_status() == "exit status 3");

    // Arguments reach the program verbatim: no word splitting, no globbing.
    r = run_process({"printf", "%s|", "a b", "*", "$HOME"}, 10s);
    CHECK(r.is_success());
    CHECK(r.output == "a b|*|$HOME|");
}

TEST_CASE("run_process keeps only the tail of long output", "[repo]") {
    auto r =
        run_process({"sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x; echo END"}, 10s, 1000);
    CHECK(r.is_success());
    CHECK(r.output.size() == 1000);
    CHECK(r.output.ends_with("END\n"));
}

TEST_CASE("run_process kills a child that runs past the timeout", "[repo]") {
    auto start = std::chrono::steady_clock::now();
    // The grandchild keeps the pipe open: the whole process group must go.
    auto r = run_process({"sh", "-c", "sleep 30 & sleep 30"}, 300ms);
    CHECK(r.timed_out);
    CHECK_FALSE(r.is_success());
    CHECK(std::chrono::steady_clock::now() - start < 10s);
}

TEST_CASE("run_process reports a program that cannot be executed", "[repo]") {
    CHECK_THROWS_WITH(
        run_process({"/nonexistent/createrepo_c", "--version"}, 10s),
        Catch::Contains("cannot run /nonexistent/createrepo_c") && Catch::Contains("No such file"));
    auto r = run_process({"sh", "-c", "kill -TERM $$"}, 10s);
    CHECK(r.signal == 15);
    CHECK(r.describe_status() == "killed by signal 15");
}
