// SPDX-License-Identifier: Apache-2.0
#include "metrics/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <vector>

namespace patching::controller {

namespace {
/// Seconds: a query answers in milliseconds, an apply with semantic checks may take minutes.
const prometheus::Histogram::BucketBoundaries REQUEST_BUCKETS{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                              0.25,  0.5,    1,     2.5,  5,     10,   30,
                                                              60,    300};
const prometheus::Histogram::BucketBoundaries PUBLISH_BUCKETS{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};

prometheus::MetricFamily gauge_family(std::string name, std::string help) {
    prometheus::MetricFamily family;
    family.name = std::move(name);
    family.help = std::move(help);
    family.type = prometheus::MetricType::Gauge;
    return family;
}

void add_gauge(prometheus::MetricFamily& family, std::vector<prometheus::ClientMetric::Label> labels, double value) {
    prometheus::ClientMetric metric;
    metric.label = std::move(labels);
    metric.gauge.value = value;
    family.metric.push_back(std::move(metric));
}
}  // namespace

struct Metrics::Impl {
    prometheus::Registry registry;
    prometheus::Family<prometheus::Counter>& requests =
        prometheus::BuildCounter()
            .Name("patching_api_requests_total")
            .Help("REST API requests by route and HTTP status")
            .Register(registry);
    prometheus::Family<prometheus::Histogram>& request_seconds =
        prometheus::BuildHistogram()
            .Name("patching_api_request_duration_seconds")
            .Help("REST API request latency by route, from dispatch to response")
            .Register(registry);
    prometheus::Family<prometheus::Counter>& agent_messages =
        prometheus::BuildCounter()
            .Name("patching_agent_reports_total")
            .Help("Agent reports accepted")
            .Register(registry);
    prometheus::Counter& reports = agent_messages.Add({});
    prometheus::Family<prometheus::Counter>& refusals =
        prometheus::BuildCounter()
            .Name("patching_agent_refusals_total")
            .Help("Agent protocol messages refused, by reason")
            .Register(registry);
    prometheus::Family<prometheus::Counter>& upload_family =
        prometheus::BuildCounter()
            .Name("patching_upload_bytes_total")
            .Help("Bytes of patch files received by upload")
            .Register(registry);
    prometheus::Counter& upload_bytes = upload_family.Add({});
    prometheus::Family<prometheus::Histogram>& publish_family =
        prometheus::BuildHistogram()
            .Name("patching_repository_publish_duration_seconds")
            .Help("Repository publishes (createrepo_c), by result")
            .Register(registry);
    prometheus::Histogram& publish_ok = publish_family.Add({{"result", "ok"}}, PUBLISH_BUCKETS);
    prometheus::Histogram& publish_failed = publish_family.Add({{"result", "failed"}}, PUBLISH_BUCKETS);
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

void Metrics::observe_request(const std::string& route, int status, double seconds) {
    impl_->requests.Add({{"route", route}, {"status", std::to_string(status)}}).Increment();
    impl_->request_seconds.Add({{"route", route}}, REQUEST_BUCKETS).Observe(seconds);
}

void Metrics::count_agent_report() { impl_->reports.Increment(); }

void Metrics::count_agent_refusal(const std::string& reason) {
    impl_->refusals.Add({{"reason", reason}}).Increment();
}

void Metrics::add_upload_bytes(std::uint64_t bytes) { impl_->upload_bytes.Increment(static_cast<double>(bytes)); }

void Metrics::observe_publish(double seconds, bool ok) {
    (ok ? impl_->publish_ok : impl_->publish_failed).Observe(seconds);
}

std::string Metrics::render(const FleetSnapshot& snapshot) const {
    std::vector<prometheus::MetricFamily> families = impl_->registry.Collect();

    auto patches = gauge_family("patching_patches", "Patches by release and patch state (as sw-patch query shows it)");
    for (const auto& [key, count] : snapshot.patches) {
        add_gauge(patches, {{"release", key.first}, {"state", key.second}}, static_cast<double>(count));
    }
    families.push_back(std::move(patches));

    auto hosts = gauge_family("patching_hosts",
                              "Hosts by state: current, out_of_date, stale (no report within agent_stale_seconds), "
                              "failed (last install failed), unknown (not reported since the controller started)");
    for (const char* state : {"current", "out_of_date", "stale", "failed", "unknown"}) {
        auto found = snapshot.hosts.find(state);
        add_gauge(hosts, {{"state", state}}, found == snapshot.hosts.end() ? 0.0 : static_cast<double>(found->second));
    }
    families.push_back(std::move(hosts));

    auto reboot = gauge_family("patching_hosts_requiring_reboot", "Hosts whose installed patches need a reboot");
    add_gauge(reboot, {}, static_cast<double>(snapshot.hosts_requiring_reboot));
    families.push_back(std::move(reboot));

    auto installing = gauge_family("patching_hosts_installing", "Hosts with an install requested or running");
    add_gauge(installing, {}, static_cast<double>(snapshot.hosts_installing));
    families.push_back(std::move(installing));

    auto work = gauge_family("patching_work_requests",
                             "Work requests (parents) by operation and state, finished ones while retained");
    for (const auto& [key, count] : snapshot.work_requests) {
        add_gauge(work, {{"operation", key.first}, {"state", key.second}}, static_cast<double>(count));
    }
    families.push_back(std::move(work));

    auto jobs = gauge_family("patching_jobs", "Scheduled jobs by state");
    for (const char* state : {"ACTIVE", "PAUSED", "INACTIVE"}) {
        auto it = snapshot.jobs.find(state);
        add_gauge(jobs, {{"state", state}}, it == snapshot.jobs.end() ? 0.0 : static_cast<double>(it->second));
    }
    families.push_back(std::move(jobs));

    return prometheus::TextSerializer().Serialize(families);
}

}  // namespace patching::controller
