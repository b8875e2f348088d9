// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "catalog/controller_state.hpp"
#include "catalog/patch_files.hpp"
#include "config.hpp"

#include <controller/repo/base_feed.hpp>
#include <controller/repo/repository.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace patching::controller {

/// The seam to the published repositories: createrepo_c in production (CreaterepoPublisher),
/// a recorder in unit tests.
class RepoPublisher {
public:
    virtual ~RepoPublisher() = default;
    /// Makes the release's repository hold exactly `packages` (see RepositoryPublisher::publish).
    virtual void publish(const std::string& release, const std::vector<RepoPackage>& packages,
                         const std::string& comps_xml) = 0;
    virtual bool is_published(const std::string& release) const = 0;
    virtual void remove_release(const std::string& release) = 0;
};

/// RepoPublisher on RepositoryPublisher (createrepo_c) under `repo_dir`.
class CreaterepoPublisher final : public RepoPublisher {
public:
    explicit CreaterepoPublisher(const std::filesystem::path& repo_dir) : impl_(repo_dir) {}
    void publish(const std::string& release, const std::vector<RepoPackage>& packages,
                 const std::string& comps_xml) override {
        impl_.publish(release, packages, comps_xml);
    }
    bool is_published(const std::string& release) const override { return impl_.is_published(release); }
    void remove_release(const std::string& release) override { impl_.remove_release(release); }

private:
    RepositoryPublisher impl_;
};

/// Derives each release's repository from the catalog: the base feed's packages plus the RPMs
/// of its applied and committed patches, with a comps.xml of its patches. Owns the base feeds.
/// Not thread-safe on its own: every call REQUIRES the state's operation_mutex.
class Publishing {
public:
    Publishing(const ControllerConfig& config, ControllerState& state, const PatchFiles& files, RepoPublisher& repo)
        : config_(config), state_(state), files_(files), repo_(repo) {}

    /// Publishes the release's repository as the catalog says it should be.
    /// REQUIRES: operation_mutex held, state.mutex not held.
    /// @throws core::Error if the repository cannot be published (the old one stays).
    void publish(const std::string& release);
    /// The release's base feed, refreshed (only new files are read). REQUIRES: operation_mutex held.
    BaseFeed& feed(const std::string& release);
    RepoPublisher& repo() { return repo_; }

private:
    const ControllerConfig& config_;
    ControllerState& state_;
    const PatchFiles& files_;
    RepoPublisher& repo_;
    std::map<std::string, std::unique_ptr<BaseFeed>> feeds_;
};

}  // namespace patching::controller
