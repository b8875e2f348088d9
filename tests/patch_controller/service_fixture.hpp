// SPDX-License-Identifier: Apache-2.0
// Controller services on a MemoryStore, a recording publisher and a ManualClock: no daemon,
// no createrepo_c, no database file. Imports read the reference fixture patches.
#pragma once

#include "support/test_support.hpp"

#include <catalog/publishing.hpp>
#include <patch_core/clock.hpp>
#include <config.hpp>
#include <controller.hpp>
#include <store/memory/memory_store.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace patching::test {

/// Records what would be published; can be told to fail.
class RecordingPublisher final : public controller::RepoPublisher {
public:
    void publish(const std::string& release, const std::vector<controller::RepoPackage>& packages,
                 const std::string& comps_xml) override;
    bool is_published(const std::string& release) const override;
    void remove_release(const std::string& release) override;

    /// Releases published, in call order.
    std::vector<std::string> calls() const;
    /// File names of the last publish of `release`.
    std::vector<std::string> packages(const std::string& release) const;
    void set_failing(bool failing) { failing_ = failing; }

private:
    mutable std::mutex mutex_;
    std::vector<std::string> calls_;
    std::map<std::string, std::vector<std::string>> packages_;
    bool failing_ = false;
};

class ServiceFixture {
public:
    ServiceFixture();

    /// A new Controller on the same store and directories (a restart), recovered.
    void restart();
    /// Imports the three reference fixture patches (FIX_22.12_PATCH_000{1,2,3}).
    void import_fixtures();
    /// A protocol report from `host` (idle, current unless `out_of_date`).
    void report(const std::string& host, bool out_of_date = false);

    controller::Controller& ctl() { return *controller_; }
    /// The patch's repostate/patchstate as query shows them.
    std::string repostate(const std::string& id);
    std::string patchstate(const std::string& id);

    TempDir dir;
    controller::ControllerConfig config;
    controller::MemoryStore store;
    RecordingPublisher publisher;
    core::ManualClock clock;

private:
    std::unique_ptr<controller::Controller> controller_;
};

inline const std::string P1 = "FIX_22.12_PATCH_0001";
inline const std::string P2 = "FIX_22.12_PATCH_0002";
inline const std::string P3 = "FIX_22.12_PATCH_0003";

}  // namespace patching::test
