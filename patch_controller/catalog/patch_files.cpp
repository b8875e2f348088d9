// SPDX-License-Identifier: Apache-2.0
#include "catalog/patch_files.hpp"

#include <patch_core/errors.hpp>
#include <patch_core/fs.hpp>

#include <unistd.h>

#include <cerrno>

namespace patching::controller {

namespace fs = std::filesystem;

namespace {

const char* repo_dir_name(core::RepoState s) {
    switch (s) {
        case core::RepoState::AVAILABLE: return "available";
        case core::RepoState::APPLIED: return "applied";
        case core::RepoState::COMMITTED: return "committed";
    }
    return "available";
}

}  // namespace

fs::path PatchFiles::rpm_path(const std::string& release, const std::string& file_name) const {
    return config_.packages_dir() / release / file_name;
}

fs::path PatchFiles::semantic_script(const std::string& action, const std::string& id) const {
    return config_.semantics_dir() / action / id;
}

void PatchFiles::create_directories() const {
    for (const auto& dir : {config_.state_dir, config_.packages_dir(), config_.metadata_dir() / "available",
                            config_.metadata_dir() / "applied", config_.metadata_dir() / "committed",
                            config_.semantics_dir() / "pre-apply", config_.semantics_dir() / "pre-remove",
                            config_.tmp_dir(), config_.cache_dir(), config_.repo_dir}) {
        fs::create_directories(dir);
    }
}

fs::path PatchFiles::make_staging_dir(const std::string& prefix) const {
    fs::create_directories(config_.tmp_dir());
    std::string tmpl = (config_.tmp_dir() / (prefix + "XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
        throw core::SystemError(errno, "cannot create a working directory in", config_.tmp_dir());
    }
    return tmpl;
}

void PatchFiles::write_metadata(const CatalogPatch& patch) const {
    core::write_file_atomically(
        config_.metadata_dir() / repo_dir_name(patch.repostate) / (patch.metadata.id + "-metadata.xml"),
        patch.metadata_xml);
}

void PatchFiles::remove_metadata(const std::string& id) const {
    for (const char* dir : {"available", "applied", "committed"}) {
        std::error_code ec;
        fs::remove(config_.metadata_dir() / dir / (id + "-metadata.xml"), ec);
    }
}

void PatchFiles::remove_semantic_scripts(const std::string& id) const {
    for (const char* action : {"pre-apply", "pre-remove"}) {
        std::error_code ec;
        fs::remove(semantic_script(action, id), ec);
    }
}

void PatchFiles::remove_patch_files(const CatalogPatch& patch) const {
    for (const auto& rpm : patch.rpms) {
        std::error_code ec;
        fs::remove(rpm_path(patch, rpm), ec);
    }
    remove_semantic_scripts(patch.metadata.id);
    remove_metadata(patch.metadata.id);
}

}  // namespace patching::controller
