// SPDX-License-Identifier: Apache-2.0
// The real sw-patch against the real controller on loopback: what an operator types.
#include <catch2/catch.hpp>

#include "support/controller_harness.hpp"
#include "support/test_support.hpp"

#include <cstdlib>
#include <filesystem>
#include <string>

using patching::test::ControllerHarness;
using patching::test::fixtures_dir;

namespace {

struct CliResult {
    int status = 0;
    std::string output;
};

class CliFixture {
public:
    CliFixture() {
        for (const char* var : {"SW_PATCH_CONFIG", "SW_PATCH_TOKEN", "SW_PATCH_TOKEN_FILE", "SW_PATCH_CONTROLLER"}) {
            ::unsetenv(var);
        }
    }

    // Runs sw-patch with the controller URL and, unless `token` is empty, that token.
    CliResult sw_patch(const std::string& args, const std::string& token) const {
        // An empty config file: no token file or controller from /etc/patching.
        std::filesystem::path config = controller.root() / "sw-patch.conf";
        if (!std::filesystem::exists(config)) {
            patching::test::write_file(config, "");
        }
        std::string env = "SW_PATCH_CONFIG=" + config.string() + " SW_PATCH_CONTROLLER=http://127.0.0.1:" +
                          std::to_string(controller.port()) + " ";
        if (!token.empty()) {
            env += "SW_PATCH_TOKEN=" + token + " ";
        }
        CliResult r;
        r.status = patching::test::run_command(
            env + (patching::test::binary_dir() / "sw_patch" / "sw-patch").string() + " " + args + " </dev/null",
            &r.output);
        return r;
    }
    CliResult sw_patch(const std::string& args) const { return sw_patch(args, controller.admin_token()); }

    static std::string fixture(int n) {
        return (fixtures_dir() / "stx" / ("FIX_22.12_PATCH_000" + std::to_string(n) + ".patch")).string();
    }

