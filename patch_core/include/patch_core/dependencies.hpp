// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <patch_core/patch_state.hpp>

#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace patching::core {

/// What the dependency and commit rules (spec §2) need to know about one patch.
struct PatchDependencyInfo {
    /// <requires><req_patch_id> entries. (Not named `requires`, a C++20 keyword.)
    std::vector<std::string> required_patches;
    RepoState repostate = RepoState::AVAILABLE;  ///< Which metadata directory holds it.
    std::string status;  ///< Metadata <status>; empty when absent. Only "REL" allows commit.
    std::string sw_version;  ///< The patch's release.
    std::vector<std::string> contents;  ///< RPM file basenames, in metadata order.
};

/// Every known patch, by ID.
using DependencyTable = std::map<std::string, PatchDependencyInfo>;

/// Joins lines as the reference builds its info/warning/error strings: each followed by "\n".
std::string join_lines(const std::vector<std::string>& lines);

/// "Patch X does not exist" for each ID of `ids` (sorted, de-duplicated) that `table` lacks:
/// the existence check apply and remove run first (spec §3.4).
std::vector<std::string> missing_patch_errors(
    const DependencyTable& table, const std::vector<std::string>& ids);

/// The apply requires check (spec §2): for each ID R required by a patch of `ids` but not in
/// `ids` that is unknown or Available, "R is required by: A, B" with the requiring patches
/// sorted, de-duplicated and comma-joined. Lines are sorted by R (the reference used dictionary
/// order). Unknown IDs in `ids` are skipped: run missing_patch_errors() first. Empty if the
/// apply may proceed.
std::vector<std::string> apply_requires_errors(
    const DependencyTable& table, const std::vector<std::string>& ids);

/// The remove check (spec §2): for each X in `ids` required by a patch outside `ids` whose
/// repostate is not Available, "X is required by: P, Q" (sorted, de-duplicated). Lines are
/// sorted by X. Empty if the remove may proceed.
std::vector<std::string> remove_required_by_errors(
    const DependencyTable& table, const std::vector<std::string>& ids);

/// Result of what_requires(). The reference's API returns these as its `info` and `error`
/// strings (see join_lines()).
struct WhatRequiresResult {
    std::vector<std::string> info;    ///< Lines without "\n".
    std::vector<std::string> errors;  ///< Lines without "\n".
};

/// sw-patch what-requires: if any ID of `ids` is unknown, only errors "Patch X does not exist"
/// (in input order). Otherwise one info line per ID in input order: "X is required by: A, B"
/// listing every patch of any state that requires X (sorted, de-duplicated), or
/// "X is not required by any patches.".
WhatRequiresResult what_requires(const DependencyTable& table, const std::vector<std::string>& ids);

/// Result of query_dependencies().
struct DependencyQuery {
    std::vector<std::string> patches;  ///< Sorted; includes the inputs. Empty on error.
    std::string error;  ///< "<id> is unrecognized\n" per unknown input (sorted); empty if none.
};

/// sw-patch query-dependencies: the inputs plus their direct requirements, or with `recursive`
/// the transitive closure. Required IDs that are unknown are included in the result but not
/// followed (the reference raised KeyError on them when recursing, spec §9.2).
DependencyQuery query_dependencies(
    const DependencyTable& table, const std::vector<std::string>& ids, bool recursive);

/// An RPM file that a commit makes redundant; it exists in the release's package store and,
/// while its patch is applied, in the repo under Packages/<arch>/.
struct CleanupFile {
    std::string sw_version;  ///< Release of the patch listing the file.
    std::string rpm;   ///< File basename.
    std::string arch;  ///< From the file name (the reference asked `rpm -qp %{ARCH}`).

    /// Orders by release, then file name, then arch.
    auto operator<=>(const CleanupFile&) const = default;
};

/// Which check of commit_plan() refused the commit.
enum class CommitRefusal {
    NONE,
    NON_REL_PATCHES,  ///< Step 1: some patch in the system is not REL.
    UNKNOWN_IDS,      ///< Step 2: an ID of the request is unknown.
    NOT_APPLIED,      ///< Step 4: a patch to commit is not applied.
};

/// Result of commit_plan().
struct CommitPlan {
    /// Non-empty if the commit is refused; the exact reference text, newline-terminated.
    std::string error;
    CommitRefusal refusal = CommitRefusal::NONE;  ///< Set with `error`.
    std::vector<std::string> commit_list;  ///< Sorted recursive closure of the request.
    std::vector<CleanupFile> cleanup;      ///< Sorted, unique.

    /// True if the commit may proceed.
    bool is_ok() const { return error.empty(); }
};

/// Steps 1-5 of the commit (spec §2), stopping at the first failing check:
/// 1. every known patch must have status "REL" (an absent status counts as non-REL; the
///    reference raised KeyError), else "A commit cannot be performed with non-REL status patches
///    in the system:\n" and "    <id>\n" per patch, sorted (the reference used dictionary order);
/// 2. every ID must be known, else "<id> is unrecognized\n" per unknown ID (sorted);
/// 3. commit_list = query_dependencies(ids, recursive=true).patches;
/// 4. each patch of commit_list must have `patchstates` Applied or Committed (a required ID that
///    is unknown, or has no entry, is not), else "The following patches are not applied and
///    cannot be committed:\n" and "    <id>\n" per patch;
/// 5. per (sw_version, package name, arch) over the contents of commit_list, the highest E:V-R
///    (label_compare, missing epoch = 0) is kept and every other file is cleaned up; of equal
///    versions the first in (patch ID, contents) order is kept. A file with the same name as
///    the kept one (the same RPM in two patches) is not cleaned up: the reference deleted it.
/// @throws MetadataError if a contents entry of commit_list is not an RPM file name.
CommitPlan commit_plan(
    const DependencyTable& table,
    const std::vector<std::string>& ids,
    const std::map<std::string, PatchState>& patchstates);

/// "This commit operation would free %0.2f MiB" for `bytes` (the sizes of the cleanup files'
/// store and repo copies that exist).
std::string commit_free_message(std::uint64_t bytes);

}  // namespace patching::core
