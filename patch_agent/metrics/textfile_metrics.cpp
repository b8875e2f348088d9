// SPDX-License-Identifier: Apache-2.0
#include "metrics/textfile_metrics.hpp"

#include <patch_core/errors.hpp>
#include <patch_core/fs.hpp>

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <chrono>
#include <iostream>
#include <string>
#include <vector>

namespace patching::agent {

struct TextfileMetrics::Values {
    std::uint64_t installs_ok = 0;
    std::uint64_t installs_failed = 0;
    double last_install_seconds = 0;
    double last_install_time = 0;
    std::uint64_t reports_ok = 0;
    std::uint64_t reports_failed = 0;
    double last_report_time = 0;
    bool patch_current = false;
    bool requires_reboot = false;
};

namespace {
double unix_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

prometheus::MetricFamily family(const char* name, const char* help, prometheus::MetricType type) {
    prometheus::MetricFamily f;
    f.name = name;
    f.help = help;
    f.type = type;
    return f;
}

void add(prometheus::MetricFamily& f, double value, std::vector<prometheus::ClientMetric::Label> labels = {}) {
    prometheus::ClientMetric m;
    m.label = std::move(labels);
    if (f.type == prometheus::MetricType::Counter) {
        m.counter.value = value;
    } else {
        m.gauge.value = value;
    }
    f.metric.push_back(std::move(m));
}
}  // namespace

TextfileMetrics::TextfileMetrics(std::filesystem::path dir) : dir_(std::move(dir)), values_(std::make_unique<Values>()) {
    std::lock_guard lock(mutex_);
    write_locked();  // the agent's series exist (at zero) from its start
}

TextfileMetrics::~TextfileMetrics() = default;

std::filesystem::path TextfileMetrics::file() const { return dir_.empty() ? dir_ : dir_ / "patch_agent.prom"; }

void TextfileMetrics::install_finished(bool ok, double seconds) {
    std::lock_guard lock(mutex_);
    (ok ? values_->installs_ok : values_->installs_failed) += 1;
    values_->last_install_seconds = seconds;
    values_->last_install_time = unix_now();
    write_locked();
}

void TextfileMetrics::report_sent(bool ok) {
    std::lock_guard lock(mutex_);
    if (ok) {
        ++values_->reports_ok;
        values_->last_report_time = unix_now();
    } else {
        ++values_->reports_failed;
    }
    write_locked();
}

void TextfileMetrics::host_state(bool patch_current, bool requires_reboot) {
    std::lock_guard lock(mutex_);
    if (values_->patch_current == patch_current && values_->requires_reboot == requires_reboot) {
        return;
    }
    values_->patch_current = patch_current;
    values_->requires_reboot = requires_reboot;
    write_locked();
}

void TextfileMetrics::write_locked() {
    if (dir_.empty()) {
        return;
    }
    using prometheus::MetricType;
    const Values& v = *values_;
    std::vector<prometheus::MetricFamily> families;
    auto installs = family("patching_agent_installs_total", "Installs this agent ran since it started, by result",
                           MetricType::Counter);
    add(installs, static_cast<double>(v.installs_ok), {{"result", "ok"}});
    add(installs, static_cast<double>(v.installs_failed), {{"result", "failed"}});
    families.push_back(std::move(installs));
    auto took = family("patching_agent_last_install_duration_seconds", "Wall time of the last install",
                       MetricType::Gauge);
    add(took, v.last_install_seconds);
    families.push_back(std::move(took));
    auto when = family("patching_agent_last_install_timestamp_seconds", "When the last install ended (Unix time)",
                       MetricType::Gauge);
    add(when, v.last_install_time);
    families.push_back(std::move(when));
    auto reports = family("patching_agent_reports_total", "Reports sent to the controller since the agent started",
                          MetricType::Counter);
    add(reports, static_cast<double>(v.reports_ok), {{"result", "ok"}});
    add(reports, static_cast<double>(v.reports_failed), {{"result", "failed"}});
    families.push_back(std::move(reports));
    auto reported = family("patching_agent_last_report_timestamp_seconds",
                           "When the controller last accepted a report (Unix time)", MetricType::Gauge);
    add(reported, v.last_report_time);
    families.push_back(std::move(reported));
    auto current = family("patching_agent_patch_current", "1 if the host has every patch the controller publishes",
                          MetricType::Gauge);
    add(current, v.patch_current ? 1 : 0);
    families.push_back(std::move(current));
    auto reboot = family("patching_agent_requires_reboot", "1 if installed patches wait for a reboot",
                         MetricType::Gauge);
    add(reboot, v.requires_reboot ? 1 : 0);
    families.push_back(std::move(reboot));
    try {
        core::write_file_atomically(file(), prometheus::TextSerializer().Serialize(families), 0644,
                                    core::Sync::LATER);
        warned_ = false;
    } catch (const std::exception& e) {
        if (!warned_) {
            std::cerr << "patch-agent: cannot write metrics to " << file().string() << ": "
                      << core::format_error_chain(e) << " (the agent goes on; set metrics_textfile_dir = to turn "
                      << "metrics off)" << std::endl;
            warned_ = true;
        }
    }
}

}  // namespace patching::agent
