// SPDX-License-Identifier: Apache-2.0
// The controller's configuration file: range checks and unknown keys name the file and line.
#include "config.hpp"

#include <patch_core/errors.hpp>

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <string>

using patching::controller::ControllerConfig;
using patching::test::TempDir;
using patching::test::write_file;
using Catch::Contains;

namespace {

std::string load_error(const std::string& text, TempDir& tmp) {
    write_file(tmp / "controller.conf", text);
    try {
        ControllerConfig::load(tmp / "controller.conf");
    } catch (const std::exception& e) {
        return e.what();
    }
    return "(loaded)";
}

}  // namespace

TEST_CASE("The controller configuration is read and range-checked", "[controller][config]") {
    TempDir tmp;
    const std::string file = (tmp / "controller.conf").string();
    write_file(
        tmp / "controller.conf",
        "[controller]\nrunning_release = 22.12\nlisten_port = 6000\nimport_roots = /a, /b\n"
        "allow_unauthenticated_local = yes\n");
    ControllerConfig c = ControllerConfig::load(tmp / "controller.conf");
    CHECK(c.listen_port == 6000);
    CHECK(c.import_roots.size() == 2);
    CHECK(c.allow_unauthenticated_local);

    // 70000 used to become port 4464 (70000 mod 65536) without a word.
    CHECK(
        load_error("[controller]\nrunning_release = 22.12\nlisten_port = 70000\n", tmp) ==
        file + ":3: listen_port must be a whole number from 0 to 65535, not \"70000\"");
    CHECK_THAT(
        load_error("[controller]\nsemantic_timeout = -1\nrunning_release = 22.12\n", tmp),
        Contains(file + ":2: semantic_timeout must be a whole number from 1 to"));
    CHECK_THAT(
        load_error("[controller]\nrunning_release = 22.12\nagent_poll_seconds = 61\n", tmp),
        Contains(file + ":3: agent_poll_seconds must be a whole number from 1 to 60"));
    CHECK_THAT(
        load_error("[controller]\nrunning_release = 22.12\nlisten_prot = 1\n", tmp),
        Contains(file + ":3: unknown key \"listen_prot\" in [controller]"));
    CHECK_THAT(
        load_error("[controler]\nrunning_release = 22.12\n", tmp),
        Contains(file + ":1: unknown section [controler] (expected [controller])"));
    CHECK_THAT(
        load_error("[controller]\nimport_roots = relative\nrunning_release = 22.12\n", tmp),
        Contains(file + ":2: import_roots: relative is not an absolute path"));
    CHECK_THAT(
        load_error("[controller]\nrunning_release = 22.12\nwork_tick_ms = 5\n", tmp),
        Contains(file + ":3: work_tick_ms must be a whole number from 10 to 60000"));
    CHECK_THAT(
        load_error("[controller]\nrunning_release = 22.12\nwork_retention_days = 0\n", tmp),
        Contains(file + ":3: work_retention_days must be a whole number from 1 to"));
    CHECK_THAT(load_error("[controller]\n", tmp), Contains("running_release is required"));
}
