// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "hosts/host_service.hpp"
#include "http/http_server.hpp"
#include "metrics/metrics.hpp"

namespace patching::controller {

class Controller;

/// The body of `GET /metrics`: Metrics' counters and histograms plus the catalog and host gauges,
/// read from the query views at this instant (shared locks only; never the store).
HttpResponse render_metrics(const Metrics& metrics, Controller& controller);

/// The host-state label of one query-hosts row, as /metrics counts it.
const char* host_metric_state(const HostView& host);

}  // namespace patching::controller
