// SPDX-License-Identifier: Apache-2.0
// The agent's hook runner (issue #14): which hooks may run, exit codes, timeouts, bounded output.
#include "agent_config.hpp"
#include "hooks/hook_runner.hpp"

#include "support/test_support.hpp"

#include <common/c_handles.hpp>
#include <common/subprocess.hpp>
#include <patch_core/messages.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

using namespace patching;
using namespace patching::agent;
namespace fs = std::filesystem;

namespace {

void hook(const fs::path& dir, const std::string& phase, const std::string& body,
          fs::perms perms = fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec) {
    fs::create_directories(dir);
    test::write_file(dir / phase, "#!/bin/sh\n" + body + "\n");
    fs::permissions(dir / phase, perms);
}

}  // namespace

TEST_CASE("Hooks: exit codes, output, environment, timeouts and who may own them", "[agent][hooks]") {
    if (::geteuid() != 0) {
        patching::test::skip_test("hooks must be owned by root: run as root");
        return;
    }
    test::TempDir dir;
    const fs::path hooks = dir / "hooks";

    const HookResult none = run_hook(hooks, "precheck", std::chrono::seconds(5), {});
    CHECK_FALSE(none.present);
    CHECK(none.exit_code == 0);

    hook(hooks, "precheck", "echo \"phase $PATCH_PHASE on $PATCH_HOST\"; echo oops >&2; exit 3");
    HookResult r = run_hook(hooks, "precheck", std::chrono::seconds(5), {"PATCH_HOST=h1"});
    CHECK(r.present);
    CHECK(r.exit_code == core::protocol::HOOK_RETRY);
    CHECK(r.output.find("phase precheck on h1") != std::string::npos);
    CHECK(r.output.find("oops") != std::string::npos);

    hook(hooks, "postcheck", "exit 2");
    CHECK(run_hook(hooks, "postcheck", std::chrono::seconds(5), {}).exit_code == core::protocol::HOOK_SKIP);

    hook(hooks, "health", "sleep 30");
    r = run_hook(hooks, "health", std::chrono::seconds(1), {});
    CHECK(r.exit_code == core::protocol::HOOK_FAIL);
    CHECK(r.summary.find("timed out") != std::string::npos);

    hook(hooks, "post-install", "head -c 200000 /dev/zero | tr '\\0' x; echo; echo the end");
    r = run_hook(hooks, "post-install", std::chrono::seconds(5), {});
    CHECK(r.exit_code == 0);
    CHECK(r.output.size() <= core::protocol::MAX_HOOK_OUTPUT);
    CHECK(r.output.find("the end") != std::string::npos);  // the end is kept

    // A hook anyone but root could have changed never runs.
    hook(hooks, "pre-lock", "touch " + (dir / "ran").string(), fs::perms::owner_all | fs::perms::group_all);
    r = run_hook(hooks, "pre-lock", std::chrono::seconds(5), {});
    CHECK(r.exit_code == core::protocol::HOOK_FAIL);
    CHECK(r.summary.find("writable by group or others") != std::string::npos);
    hook(hooks, "post-unlock", "touch " + (dir / "ran").string());
    REQUIRE(::chown((hooks / "post-unlock").c_str(), 65534, 65534) == 0);
    r = run_hook(hooks, "post-unlock", std::chrono::seconds(5), {});
    CHECK(r.exit_code == core::protocol::HOOK_FAIL);
    CHECK(r.summary.find("not root") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "ran"));
}

