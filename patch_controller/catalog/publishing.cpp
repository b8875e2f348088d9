// SPDX-License-Identifier: Apache-2.0
#include "catalog/publishing.hpp"

#include <patch_core/comps.hpp>

#include <shared_mutex>

namespace patching::controller {

BaseFeed& Publishing::feed(const std::string& release) {
    auto it = feeds_.find(release);
    if (it == feeds_.end()) {
        it = feeds_.emplace(release, std::make_unique<BaseFeed>(config_.feed_dir, config_.cache_dir(), release)).first;
    }
    it->second->refresh();
    return *it->second;
}

void Publishing::publish(const std::string& release) {
    std::vector<RepoPackage> desired;
    BaseFeed& base = feed(release);
    if (base.exists()) {
        for (const auto& pkg : base.packages()) {
            desired.push_back({pkg.path, pkg.path.filename().string(), pkg.arch});
        }
    }
    std::map<std::string, core::PatchInfo> comps_patches;
    {
        std::shared_lock data(state_.mutex);
        for (const auto& [id, p] : state_.patches) {
            if (p.metadata.sw_version != release) {
                continue;
            }
            comps_patches.emplace(id, core::make_patch_info(p.metadata, p.repostate));
            if (p.repostate == core::RepoState::AVAILABLE) {
                continue;
            }
            for (const auto& rpm : p.rpms) {
                desired.push_back({files_.rpm_path(p, rpm), rpm.file_name, rpm.arch});
            }
        }
    }
    repo_.publish(release, desired, core::make_comps_xml(comps_patches, release));
}

}  // namespace patching::controller
