// SPDX-License-Identifier: Apache-2.0
// The subprocess runner: the verdict is the child's exit status, background processes it leaves
// behind neither delay nor spoil it, timeouts kill the whole group, output is capped.
#include <common/subprocess.hpp>

#include "support/test_support.hpp"

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <fstream>
#include <chrono>
#include <string>
#include <thread>

namespace sp = patching::common::subprocess;
using Catch::Contains;
using patching::test::read_file;
using patching::test::TempDir;
using namespace std::chrono_literals;

namespace {

sp::Options sh(const std::string& script) {
    sp::Options o;
    o.argv = {"/bin/sh", "-c", script};
    return o;
}

// Alive: it exists and is not a zombie (an orphan killed here may wait for a PID 1 that never
// reaps it).
bool process_exists(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!std::getline(stat, text)) {
        return false;
    }
    const auto paren = text.rfind(')');
    return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] != 'Z';
}

// Waits up to 5 s for `pid` to be gone (a killed orphan is reaped by init, not by us).
bool eventually_gone(pid_t pid) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (process_exists(pid)) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

pid_t read_pid(const std::filesystem::path& file) {
    return static_cast<pid_t>(std::stol(read_file(file)));
}

}  // namespace

TEST_CASE("run captures output and returns the exit status", "[common][subprocess]") {
    auto ok = sp::run(sh("echo out; echo err >&2; exit 0"));
    CHECK(ok.is_success());
    CHECK(ok.output == "out\nerr\n");
    CHECK(ok.describe_status() == "exit status 0");

    auto failed = sp::run(sh("exit 3"));
    CHECK_FALSE(failed.is_success());
    CHECK(failed.status.exit_code == 3);
    CHECK(failed.describe_status() == "exit status 3");

    auto killed = sp::run(sh("kill -9 $$"));
    CHECK(killed.status.signal == 9);
    CHECK(killed.status.code() == 137);
    CHECK(killed.describe_status() == "killed by signal 9");

    sp::Options separate = sh("echo out; echo err >&2");
    separate.merge_stderr = false;
    auto split = sp::run(separate);
    CHECK(split.output == "out\n");
    CHECK(split.error_output == "err\n");
}

TEST_CASE("Arguments reach the program verbatim: no shell, no splitting, no globbing", "[common][subprocess]") {
    sp::Options o;
    o.argv = {"printf", "%s|", "a b", "*", "$HOME"};
    auto r = sp::run(o);
    CHECK(r.is_success());
    CHECK(r.output == "a b|*|$HOME|");
    auto term = sp::run(sh("kill -TERM $$"));
    CHECK(term.status.signal == 15);
    CHECK(term.describe_status() == "killed by signal 15");
}

TEST_CASE("A background process left holding the output is no timeout", "[common][subprocess]") {
    // The semantic-check bug: `sleep 30 &` keeps the pipe open after the script exits 0.
    TempDir tmp;
    const auto pid_file = tmp / "sleeper.pid";
    auto result = sp::run(
        sh("sleep 30 & echo $! > '" + pid_file.string() + "'; echo started; exit 0"),
        {.timeout = 20s});
    CHECK(result.is_success());
    CHECK_FALSE(result.timed_out);
    CHECK(result.output == "started\n");
    CHECK(result.elapsed < 5s);
    // The sleeper went with the script's process group.
    CHECK(eventually_gone(read_pid(pid_file)));
}

TEST_CASE("OnExit::LEAVE_GROUP lets a restarted service outlive its script", "[common][subprocess]") {
    TempDir tmp;
    const auto pid_file = tmp / "service.pid";
    auto result = sp::run(
        sh("sleep 30 & echo $! > '" + pid_file.string() + "'; echo restarted; exit 0"),
        {.timeout = 20s, .on_exit = sp::Limits::OnExit::LEAVE_GROUP});
    CHECK(result.is_success());
    CHECK(result.output == "restarted\n");
    CHECK(result.elapsed < 5s);
    const pid_t service = read_pid(pid_file);
    CHECK(process_exists(service));
    ::kill(service, SIGKILL);
}

TEST_CASE("A timeout terminates the whole group, then kills it", "[common][subprocess]") {
    TempDir tmp;
    const auto pid_file = tmp / "child.pid";
    SECTION("SIGTERM is enough") {
        auto result = sp::run(
            sh("sleep 60 & echo $! > '" + pid_file.string() + "'; wait"),
            {.timeout = 300ms, .kill_grace = 5s});
        CHECK(result.timed_out);
        CHECK_FALSE(result.is_success());
        CHECK(result.describe_status() == "timed out");
        CHECK(result.elapsed < 4s);
        CHECK(eventually_gone(read_pid(pid_file)));
    }
    SECTION("SIGKILL after the grace period when SIGTERM is ignored") {
        auto result = sp::run(
            sh("trap '' TERM; (trap '' TERM; sleep 60) & echo $! > '" + pid_file.string() +
               "'; while :; do sleep 0.1; done"),
            {.timeout = 300ms, .kill_grace = 500ms});
        CHECK(result.timed_out);
        CHECK(result.status.signal == SIGKILL);
        CHECK(result.elapsed >= 800ms);
        CHECK(result.elapsed < 5s);
        CHECK(eventually_gone(read_pid(pid_file)));
    }
}

