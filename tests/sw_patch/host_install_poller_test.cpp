// SPDX-License-Identifier: Apache-2.0
#include "host_install_poller.hpp"

#include <catch2/catch.hpp>

#include "output.hpp"

using namespace patching::client;
using nlohmann::json;

namespace {

Response hosts(
    const std::string& state, bool interim = false, const std::string& name = "compute-0") {
    return Response{
        200,
        {{"data", json::array(
                      {{{"hostname", name},
                        {"ip", "192.168.204.60"},
                        {"state", state},
                        {"interim_state", interim}}})}}};
}

}  // namespace

TEST_CASE("host-install polling outcomes", "[sw_patch][poller]") {
    HostInstallPoller poller("compute-0");
    SECTION("installing prints dots until idle") {
        auto step = poller.observe(hosts("installing"));
        CHECK_FALSE(step.done);
        CHECK(step.output == ".");
        step = poller.observe(hosts("idle", true));  // interim_state keeps it waiting
        CHECK_FALSE(step.done);
        CHECK(step.output == ".");
        step = poller.observe(hosts("idle"));
        CHECK(step.done);
        CHECK(step.exit_code == 0);
        CHECK(step.output == "\nInstallation was successful.\n");
    }
    SECTION("rejected") {
        auto step = poller.observe(hosts("install-rejected"));
        CHECK(step.done);
        CHECK(step.exit_code == 1);
        CHECK(step.output == "\nInstallation rejected. Node must be locked\n");
    }
    SECTION("failed") {
        auto step = poller.observe(hosts("install-failed"));
        CHECK(step.exit_code == 1);
        CHECK(step.output == "\nInstallation failed. Please check logs for details.\n");
    }
    SECTION("unknown state") {
        auto step = poller.observe(hosts("exploded"));
        CHECK(step.exit_code == 1);
        CHECK(step.output == "\nPatch agent is reporting unknown state: exploded\n");
    }
    SECTION("matched by IP too") {
        HostInstallPoller by_ip("192.168.204.60");
        CHECK(by_ip.observe(hosts("idle")).exit_code == 0);
    }
    SECTION("install_pending keeps waiting") {
        Response r = hosts("idle");
        r.body["data"][0]["install_pending"] = true;
        CHECK_FALSE(poller.observe(r).done);
    }
}

TEST_CASE("host-install polling retries: five misses in total time out", "[sw_patch][poller]") {
    HostInstallPoller poller("compute-9");
    SECTION("host missing") {
        for (int i = 0; i < 4; ++i) {
            auto step = poller.observe(hosts("idle"));
            CHECK_FALSE(step.done);
            CHECK(step.output.empty());
        }
        auto step = poller.observe(hosts("idle"));
        CHECK(step.done);
        CHECK(step.exit_code == 1);
        CHECK(step.output == "compute-9 agent has timed out.\n");
    }
    SECTION("controller unreachable") {
        for (int i = 0; i < 4; ++i) {
            CHECK_FALSE(poller.observe_unreachable().done);
        }
        auto step = poller.observe_unreachable();
        CHECK(step.exit_code == 1);
        CHECK(step.output == "Lost communications with the patch controller\n");
    }
    SECTION("misses of both kinds share one budget") {
        HostInstallPoller mixed("compute-0");
        CHECK_FALSE(mixed.observe_unreachable().done);
        CHECK_FALSE(mixed.observe(Response{200, {{"data", json::array()}}}).done);
        CHECK_FALSE(mixed.observe_unreachable().done);
        CHECK_FALSE(mixed.observe(hosts("installing")).done);  // a hit does not reset the count
        CHECK_FALSE(mixed.observe_unreachable().done);
        CHECK(
            mixed.observe_unreachable().output ==
            "Lost communications with the patch controller\n");
    }
    SECTION("entry without a state counts as missing") {
        Response r{200, {{"data", json::array({{{"hostname", "compute-9"}, {"ip", "1.2.3.4"}}})}}};
        CHECK_FALSE(poller.observe(r).done);
    }
}

TEST_CASE("host-install polling: bad answers stop at once", "[sw_patch][poller]") {
    HostInstallPoller poller("compute-0");
    auto step = poller.observe(Response{200, {{"hosts", 1}}});
    CHECK(step.exit_code == 1);
    CHECK(step.output == "Invalid query-hosts data returned:\n{\n    \"hosts\": 1\n}\n");
    step = HostInstallPoller("x").observe(Response{500, json::object()});
    CHECK(step.exit_code == 1);
    CHECK(step.output == std::string(INTERNAL_ERROR_MESSAGE) + "\n");
}
