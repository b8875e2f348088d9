// SPDX-License-Identifier: Apache-2.0
#include "config.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <map>

#include "errors.hpp"
#include "support/test_support.hpp"

using namespace patching::client;
using patching::test::TempDir;
using patching::test::write_file;

namespace {

// An environment whose variables come from a map and whose system paths live in a TempDir.
struct FakeEnv {
    TempDir dir;
    std::map<std::string, std::string> vars;

    Environment env() {
        Environment e;
        e.getenv = [this](const std::string& name) -> std::optional<std::string> {
            auto it = vars.find(name);
            return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
        };
        e.default_config = dir / "sw-patch.conf";
        e.default_token_file = dir / "admin.token";
        e.build_info = dir / "build.info";
        return e;
    }
};

}  // namespace

TEST_CASE("config file syntax", "[sw_patch][config]") {
    auto config = parse_config(
        "# comment\n\ncontroller = https://ctl:5491/ \n token_file=\"/run/tok\"\n"
        "ca_file = /etc/ca.pem\ntimeout = 2.5\n",
        "test.conf");
    CHECK(config.controller == "https://ctl:5491/");
    CHECK(config.token_file == "/run/tok");
    CHECK(config.ca_file == "/etc/ca.pem");
    CHECK(config.timeout == 2.5);

    CHECK_THROWS_WITH(
        parse_config("contoller = x\n", "a.conf"),
        Catch::Contains("a.conf:1: unknown key \"contoller\""));
    CHECK_THROWS_WITH(
        parse_config("\njust words\n", "a.conf"),
        Catch::Contains("a.conf:2: expected \"key = value\""));
    CHECK_THROWS_AS(parse_config("timeout = soon\n", "a.conf"), ConfigError);
    CHECK_THROWS_AS(parse_config("timeout = -1\n", "a.conf"), ConfigError);
}

TEST_CASE("defaults when nothing is configured", "[sw_patch][config]") {
    FakeEnv fake;
    Settings s = resolve_settings({}, fake.env());
    CHECK(s.controller == "http://127.0.0.1:5487");
    CHECK_FALSE(s.token);
    CHECK(s.token_hint.empty());
    CHECK(s.timeout_s == 600);
    CHECK(s.poll_interval_s == 0.5);
}

TEST_CASE("controller precedence: flag > environment > config", "[sw_patch][config]") {
    FakeEnv fake;
    write_file(fake.dir / "sw-patch.conf", "controller = http://from-config:1\ntimeout = 7\n");
    CHECK(resolve_settings({}, fake.env()).controller == "http://from-config:1");
    CHECK(resolve_settings({}, fake.env()).timeout_s == 7);
    fake.vars["SW_PATCH_CONTROLLER"] = "http://from-env:2/";
    CHECK(resolve_settings({}, fake.env()).controller == "http://from-env:2");
    CHECK(
        resolve_settings({"https://from-flag:3", ""}, fake.env()).controller ==
        "https://from-flag:3");
    CHECK_THROWS_WITH(
        resolve_settings({"127.0.0.1:5487", ""}, fake.env()),
        Catch::Contains("must start with http:// or https://"));
}

TEST_CASE("SW_PATCH_CONFIG names the config file", "[sw_patch][config]") {
    FakeEnv fake;
    write_file(fake.dir / "other.conf", "controller = http://other:9\nca_file = /ca.pem\n");
    fake.vars["SW_PATCH_CONFIG"] = (fake.dir / "other.conf").string();
    Settings s = resolve_settings({}, fake.env());
    CHECK(s.controller == "http://other:9");
    CHECK(s.ca_file == "/ca.pem");
    fake.vars["SW_PATCH_CONFIG"] = (fake.dir / "missing.conf").string();
    CHECK_THROWS_WITH(resolve_settings({}, fake.env()), Catch::Contains("SW_PATCH_CONFIG"));
}

