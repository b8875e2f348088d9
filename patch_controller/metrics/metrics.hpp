// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace patching::controller {

/// What /metrics shows about the catalog and the fleet at the moment of a scrape, computed by
/// the API layer from the query views (so a scrape never touches the store).
struct FleetSnapshot {
    /// (release, patch state as the reference spells it) -> patches.
    std::map<std::pair<std::string, std::string>, std::uint64_t> patches;
    /// Host state -> hosts: "current", "out_of_date", "stale", "failed", "unknown".
    std::map<std::string, std::uint64_t> hosts;
    std::uint64_t hosts_requiring_reboot = 0;
    std::uint64_t hosts_installing = 0;
    /// (operation, state) -> parent work requests (the store keeps finished ones for
    /// work_retention_days).
    std::map<std::pair<std::string, std::string>, std::uint64_t> work_requests;
    /// Scheduled jobs by state (ACTIVE, PAUSED, INACTIVE).
    std::map<std::string, std::uint64_t> jobs;
};

/// The controller's Prometheus metrics: counters and histograms the daemon updates as things
/// happen (API requests, agent messages, uploads, publishes), and the snapshot gauges rendered
/// at scrape time. prometheus-cpp's core keeps the values; our HTTP server serves the text
/// (not prometheus-cpp's own civetweb endpoint). Thread-safe.
class Metrics {
public:
    Metrics();
    ~Metrics();
    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;

    /// One REST request: `route` is the route table's name ("apply", "query", ...), "repository"
    /// for /updates/ files, "unknown" for anything else, so the label set stays small.
    void observe_request(const std::string& route, int status, double seconds);
    /// An agent report accepted.
    void count_agent_report();
    /// An agent message refused; `reason` is one word ("malformed", "unauthenticated", ...).
    void count_agent_refusal(const std::string& reason);
    /// Bytes of a received patch upload.
    void add_upload_bytes(std::uint64_t bytes);
    /// One repository publish (createrepo_c) and whether it succeeded.
    void observe_publish(double seconds, bool ok);

    /// The exposition (text format 0.0.4): every counter and histogram, then `snapshot`.
    std::string render(const FleetSnapshot& snapshot) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace patching::controller
