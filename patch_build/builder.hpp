// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <patch_core/metadata.hpp>
#include <patch_core/patch_file.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace patching::build {

/// Everything `patch-build` needs, as given on the command line (reference §7.1 options).
struct BuildRequest {
    std::string id;
    std::string release;
    std::optional<std::string> summary, description, warnings, install_instructions, status;
    bool unremovable = false;
    std::optional<std::string> reboot_required;  ///< "Y", "N" or unset (= Y).
    bool apply_active_release_only = false;
    std::vector<std::string> required_patches;
    /// RPMs for each personality (`--controller RPM` ...; `--all-nodes` expands to all).
    std::map<std::string, std::vector<std::filesystem::path>> personality_rpms;
    std::vector<std::filesystem::path> other_rpms;  ///< Positional: contents only.
    std::optional<std::filesystem::path> pre_apply, pre_remove;
    std::filesystem::path sign_key;
    std::optional<std::filesystem::path> cert;  ///< If given, must match sign_key.
    std::filesystem::path output_dir = ".";
    std::optional<std::int64_t> source_date_epoch;  ///< Reproducible timestamps.
    core::ProgressFn progress;
};

/// A validated build: every input checked, nothing written yet.
struct BuildPlan {
    core::PatchMetadata metadata;
    std::vector<core::SoftwareInput> rpms;  ///< Command-line order, duplicates removed.
    std::vector<core::TarMember> semantics;
    std::filesystem::path output;
    std::int64_t mtime = 0;
};

/// Checks every input before any work: ID and release syntax, text fields (valid UTF-8, no
/// control characters), each RPM exists, is a binary RPM whose file name matches its header,
/// no package twice, not empty, scripts readable, key loadable and matching --cert.
/// @throws core::BuildError (or RpmError / signing::Error) naming the bad input.
BuildPlan plan_build(const BuildRequest& request);

/// Builds and signs the patch; returns its path. Nothing is left behind on failure.
std::filesystem::path build_patch(const BuildRequest& request);

/// Writes a patch from a plan (split out so tools can rebuild from verified parts).
void write_planned_patch(const BuildPlan& plan, const signing::PrivateKey& key, const core::ProgressFn& progress);

}  // namespace patching::build
