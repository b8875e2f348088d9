// SPDX-License-Identifier: Apache-2.0
#include "catalog/recovery.hpp"

#include <common/log.hpp>

#include <patch_core/errors.hpp>

#include <filesystem>
#include <shared_mutex>

namespace patching::controller {

namespace fs = std::filesystem;

void recover(const ControllerConfig& config, ControllerState& state, Store& store, const PatchFiles& files,
             Publishing& publishing) {
    std::lock_guard op(state.operation_mutex);
    // Repositories are republished below before the server starts, so the stored counter is
    // already published; interim lists from before a restart wait for any new report.
    state.published_counter = static_cast<std::uint64_t>(store.op_counter());
    files.create_directories();
    // Uploads and imports interrupted by a crash: nothing in tmp is referenced by the store.
    for (const auto& entry : fs::directory_iterator(config.tmp_dir())) {
        fs::remove_all(entry.path());
    }

    std::unique_lock data(state.mutex);
    state.interim_counter = 0;
    state.load(store);

    // Store files no patch owns were left by an import that crashed before its commit, or by
    // a commit or delete that crashed before it removed what it had freed.
    std::set<fs::path> owned;
    for (const auto& [id, p] : state.patches) {
        for (const auto& rpm : p.rpms) {
            owned.insert(files.rpm_path(p, rpm));
        }
    }
    for (const auto& release_dir : fs::directory_iterator(config.packages_dir())) {
        if (!release_dir.is_directory()) {
            continue;
        }
        for (const auto& file : fs::directory_iterator(release_dir.path())) {
            if (!owned.contains(file.path())) {
                common::log::info("removing orphaned \"" + file.path().string() + "\"");
                fs::remove(file.path());
            }
        }
    }
    for (const char* action : {"pre-apply", "pre-remove"}) {
        for (const auto& file : fs::directory_iterator(config.semantics_dir() / action)) {
            if (!state.patches.contains(file.path().filename().string())) {
                fs::remove(file.path());
            }
        }
    }
    // Metadata directories are derived from the store: rewrite them to match.
    for (const char* dir : {"available", "applied", "committed"}) {
        for (const auto& file : fs::directory_iterator(config.metadata_dir() / dir)) {
            fs::remove(file.path());
        }
    }
    for (const auto& [id, p] : state.patches) {
        files.write_metadata(p);
    }
    const std::set<std::string> releases = state.known_releases(config.running_release);
    data.unlock();
    for (const auto& release : releases) {
        try {
            publishing.publish(release);
        } catch (const std::exception& e) {
            common::log::error("cannot publish the repository for " + release + ": " + core::format_error_chain(e));
        }
    }
}

}  // namespace patching::controller