TEST_CASE("Output is capped, keeping the head or the tail", "[common][subprocess]") {
    const std::string script = "i=0; while [ $i -lt 1000 ]; do echo line$i; i=$((i+1)); done";
    auto tail = sp::run(sh(script), {.max_output = 100, .keep = sp::Limits::Keep::TAIL});
    CHECK(tail.is_success());
    CHECK(tail.truncated);
    CHECK(tail.output.size() == 100);
    CHECK(tail.output.ends_with("line999\n"));
    auto head = sp::run(sh(script), {.max_output = 100, .keep = sp::Limits::Keep::HEAD});
    CHECK(head.truncated);
    CHECK(head.output.size() == 100);
    CHECK(head.output.starts_with("line0\nline1\n"));
    auto small = sp::run(sh("echo hi"), {.max_output = 100});
    CHECK_FALSE(small.truncated);
}

TEST_CASE("A child that never stops writing still times out", "[common][subprocess]") {
    auto r = sp::run(sh("yes"), {.timeout = 300ms, .kill_grace = 1s, .max_output = 1000});
    CHECK(r.timed_out);
    CHECK(r.truncated);
    CHECK(r.output.size() == 1000);
    CHECK(r.elapsed < 5s);
}

TEST_CASE("Environment, working directory and stdin reach the child", "[common][subprocess]") {
    TempDir tmp;
    sp::Options o = sh("echo \"$GREETING\" \"$(pwd)\"; cat");
    o.extra_environment = {"GREETING=hello"};
    o.cwd = tmp.path();
    o.input = "from stdin\n";
    auto r = sp::run(o);
    CHECK(r.output == "hello " + std::filesystem::canonical(tmp.path()).string() + "\nfrom stdin\n");

    sp::Options clean = sh("echo \"[$HOME]\"");
    clean.environment = std::vector<std::string>{"PATH=/usr/bin:/bin"};
    CHECK(sp::run(clean).output == "[]\n");

    // stdin is /dev/null by default: `cat` ends at once.
    CHECK(sp::run(sh("cat"), {.timeout = 5s}).is_success());
    // A child that does not read a large input does not block or SIGPIPE the caller.
    sp::Options unread = sh("exit 0");
    unread.input = std::string(4U << 20U, 'x');
    CHECK(sp::run(unread, {.timeout = 10s}).is_success());
}

TEST_CASE("A program that cannot start is a SpawnError naming it", "[common][subprocess]") {
    sp::Options missing;
    missing.argv = {"/nonexistent/tool", "x"};
    CHECK_THROWS_WITH(
        sp::run(missing), Contains("cannot run /nonexistent/tool") && Contains("No such file"));
    sp::Options bad_dir = sh("true");
    bad_dir.cwd = "/nonexistent-dir";
    CHECK_THROWS_AS(sp::run(bad_dir), sp::SpawnError);
    TempDir tmp;
    const auto script = tmp / "noshebang";
    patching::test::write_file(script, "echo via sh\n");
    std::filesystem::permissions(script, std::filesystem::perms::owner_all);
    sp::Options plain;
    plain.argv = {script.string()};
    CHECK_THROWS_AS(sp::run(plain), sp::SpawnError);
    plain.shell_fallback = true;
    CHECK(sp::run(plain).output == "via sh\n");
}

TEST_CASE("A Child is killed with its group and reaped when it goes out of scope", "[common][subprocess]") {
    TempDir tmp;
    const auto pid_file = tmp / "grandchild.pid";
    pid_t pid = -1;
    {
        sp::Options o = sh("sleep 60 & echo $! > '" + pid_file.string() + "'; wait");
        o.output = sp::Output::FILE;
        o.output_file = tmp / "log";
        sp::Child child = sp::Child::spawn(o);
        pid = child.pid();
        CHECK_FALSE(child.wait_for(50ms));
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (!std::filesystem::exists(pid_file) || read_file(pid_file).empty()) {
            REQUIRE(std::chrono::steady_clock::now() < deadline);
            std::this_thread::sleep_for(10ms);
        }
        CHECK(child.running());
    }
    // Reaped (not a zombie: kill(pid, 0) fails) and its background sleeper is gone too.
    CHECK(eventually_gone(pid));
    CHECK(eventually_gone(read_pid(pid_file)));

    sp::Options quick = sh("exit 7");
    quick.output = sp::Output::DISCARD;
    sp::Child child = sp::Child::spawn(quick);
    auto status = child.wait_for(5s);
    REQUIRE(status);
    CHECK(status->exit_code == 7);
    CHECK_FALSE(child.running());
}
