// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>

namespace patching::agent {

/// The agent's Prometheus metrics, written for the node exporter's textfile collector (the agent
/// opens no port): `<dir>/patch_agent.prom`, replaced atomically after every change, so the
/// exporter never reads half a file. An empty `dir` turns it off. Thread-safe; a write that fails
/// (a full disk, a missing directory) is logged once and never stops the agent.
class TextfileMetrics {
public:
    explicit TextfileMetrics(std::filesystem::path dir);
    ~TextfileMetrics();
    TextfileMetrics(const TextfileMetrics&) = delete;
    TextfileMetrics& operator=(const TextfileMetrics&) = delete;

    /// An install (a librpm transaction and its report) ended.
    void install_finished(bool ok, double seconds);
    /// A report reached the controller (ok) or could not be sent.
    void report_sent(bool ok);
    /// The agent's view of the host after a report: current or not, reboot needed or not.
    void host_state(bool patch_current, bool requires_reboot);

    std::filesystem::path file() const;

private:
    void write_locked();

    struct Values;
    std::filesystem::path dir_;
    std::mutex mutex_;
    std::unique_ptr<Values> values_;
    bool warned_ = false;
};

}  // namespace patching::agent
