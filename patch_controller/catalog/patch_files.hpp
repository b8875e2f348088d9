// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "catalog/controller_state.hpp"
#include "config.hpp"

#include <filesystem>
#include <string>

namespace patching::controller {

/// Where a patch's files live under state_dir, and the file steps of the operations:
///     packages/<release>/<rpm>                    the RPMs (owned by a store row)
///     metadata/{available,applied,committed}/<ID>-metadata.xml   derived from the store
///     semantics/{pre-apply,pre-remove}/<ID>       semantic check scripts
///     tmp/                                        uploads and imports in progress
/// Operations place new files before their store transaction and delete old ones after it,
/// so a crash in between leaves only files no row owns, which recovery deletes.
class PatchFiles {
public:
    explicit PatchFiles(const ControllerConfig& config) : config_(config) {}

    std::filesystem::path rpm_path(const std::string& release, const std::string& file_name) const;
    std::filesystem::path rpm_path(const CatalogPatch& patch, const StoredRpm& rpm) const {
        return rpm_path(patch.metadata.sw_version, rpm.file_name);
    }
    std::filesystem::path semantic_script(const std::string& action, const std::string& id) const;

    /// Creates every directory of the layout (and repo_dir).
    void create_directories() const;
    /// A new private directory under tmp/ (mode 0700) for `prefix`-work.
    std::filesystem::path make_staging_dir(const std::string& prefix) const;

    /// Writes the metadata file into the directory of the patch's repostate (atomically).
    void write_metadata(const CatalogPatch& patch) const;
    /// Removes the patch's metadata file from every directory.
    void remove_metadata(const std::string& id) const;
    /// Removes the patch's semantic check scripts.
    void remove_semantic_scripts(const std::string& id) const;
    /// Removes the patch's RPMs, semantic scripts and metadata files (after delete).
    void remove_patch_files(const CatalogPatch& patch) const;

    const ControllerConfig& config() const { return config_; }

private:
    const ControllerConfig& config_;
};

}  // namespace patching::controller