TEST_CASE("Hooks: only the fixed phases, from a directory only root can change, never through a symlink",
          "[agent][hooks]") {
    if (::geteuid() != 0) {
        patching::test::skip_test("hooks must be owned by root: run as root");
        return;
    }
    test::TempDir dir;
    const fs::path hooks = dir / "hooks";
    const fs::path ran = dir / "ran";

    // A phase is a name from the fixed list, never a path, whoever calls run_hook.
    hook(dir.path(), "x", "touch " + ran.string());
    fs::create_directories(hooks);
    HookResult r = run_hook(hooks, "../x", std::chrono::seconds(5), {});
    CHECK(r.exit_code == core::protocol::HOOK_FAIL);
    CHECK(r.summary.find("not a hook phase") != std::string::npos);
    CHECK(run_hook(hooks, "pre-lock/../../x", std::chrono::seconds(5), {}).exit_code == core::protocol::HOOK_FAIL);

    // A symlink to a good executable is refused: the hook must be the file itself.
    hook(hooks, "real", "touch " + ran.string());
    fs::create_symlink(hooks / "real", hooks / "postcheck");
    r = run_hook(hooks, "postcheck", std::chrono::seconds(5), {});
    CHECK(r.exit_code == core::protocol::HOOK_FAIL);
    CHECK(r.summary.find("symbolic link") != std::string::npos);

    // A hook directory (or a parent) that others may write: anyone could swap the hook.
    hook(hooks, "precheck", "touch " + ran.string());
    fs::permissions(hooks, fs::perms::all);
    r = run_hook(hooks, "precheck", std::chrono::seconds(5), {});
    CHECK(r.exit_code == core::protocol::HOOK_FAIL);
    CHECK(r.summary.find("the directory " + fs::canonical(hooks).string() + " is writable by group or others") !=
          std::string::npos);
    fs::permissions(hooks, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                               fs::perms::others_read | fs::perms::others_exec);
    fs::permissions(dir.path(), fs::perms::all);  // a parent, without the sticky bit of /tmp
    r = run_hook(hooks, "precheck", std::chrono::seconds(5), {});
    CHECK(r.summary.find("the directory " + fs::canonical(dir.path()).string() + " is writable") !=
          std::string::npos);
    fs::permissions(dir.path(), fs::perms::owner_all);
    REQUIRE(::chown(hooks.c_str(), 65534, 65534) == 0);
    r = run_hook(hooks, "precheck", std::chrono::seconds(5), {});
    CHECK(r.summary.find("not root") != std::string::npos);
    REQUIRE(::chown(hooks.c_str(), 0, 0) == 0);
    CHECK_FALSE(fs::exists(ran));
    CHECK(run_hook(hooks, "precheck", std::chrono::seconds(5), {}).exit_code == 0);  // fixed: it runs
    CHECK(fs::exists(ran));
}

// run_hook checks and runs one descriptor (O_PATH|O_NOFOLLOW, fstat, fexecve), so a hook replaced
// between its check and its exec cannot run. There is no seam between the two steps inside
// run_hook to swap the file deterministically, so this checks the mechanism it relies on: the
// subprocess helper runs the file behind the descriptor, not what its path names by then.
TEST_CASE("A program run from a descriptor is the file opened, even if its path is replaced", "[agent][hooks]") {
    test::TempDir dir;
    hook(dir.path(), "checked", "echo checked");
    hook(dir.path(), "swapped", "echo swapped");
    const common::UniqueFd fd(::open((dir / "checked").c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    REQUIRE(fd.get() >= 0);
    fs::rename(dir / "swapped", dir / "checked");  // the path now names the other file
    common::subprocess::Options options;
    options.argv = {(dir / "checked").string()};
    options.exec_fd = fd.get();
    const auto result = common::subprocess::run(options);
    CHECK(result.is_success());
    CHECK(result.output == "checked\n");
}

TEST_CASE("The host lifecycle's agent keys: defaults, reboot_command, ranges", "[agent][hooks]") {
    test::TempDir dir;
    const fs::path conf = dir / "agent.conf";
    const std::string base = "[agent]\nhostname = h1\nsw_version = 22.12\ncontroller_url = http://127.0.0.1:1\n";
    test::write_file(conf, base);
    AgentConfig c = AgentConfig::load(conf);
    CHECK(c.hook_dir == "/etc/patching/hooks");
    CHECK(c.reboot_command == std::vector<std::string>{"systemctl", "reboot"});
    CHECK(c.health_interval_seconds == 60);
    CHECK(c.health_timeout_seconds == 30);  // shorter than hook_timeout_seconds (300): it holds the command thread
    test::write_file(conf, base + "reboot_command = /usr/bin/touch /run/reboot-me\nhook_dir = /srv/hooks\n"
                                  "health_interval_seconds = 0\nhealth_timeout_seconds = 5\n");
    c = AgentConfig::load(conf);
    CHECK(c.reboot_command == std::vector<std::string>{"/usr/bin/touch", "/run/reboot-me"});
    CHECK(c.hook_dir == "/srv/hooks");
    CHECK(c.health_interval_seconds == 0);
    CHECK(c.health_timeout_seconds == 5);
    test::write_file(conf, base + "health_timeout_seconds = 0\n");
    CHECK_THROWS_WITH(AgentConfig::load(conf), Catch::Contains("health_timeout_seconds"));
    test::write_file(conf, base + "hook_timeout_seconds = 0\n");
    CHECK_THROWS_WITH(AgentConfig::load(conf), Catch::Contains("hook_timeout_seconds"));
    test::write_file(conf, base + "reboot_command =\n");
    CHECK_THROWS_WITH(AgentConfig::load(conf), Catch::Contains("reboot_command"));
}