    ControllerHarness controller;
};

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE_METHOD(CliFixture, "sw-patch drives upload, apply, query, show and remove", "[controller][e2e][cli]") {
    CliResult up = sw_patch("upload " + fixture(1) + " " + fixture(2) + " " + fixture(3));
    INFO(up.output);
    REQUIRE(up.status == 0);
    CHECK(contains(up.output, "FIX_22.12_PATCH_0001 is now available"));
    CHECK(contains(up.output, "FIX_22.12_PATCH_0003 is now available"));

    CliResult q = sw_patch("query");
    INFO(q.output);
    CHECK(q.status == 0);
    CHECK(contains(q.output, "      Patch ID        RR  Release  Patch State\n====================  ==  =======  ===========\n"));
    CHECK(contains(q.output, "FIX_22.12_PATCH_0002  Y    22.12    Available"));

    CliResult bad = sw_patch("apply FIX_22.12_PATCH_0002");
    INFO(bad.output);
    CHECK(bad.status == 1);
    CHECK(contains(bad.output, "FIX_22.12_PATCH_0001 is required by: FIX_22.12_PATCH_0002"));

    CliResult ok = sw_patch("apply FIX_22.12_PATCH_0001 FIX_22.12_PATCH_0002");
    INFO(ok.output);
    CHECK(ok.status == 0);
    CHECK(contains(ok.output, "FIX_22.12_PATCH_0002 is now in the repo"));
    CHECK(contains(sw_patch("query applied").output, "FIX_22.12_PATCH_0001  N    22.12     Applied"));

    CliResult show = sw_patch("show FIX_22.12_PATCH_0002");
    INFO(show.output);
    CHECK(contains(show.output, "FIX_22.12_PATCH_0002:"));
    CHECK(contains(show.output, "Patch State:    Applied"));
    CHECK(contains(show.output, "fixture-delta-1.0-1.noarch.rpm"));

    CHECK(sw_patch("is-applied FIX_22.12_PATCH_0001").output == "True\n");
    CliResult avail = sw_patch("is-available FIX_22.12_PATCH_0001");
    CHECK(avail.status == 1);
    CHECK(avail.output == "False\n");
    CHECK(contains(sw_patch("what-requires FIX_22.12_PATCH_0001").output,
                   "FIX_22.12_PATCH_0001 is required by: FIX_22.12_PATCH_0002, FIX_22.12_PATCH_0003"));
    CHECK(sw_patch("query-dependencies FIX_22.12_PATCH_0002 --recursive").output ==
          "FIX_22.12_PATCH_0001\nFIX_22.12_PATCH_0002\n");

    CliResult blocked = sw_patch("remove FIX_22.12_PATCH_0001");
    CHECK(blocked.status == 1);
    CHECK(contains(blocked.output, "is required by"));
    CliResult removed = sw_patch("remove FIX_22.12_PATCH_0002 FIX_22.12_PATCH_0001");
    INFO(removed.output);
    CHECK(removed.status == 0);
    CHECK(contains(removed.output, "FIX_22.12_PATCH_0001 has been removed from the repo"));

    CliResult commit = sw_patch("commit --dry-run FIX_22.12_PATCH_0003");
    CHECK(commit.status == 1);
    CHECK(contains(commit.output, "A commit cannot be performed with non-REL status patches in the system"));

    CliResult json = sw_patch("query --format json");
    CHECK(json.status == 0);
    CHECK(contains(json.output, "\"FIX_22.12_PATCH_0003\""));

    CliResult del = sw_patch("delete FIX_22.12_PATCH_0003");
    CHECK(del.status == 0);
    CHECK(contains(del.output, "FIX_22.12_PATCH_0003 has been deleted"));
}

TEST_CASE_METHOD(CliFixture, "sw-patch explains refusals and failures", "[controller][e2e][cli]") {
    SECTION("a hostile patch is refused with the reason") {
        patching::test::TempDir dir;
        std::filesystem::copy_file(fixtures_dir() / "bad" / "path-traversal-validly-signed.patch",
                                   dir / "FIX_22.12_PATCH_0001.patch");
        CliResult r = sw_patch("upload " + (dir / "FIX_22.12_PATCH_0001.patch").string());
        INFO(r.output);
        CHECK(r.status == 1);
        CHECK(contains(r.output, "Patch validation failed for FIX_22.12_PATCH_0001"));
        CHECK(contains(r.output, "path traversal"));
        CHECK(contains(sw_patch("query").output, "Patch ID") == true);
        CHECK_FALSE(contains(sw_patch("query").output, "FIX_22.12_PATCH_0001"));
    }
    SECTION("unknown hosts") {
        CliResult r = sw_patch("host-install-async no-such-host");
        CHECK(r.status == 1);
        CHECK(contains(r.output, "Unknown host specified: no-such-host"));
        CHECK(sw_patch("drop-host no-such-host").status == 1);
        CHECK(contains(sw_patch("query-hosts").output, "Hostname"));
    }
    SECTION("no token") {
        CliResult r = sw_patch("query", "");
        INFO(r.output);
        CHECK(r.status == 1);
        CHECK(contains(r.output, "authentication required"));
    }
    SECTION("a wrong token") {
        CliResult r = sw_patch("apply FIX_22.12_PATCH_0001", "not-a-token");
        INFO(r.output);
        CHECK(r.status == 1);
        CHECK(contains(r.output, "token was rejected"));
    }
    SECTION("a reader token may query but not change") {
        std::string reader = controller.add_token("auditor", "reader");
        CHECK(sw_patch("query", reader).status == 0);
        CliResult r = sw_patch("upload " + fixture(1), reader);
        INFO(r.output);
        CHECK(r.status == 1);
    }
    SECTION("the controller is not running") {
        controller.stop();
        CliResult r = sw_patch("query");
        INFO(r.output);
        CHECK(r.status == 1);
        CHECK(contains(r.output, "patch-controller running"));
    }
}
