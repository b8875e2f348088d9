// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "catalog/publishing.hpp"
#include "metrics/metrics.hpp"

#include <chrono>

namespace patching::controller {

/// A RepoPublisher that times each publish of the one it wraps into Metrics (the daemon puts it
/// between the services and createrepo_c; the services never see metrics).
class TimedPublisher final : public RepoPublisher {
public:
    TimedPublisher(RepoPublisher& inner, Metrics& metrics) : inner_(inner), metrics_(metrics) {}

    void publish(const std::string& release, const std::vector<RepoPackage>& packages,
                 const std::string& comps_xml) override {
        const auto started = std::chrono::steady_clock::now();
        auto seconds = [&started] {
            return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        };
        try {
            inner_.publish(release, packages, comps_xml);
        } catch (...) {
            metrics_.observe_publish(seconds(), false);
            throw;
        }
        metrics_.observe_publish(seconds(), true);
    }
    bool is_published(const std::string& release) const override { return inner_.is_published(release); }
    void remove_release(const std::string& release) override { inner_.remove_release(release); }

private:
    RepoPublisher& inner_;
    Metrics& metrics_;
};

}  // namespace patching::controller
