// SPDX-License-Identifier: Apache-2.0
#include "api/metrics_endpoint.hpp"

#include "controller.hpp"

namespace patching::controller {

const char* host_metric_state(const HostView& host) {
    if (host.state == core::protocol::HostState::UNKNOWN) {
        return "unknown";  // persisted, not reported since the controller started
    }
    if (host.stale) {
        return "stale";
    }
    if (host.patch_failed) {
        return "failed";
    }
    return host.patch_current ? "current" : "out_of_date";
}

HttpResponse render_metrics(const Metrics& metrics, Controller& controller) {
    FleetSnapshot snapshot;
    for (const auto& [id, entry] : controller.queries().query({"all", ""}).pd) {
        ++snapshot.patches[{entry.sw_version, entry.patchstate}];
    }
    for (const HostView& host : controller.hosts().list()) {
        ++snapshot.hosts[host_metric_state(host)];
        snapshot.hosts_requiring_reboot += host.requires_reboot ? 1 : 0;
        snapshot.hosts_installing += host.install_pending ? 1 : 0;
    }
    snapshot.work_requests = controller.store().work_queries().count_work_requests();
    snapshot.jobs = controller.jobs().count_by_state();
    HttpResponse response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = metrics.render(snapshot);
    return response;
}

}  // namespace patching::controller
