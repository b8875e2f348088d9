// SPDX-License-Identifier: Apache-2.0
// End-to-end: GET /metrics on the real daemon (issue #15): who may read it, the values after
// known operations, and the exposition as the Prometheus project's own parser reads it.
#include "support/controller_harness.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace patching::test;
using nlohmann::json;

namespace {

std::vector<MetricSample> scrape(const ControllerHarness& h, const std::string& token) {
    try {
        return h.scrape_metrics(token);
    } catch (const std::exception& e) {
        FAIL(e.what());
    }
    return {};
}

double value_of(const std::vector<MetricSample>& samples, const std::string& name,
                const std::map<std::string, std::string>& labels = {}) {
    return metric_value(samples, name, labels);
}

}  // namespace

TEST_CASE("/metrics is read by readers, admins and metrics tokens, and by nobody else", "[metrics]") {
    ControllerHarness h;
    const std::string metrics_token = h.add_token("prometheus", "metrics");
    const std::string reader_token = h.add_token("viewer", "reader");

    CHECK(h.request("GET", "/metrics", metrics_token).status == 200);
    CHECK(h.request("GET", "/metrics", reader_token).status == 200);
    CHECK(h.request("GET", "/metrics", h.admin_token()).status == 200);
    CHECK(h.request("GET", "/metrics", "").status == 401);
    CHECK(h.request("GET", "/metrics", "not-a-token").status == 401);
    Response post = h.request("POST", "/metrics", reader_token);
    CHECK(post.status == 405);

    // A metrics token reads /metrics only: no queries, no operations, no uploads.
    Response query = h.request("GET", "/v1/query", metrics_token);
    INFO(query.text);
    CHECK(query.status == 403);
    CHECK(query.text.find("a metrics token reads /metrics only") != std::string::npos);
    CHECK(h.request("POST", "/v1/apply/X", metrics_token).status == 403);
    CHECK(h.upload(fixture_patch(1), std::nullopt, metrics_token).status == 403);
}

TEST_CASE("/metrics counts uploads, applies, publishes, requests and refused agents", "[metrics]") {
    ControllerHarness h;
    const std::string token = h.add_token("prometheus", "metrics");
    auto before = scrape(h, token);
    CHECK(value_of(before, "patching_upload_bytes_total") == 0);
    CHECK(value_of(before, "patching_hosts", {{"state", "current"}}) == 0);

    const auto patch = fixture_patch(1);
    Response up = h.upload(patch);
    INFO(up.text);
    REQUIRE(up.status == 200);
    Response applied = h.post("/v1/apply/" + fixture_id(1));
    INFO(applied.text);
    REQUIRE(applied.status == 200);
    // A resource route counts under its verb, whatever its id.
    REQUIRE(h.get("/v1/work-requests/12345").status == 404);
    // An agent message without credentials: refused, and counted.
    Response refused = h.request("POST", "/v1/agent/hello", "", Body::text("{}", "application/json"));
    REQUIRE(refused.status >= 400);

    auto after = scrape(h, token);
    CHECK(value_of(after, "patching_upload_bytes_total") == static_cast<double>(std::filesystem::file_size(patch)));
    CHECK(value_of(after, "patching_api_requests_total", {{"route", "upload"}, {"status", "200"}}) == 1);
    CHECK(value_of(after, "patching_api_requests_total", {{"route", "apply"}, {"status", "200"}}) == 1);
    CHECK(value_of(after, "patching_api_request_duration_seconds_count", {{"route", "apply"}}) == 1);
    CHECK(value_of(after, "patching_repository_publish_duration_seconds_count", {{"result", "ok"}}) >= 1);
    CHECK(value_of(after, "patching_repository_publish_duration_seconds_count", {{"result", "failed"}}) == 0);
    double refusals = 0;
    for (const auto& s : after) {
        if (s.name == "patching_agent_refusals_total") {
            refusals += s.value;
        }
    }
    CHECK(refusals == 1);
    CHECK(value_of(after, "patching_api_requests_total", {{"route", "work-requests"}, {"status", "404"}}) == 1);
    // The patch gauge agrees with what query says of the patch.
    const std::string state = h.query().at(fixture_id(1)).at("patchstate").get<std::string>();
    CHECK(value_of(after, "patching_patches", {{"release", "22.12"}, {"state", state}}) == 1);
    // The scrapes themselves are counted under their own route.
    CHECK(value_of(after, "patching_api_requests_total", {{"route", "metrics"}, {"status", "200"}}) >= 1);
}