TEST_CASE("token precedence and sources", "[sw_patch][config]") {
    FakeEnv fake;
    write_file(fake.dir / "admin.token", "default-token\n");
    write_file(fake.dir / "flag.token", "  flag-token  \nsecond line ignored\n");
    write_file(fake.dir / "env.token", "env-file-token");
    write_file(fake.dir / "conf.token", "conf-token");

    Settings s = resolve_settings({}, fake.env());
    CHECK(s.token == "default-token");
    CHECK(s.token_source == (fake.dir / "admin.token").string());

    write_file(fake.dir / "sw-patch.conf", "token_file = " + (fake.dir / "conf.token").string());
    CHECK(resolve_settings({}, fake.env()).token == "conf-token");

    fake.vars["SW_PATCH_TOKEN_FILE"] = (fake.dir / "env.token").string();
    CHECK(resolve_settings({}, fake.env()).token == "env-file-token");

    fake.vars["SW_PATCH_TOKEN"] = "env-token";
    s = resolve_settings({}, fake.env());
    CHECK(s.token == "env-token");
    CHECK(s.token_source == "SW_PATCH_TOKEN");

    s = resolve_settings({"", (fake.dir / "flag.token").string()}, fake.env());
    CHECK(s.token == "flag-token");
    CHECK(s.token_source == (fake.dir / "flag.token").string());
}

TEST_CASE("explicit token files must be readable and not empty", "[sw_patch][config]") {
    FakeEnv fake;
    CHECK_THROWS_WITH(
        resolve_settings({"", (fake.dir / "nope").string()}, fake.env()),
        Catch::Contains("cannot read the token file"));
    write_file(fake.dir / "empty.token", "\n");
    fake.vars["SW_PATCH_TOKEN_FILE"] = (fake.dir / "empty.token").string();
    CHECK_THROWS_WITH(resolve_settings({}, fake.env()), Catch::Contains("is empty"));
}

TEST_CASE(
    "an unreadable default token file sends no token and explains why", "[sw_patch][config]") {
    FakeEnv fake;
    write_file(fake.dir / "admin.token", "secret");
    ::chmod((fake.dir / "admin.token").c_str(), 0);
    if (::geteuid() != 0) {
        Settings s = resolve_settings({}, fake.env());
        CHECK_FALSE(s.token);
        CHECK_THAT(s.token_hint, Catch::Contains("run as root or set SW_PATCH_TOKEN"));
        return;
    }
    // root reads anything, so the check runs in a child that has become an ordinary user;
    // its exit status carries the verdict (0: no token, and the hint says what to do).
    ::chmod(fake.dir.path().c_str(), 0755);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        constexpr uid_t NOBODY = 65534;
        if (::setgid(NOBODY) != 0 || ::setuid(NOBODY) != 0) {
            ::_exit(3);
        }
        Settings s = resolve_settings({}, fake.env());
        const bool hinted = s.token_hint.find("run as root or set SW_PATCH_TOKEN") != std::string::npos;
        ::_exit(s.token ? 1 : hinted ? 0 : 2);
    }
    const auto status = patching::test::wait_for_exit(child, std::chrono::seconds(30));
    INFO("child exit status (1: a token was read, 2: no hint, 3: could not become nobody)");
    CHECK(status == std::optional<int>(0));
}

TEST_CASE("poll interval from SW_PATCH_POLL_INTERVAL", "[sw_patch][config]") {
    FakeEnv fake;
    fake.vars["SW_PATCH_POLL_INTERVAL"] = "0.05";
    CHECK(resolve_settings({}, fake.env()).poll_interval_s == Approx(0.05));
    fake.vars["SW_PATCH_POLL_INTERVAL"] = "fast";
    CHECK_THROWS_AS(resolve_settings({}, fake.env()), ConfigError);
}

TEST_CASE("running release from build.info", "[sw_patch][config]") {
    TempDir dir;
    write_file(dir / "build.info", "OS=\"centos\"\nSW_VERSION=\"21.12\"\nBUILD_ID=\"x\"\n");
    CHECK(running_release(dir / "build.info") == "21.12");
    write_file(dir / "build.info", "OS=centos\n");
    CHECK_FALSE(running_release(dir / "build.info"));
    CHECK_FALSE(running_release(dir / "missing"));
}
