// SPDX-License-Identifier: Apache-2.0
// The bash completion script, driven the way bash drives it (COMP_WORDS/COMP_CWORD), with the
// built sw-patch answering `completion patches|hosts` from a fake controller.
#include <catch2/catch.hpp>

#include "support/test_support.hpp"
#include "sw_patch/fake_controller.hpp"

using patching::test::CannedResponse;
using patching::test::FakeController;
using patching::test::route_table;

namespace {

std::string complete(const FakeController& server, const std::string& words, int cword) {
    patching::test::TempDir dir;
    patching::test::write_file(
        dir / "complete.sh", "source '" SW_PATCH_COMPLETION_SCRIPT
                             "'\nCOMP_WORDS=('" SW_PATCH_BINARY "' " +
                                 words + ")\nCOMP_CWORD=" + std::to_string(cword) +
                                 "\n_sw_patch\nprintf '%s\\n' \"${COMPREPLY[@]}\" | sort\n");
    std::string output;
    int rc = patching::test::run_command(
        "LC_ALL=C SW_PATCH_CONTROLLER=" + server.url() + " bash " + (dir / "complete.sh").string(),
        &output);
    REQUIRE(rc == 0);
    return output;
}

}  // namespace

TEST_CASE("bash completion of subcommands, options, IDs and hosts", "[sw_patch][completion]") {
    FakeController server(route_table({
        {"GET /v1/query", {200, R"({"pd": {"TS_1": {}, "TS_2": {}, "OTHER": {}}})"}},
        {"GET /v1/query_hosts", {200, R"({"data": [{"hostname": "controller-0"},
            {"hostname": "compute-1"}]})"}},
    }));
    CHECK(
        complete(server, "query", 1) ==
        "query\nquery-app-dependencies\nquery-dependencies\nquery-hosts\n");
    CHECK(complete(server, "apply TS", 2) == "TS_1\nTS_2\n");
    CHECK(complete(server, "remove --skip", 2) == "--skip-semantic\n--skipappcheck\n");
    CHECK(complete(server, "host-install co", 2) == "compute-1\ncontroller-0\n");
    CHECK(complete(server, "query ap", 2) == "applied\n");
    CHECK(complete(server, "--debug sh", 2) == "show\n");
    CHECK(complete(server, "query --format j", 3) == "json\n");
}
