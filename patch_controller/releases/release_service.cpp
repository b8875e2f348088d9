// SPDX-License-Identifier: Apache-2.0
#include "releases/release_service.hpp"

#include <patch_core/errors.hpp>
#include <patch_core/patch_id.hpp>

#include <filesystem>
#include <shared_mutex>

namespace patching::controller {

void ReleaseService::check_release(const std::string& release) const {
    if (auto problem = core::release_problem(release)) {
        throw InvalidRequest("Invalid release " + core::escape_unprintable(release) + ": " + *problem);
    }
    if (release == config_.running_release) {
        throw Conflict("Rejected: Requested release " + release + " is running release");
    }
}

OpReport ReleaseService::init_release(const std::string& release) {
    std::lock_guard op(state_.operation_mutex);
    check_release(release);
    OpReport report;
    if (publishing_.repo().is_published(release)) {
        report.add_info("Patch repository for " + release + " already exists");
    }
    store_.write([&](WriteTransaction& tx) { tx.add_release(release); });
    {
        std::unique_lock data(state_.mutex);
        state_.extra_releases.insert(release);
    }
    try {
        publishing_.publish(release);
    } catch (const std::exception& e) {
        throw OperationFailed({"Failed to create the repo for " + release + ": " + core::format_error_chain(e)},
                              report);
    }
    return report;
}

OpReport ReleaseService::del_release(const std::string& release) {
    std::lock_guard op(state_.operation_mutex);
    check_release(release);
    OpReport report;
    store_.write([&](WriteTransaction& tx) {
        tx.delete_release(release);
        tx.bump_op_counter();
    });
    {
        std::unique_lock data(state_.mutex);
        for (auto it = state_.patches.begin(); it != state_.patches.end();) {
            if (it->second.metadata.sw_version == release) {
                files_.remove_semantic_scripts(it->first);
                files_.remove_metadata(it->first);
                state_.tracker.remove_patch(it->first);
                it = state_.patches.erase(it);
            } else {
                ++it;
            }
        }
        state_.extra_releases.erase(release);
    }
    std::error_code ec;
    std::filesystem::remove_all(config_.packages_dir() / release, ec);
    if (!publishing_.repo().is_published(release)) {
        report.add_info("Patch repository for " + release + " does not exist");
    } else {
        publishing_.repo().remove_release(release);
    }
    return report;
}

}  // namespace patching::controller
