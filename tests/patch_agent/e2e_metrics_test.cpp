// SPDX-License-Identifier: Apache-2.0
// End to end: the controller's /metrics host gauges follow real agents (issue #15): a host
// reporting, out of date after an apply, current after its install, stale once its agent stops.
#include "patch_agent/e2e_cluster.hpp"

#include <catch2/catch.hpp>

using namespace patching::test;
using namespace patching::test::e2e;
using namespace std::chrono_literals;

namespace {

/// Waits (at most 30 s) until /metrics counts `count` hosts in `state`.
void wait_hosts_metric(const Cluster& cluster, ControllerHarness& controller, const std::string& token,
                       const std::string& state, double count) {
    double seen = -1;
    const bool reached = eventually(
        [&] {
            seen = metric_value(controller.scrape_metrics(token), "patching_hosts", {{"state", state}});
            return seen == count;
        },
        30s);
    INFO(cluster.logs());
    INFO("patching_hosts{state=\"" << state << "\"} is " << seen << ", expected " << count);
    REQUIRE(reached);
}

}  // namespace

TEST_CASE("/metrics counts hosts current, out of date and stale as their agents report", "[agent][e2e][metrics]") {
    Cluster cluster(std::vector<HostSpec>{{"controller-0", "controller"}});
    if (!cluster.ok()) {
        return;
    }
    ControllerHarness& controller = cluster.controller();
    const std::string token = controller.add_token("prometheus", "metrics");
    cluster.wait_settled("controller-0", true);
    wait_hosts_metric(cluster, controller, token, "current", 1);

    PatchSpec spec;
    spec.id = "E2E_22.12_PATCH_0030";
    spec.rpms = {{"all-nodes", cluster.rpms().lib_2}};
    REQUIRE(cluster.sw_patch("upload " + cluster.build_patch(spec).string()).status == 0);
    REQUIRE(cluster.sw_patch("apply " + spec.id).status == 0);
    wait_hosts_metric(cluster, controller, token, "out_of_date", 1);

    REQUIRE(cluster.sw_patch("host-install controller-0").status == 0);
    wait_hosts_metric(cluster, controller, token, "current", 1);
    const auto samples = controller.scrape_metrics(token);
    CHECK(metric_value(samples, "patching_agent_reports_total") >= 2);

    // A silent agent (stopped, not exited) goes stale after agent_stale_seconds.
    cluster.agent("controller-0").suspend();
    wait_hosts_metric(cluster, controller, token, "stale", 1);
    CHECK(metric_value(controller.scrape_metrics(token), "patching_hosts", {{"state", "current"}}) == 0);
    cluster.agent("controller-0").resume();
    wait_hosts_metric(cluster, controller, token, "current", 1);
}
