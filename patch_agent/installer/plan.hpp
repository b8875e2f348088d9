// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "repo/repo_index.hpp"

#include <patch_core/evr.hpp>
#include <patch_core/rpm/installed.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace patching::agent {

/// The epoch-version-release of a repository or an installed package, for comparisons.
core::Evr evr_of(const RepoPackage& p);
core::Evr evr_of(const rpm::InstalledPackage& p);

/// What must change on a host so that its packages match the repository (spec §4.2), computed
/// without I/O so it can be unit-tested.
///
/// Differences from the reference, on purpose:
///  * Installed packages that are in no repository are removed only if the patch system put
///    them there (`managed` names, the agent's ledger of packages it installed from patches);
///    packages the patch system never heard of are left alone (the reference removed them).
///  * A missing comps group is not a crash: it simply adds no packages.
///  * Duplicates are reported and repaired (see Plan::duplicate_erasures), not a dead end.
struct Plan {
    std::vector<RepoPackage> to_upgrade;  ///< Installed older than the repo: install the repo one.
    std::vector<RepoPackage> to_downgrade;  ///< Installed newer than the repo: downgrade to it.
    std::vector<RepoPackage> missing;       ///< In the host's group, not installed at all.
    std::vector<rpm::InstalledPackage> to_remove;  ///< Managed, installed, in no repo.
    /// Every (name, arch) installed more than once: each copy, as the rpmdb lists them.
    std::vector<rpm::DuplicatePackage> duplicates;
    /// Report fields (spec §3.7): name -> "[E:]V-R@arch" for every installed package that
    /// differs from the repo (upgrade, downgrade or remove candidates).
    std::map<std::string, std::string> installed;
    std::vector<std::string> to_remove_names;  ///< Sorted names of to_remove.
    std::vector<std::string> missing_names;    ///< Sorted names of missing.
    /// name -> arch -> ["[E:]V-R@arch", ...] for duplicates.
    std::map<std::string, std::map<std::string, std::vector<std::string>>> duplicated;

    /// True if anything is pending (the reference's `changes` / out_of_date).
    bool has_changes() const {
        return !to_upgrade.empty() || !to_downgrade.empty() || !missing.empty() ||
               !to_remove.empty() || !duplicates.empty();
    }
};

/// "updates-" + subfunctions joined by "-" (spec §4.2), e.g. "updates-controller-worker".
std::string comps_group_id(const std::vector<std::string>& subfunctions);

/// Computes the plan. `managed` holds "name.arch" keys of packages the agent installed from
/// the repository (its ledger). For each installed (name, arch) the highest repo package of the
/// same name and arch (rpm version order: epoch, version, release) is the target; several repo
/// versions of a name are normal (base feed + patches). Equal versions need nothing, even when
/// spelled differently ("1.0" and "1.00"). An installed (name, arch) that no repo package has is
/// removed if it is managed and left alone otherwise.
///
/// A duplicated (name, arch) goes to `duplicates`/`duplicated` only (the installer repairs it
/// on its own), never to to_upgrade/to_downgrade/to_remove; it is still reported in
/// `installed` when its highest installed copy differs from the repo (or, when managed, the
/// repo no longer has it).
///
/// Missing group packages: each name of the comps group comps_group_id(subfunctions) of which
/// no arch is installed; the repo package chosen is the highest version among those of
/// `host_arch`, else among the noarch ones, else among any arch. Names the repo lacks are
/// skipped.
///
/// `installed` keys a name once; if several arches of a name differ from the repo, the
/// alphabetically first arch is reported. Every list is sorted (by name, then arch); the lists
/// of `duplicated` keep the input's order (list_installed sorts copies by install time).
/// Source packages in `installed` are ignored. Pure and thread-safe.
Plan compute_plan(
    const std::vector<rpm::InstalledPackage>& installed,
    const RepoIndex& repo,
    const std::vector<std::string>& subfunctions,
    const std::set<std::string>& managed,
    const std::string& host_arch);

/// compute_plan() with host_arch = host_arch_of(installed).
Plan compute_plan(
    const std::vector<rpm::InstalledPackage>& installed,
    const RepoIndex& repo,
    const std::vector<std::string>& subfunctions,
    const std::set<std::string>& managed);

/// The host's architecture as its rpmdb shows it: the most common arch other than "noarch"
/// among `installed` (ties: alphabetically first); "" when there is none.
std::string host_arch_of(const std::vector<rpm::InstalledPackage>& installed);

/// "[E:]V-R@arch" as the reports show packages (the epoch only when not empty and not "0").
std::string report_version(
    const std::string& epoch,
    const std::string& version,
    const std::string& release,
    const std::string& arch);

}  // namespace patching::agent
