// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <patch_core/evr.hpp>

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace patching::core {

struct PatchMetadata;  ///< metadata.hpp

/// Where a patch's metadata file lives on the controller (spec §3.2): the repository state.
enum class RepoState { AVAILABLE, APPLIED, COMMITTED };

/// The aggregated state of a patch across all hosts (spec §3.6). NA ("n/a") is what the
/// reference shows before any host has reported; this library never computes it for a known
/// patch (see compute_patch_states) but keeps it for the wire format and unknown IDs.
enum class PatchState { AVAILABLE, PARTIAL_APPLY, APPLIED, PARTIAL_REMOVE, COMMITTED, NA };

/// "Available", "Applied" or "Committed", the reference's strings.
std::string_view to_string(RepoState state);

/// "Available", "Partial-Apply", "Applied", "Partial-Remove", "Committed" or "n/a".
std::string_view to_string(PatchState state);

/// The inverse of to_string(RepoState); nullopt for any other text (case-sensitive).
std::optional<RepoState> parse_repo_state(std::string_view text);

/// The inverse of to_string(PatchState); nullopt for any other text (case-sensitive).
std::optional<PatchState> parse_patch_state(std::string_view text);

/// What the controller knows about one host (spec §3.7), as far as the state computation needs.
struct HostReport {
    std::string host_id;  ///< The reference keys hosts by management IP.
    bool out_of_date = false;  ///< The agent's `changes` flag; current hosts are ignored.
    std::string sw_version;  ///< The host's running release.
    std::vector<std::string> subfunctions;  ///< e.g. {"controller", "worker"}.
    std::string nodetype;  ///< Used instead of subfunctions when sw_version is "14.10".
    /// name -> "[E:]V-R@arch", only for installed packages that differ from the repo.
    std::map<std::string, std::string> installed;
    std::vector<std::string> to_remove;  ///< Installed packages in no enabled repo.
    std::vector<std::string> missing_pkgs;  ///< Packages of the host's group not installed.

    /// Field-wise equality.
    bool operator==(const HostReport&) const = default;
};

/// What the state computation needs to know about one patch.
struct PatchInfo {
    std::string id;          ///< Patch ID.
    std::string sw_version;  ///< The patch's release.
    RepoState repostate = RepoState::AVAILABLE;  ///< Which metadata directory holds it.
    bool reboot_required = true;  ///< False only for metadata reboot_required == "N".
    /// package name -> "V-R" (epoch dropped; two arches of one name collide, last wins).
    std::map<std::string, std::string> content_versions;
    /// personality type (e.g. "controller-worker") -> package names.
    std::map<std::string, std::vector<std::string>> personalities;

    /// Field-wise equality.
    bool operator==(const PatchInfo&) const = default;
};

/// Builds the PatchInfo the reference derives when it loads metadata (spec §1.3 "Derived
/// per-patch data"): content_versions from each <contents> name via parse_rpm_filename (so
/// multi-digit epochs are handled), later names overwriting earlier ones of the same package.
/// Names that do not parse are skipped (parse_metadata_xml already refuses them).
PatchInfo make_patch_info(const PatchMetadata& metadata, RepoState repostate);

/// The personality a host installs (spec §3.6 step 4.2, without the "personality-" prefix):
/// "-".join(subfunctions), or nodetype when the host's sw_version is "14.10".
std::string host_personality(const HostReport& host);

/// Patches whose operation some hosts have not yet acknowledged with a fresh detailed report:
/// patch ID -> host IDs still pending. A patch listed here is partial.
using InterimState = std::map<std::string, std::set<std::string>>;

/// Records an apply or remove of `patch_id`: its pending list becomes every host in
/// `host_ids`. With no hosts the entry is erased instead; the reference stored an empty list
/// that no report could ever clear, leaving the patch partial until the next controller sync.
void interim_start(
    InterimState& interim, const std::string& patch_id, const std::set<std::string>& host_ids);

/// A fresh detailed report arrived from `host_id`: removes it from every list and erases the
/// lists that become empty (reference behaviour).
void interim_host_reported(InterimState& interim, const std::string& host_id);

/// `host_id` was dropped or aged out: removes it from every list and erases the lists that
/// become empty. The reference left emptied lists behind, so the patch stayed partial until
/// the next controller sync (spec §9.2); this is the fix.
void interim_drop_host(InterimState& interim, const std::string& host_id);

/// True if `host_id` is pending in any list (the host table's `interim_state` field).
bool interim_has_host(const InterimState& interim, const std::string& host_id);

/// The outcome of the state computation.
struct StateResult {
    std::map<std::string, PatchState> states;  ///< One entry per known patch.
    bool allow_insvc_patching = true;  ///< False if a reboot-required patch is partial on a host.

    /// Field-wise equality.
    bool operator==(const StateResult&) const = default;
};

/// The reference's check_patch_states() (spec §3.6) as a pure function, with these fixes:
/// - No hosts: every patch gets its repostate (the reference set "n/a" on the first patch
///   only and returned from inside its loop, leaving allow_insvc_patching untouched); here
///   allow_insvc_patching is true, as nothing is partial.
/// - A Committed patch is always Committed, even when it is in `interim` (the reference kept
///   the previous patchstate, which after the reload following a commit is "n/a").
/// - Versions are split with parse_pkgver(), which handles multi-digit epochs.
/// Otherwise the reference rules hold exactly: a patch in `interim` is partial; each out-of-date
/// host makes a patch partial when an installed package of the patch's release is at or above
/// the patch's version while the patch is Available (Partial-Remove), or below it while the patch
/// is Applied (Partial-Apply), or any version while the patch is in `interim`; when a package to
/// remove belongs to the host's personality in an Available patch (any release); when a missing
/// package belongs to the host's personality in an Applied patch (any release). Each such hit on a
/// reboot-required patch clears allow_insvc_patching. Epochs are ignored in the version check.
/// A patch ID in `interim` whose list is empty still counts as listed. Pure and thread-safe;
/// costs O(hosts x their differing packages x patches).
StateResult compute_patch_states(
    const std::map<std::string, PatchInfo>& patches,
    const std::map<std::string, HostReport>& hosts,
    const InterimState& interim);

/// Keeps the §3.6 result up to date as patches, hosts and the interim lists change, at a cost
/// proportional to what changed: a host update or drop costs O(the host's differing packages x
/// the patches containing them); a repostate or interim change of one patch costs O(the hosts
/// whose packages touch it); adding or replacing a patch costs O(hosts x its packages). The
/// result always equals compute_patch_states() over the same data (see recompute_all()).
/// The interim lists only ever hold known hosts: they are filled from the host table and a
/// dropped host leaves them, so with no hosts every patch shows its repostate.
/// Not thread-safe: the caller serialises access (the controller holds its state lock).
class PatchStateTracker {
public:
    /// Adds a patch or replaces a known patch's info (e.g. metadata re-import). A replaced
    /// patch keeps its interim list.
    void set_patch(PatchInfo patch);

    /// Forgets a patch (delete, del-release) and its interim list. Unknown IDs are ignored.
    void remove_patch(const std::string& patch_id);

    /// Moves a known patch to another repostate (apply, remove, commit).
    /// @throws AssertionError if the patch is unknown.
    void set_repostate(const std::string& patch_id, RepoState repostate);

    /// Apply or remove of a known patch: its interim list becomes every known host (none:
    /// no list), as interim_start().
    /// @throws AssertionError if the patch is unknown.
    void start_interim(const std::string& patch_id);

    /// Empties every interim list (the reference does this after a controller sync).
    void clear_interim();

    /// Adds a host or replaces its report (hello-ack changes such as out_of_date or sw_version).
    /// Leaves the interim lists alone.
    void update_host(HostReport report);

    /// A fresh detailed report: update_host(report), then removes the host from every interim
    /// list, erasing lists that become empty (interim_host_reported()).
    void host_reported(HostReport report);

    /// Forgets a host (drop-host or age-out) and removes it from every interim list, erasing
    /// lists that become empty (interim_drop_host()). Unknown IDs are ignored.
    void drop_host(const std::string& host_id);

    /// The current state of a patch; NA if it is unknown.
    PatchState get_state(const std::string& patch_id) const;

    /// The current state of every known patch, sorted by ID. The reference stays valid until the
    /// next mutating call.
    const std::map<std::string, PatchState>& get_states() const { return states_; }

    /// The controller's global allow_insvc_patching flag (spec §3.6, §3.7).
    bool is_insvc_patching_allowed() const { return blocking_patches_ == 0; }

    /// get_states() and is_insvc_patching_allowed() together.
    StateResult get_result() const { return {states_, is_insvc_patching_allowed()}; }

    /// The interim lists, as interim_* would have left them.
    const InterimState& get_interim() const { return interim_; }

    /// True if the host is pending in any interim list (the host table's `interim_state`).
    bool is_host_in_interim(const std::string& host_id) const;

    /// The known patch, or nullptr. The pointer stays valid until the patch is replaced or
    /// removed.
    const PatchInfo* find_patch(const std::string& patch_id) const;

    /// The known host's last report, or nullptr. The pointer stays valid until the host is
    /// updated or dropped.
    const HostReport* find_host(const std::string& host_id) const;

    /// Number of known hosts.
    size_t get_host_count() const { return hosts_.size(); }

    /// Recomputes everything from scratch with compute_patch_states(); equal to get_result().
    /// Costs O(hosts x differing packages x patches); meant for verification and tests.
    StateResult recompute_all() const;

private:
    /// What one host's report says about one patch, independent of the patch's repostate and
    /// interim list.
    struct Match {
        bool installed = false;     ///< A differing installed package of the patch's release.
        bool installed_ge = false;  ///< ... at or above the patch's version.
        bool installed_lt = false;  ///< ... below the patch's version.
        bool to_remove = false;     ///< A package to remove in the host's personality.
        bool missing = false;       ///< A missing package in the host's personality.
        /// True if the report touches the patch at all.
        bool any() const { return installed || to_remove || missing; }
    };
    /// A known patch with its lookup structures and aggregated host contributions.
    struct PatchEntry {
        PatchInfo info;                       ///< As given to set_patch().
        std::map<std::string, Evr> versions;  ///< content_versions, parsed.
        std::map<std::string, std::set<std::string>> personalities;  ///< info's, as sets.
        std::set<std::string> hosts;  ///< Hosts with a Match for this patch.
        size_t flagging_hosts = 0;    ///< Hosts whose report makes this patch partial.
    };
    /// A known host with its report in lookup form and its per-patch contributions.
    struct HostEntry {
        HostReport report;                ///< As last given.
        std::string personality;          ///< host_personality(report).
        std::set<std::string> to_remove;  ///< report.to_remove as a set.
        std::set<std::string> missing;    ///< report.missing_pkgs as a set.
        std::map<std::string, Match> matches;  ///< patch ID -> what the report says about it.
        std::set<std::string> flagged;         ///< Patches this host makes partial.
    };

    /// Folds one differing installed package into `match` (release check included).
    static void add_installed(
        Match& match, const PatchEntry& patch, const HostEntry& host, const std::string& pkg,
        const Evr& installed);
    /// True if the host makes the patch partial, given its repostate and interim membership.
    static bool is_flagged(
        const HostEntry& host, const PatchEntry& patch, const Match& match, bool in_interim);
    /// What the host's report says about one patch: O(the patch's packages).
    Match match_patch(const HostEntry& host, const PatchEntry& patch) const;
    /// What the host's report says about every patch: O(its packages x their patches).
    std::map<std::string, Match> match_host(const HostEntry& host) const;
    /// Re-evaluates whether `host` flags the patch and updates the counters.
    void refresh_flag(HostEntry& host, const std::string& patch_id, PatchEntry& patch);
    /// refresh_flag() for every host touching the patch, then refresh_state().
    void refresh_patch(const std::string& patch_id, PatchEntry& patch);
    /// Stores the patch's state derived from repostate, interim list and flagging hosts.
    void refresh_state(const std::string& patch_id, const PatchEntry& patch);
    /// Removes the patch's contributions from hosts, counters and the package index.
    void detach_patch(const std::string& patch_id, PatchEntry& patch);
    /// Erases the patch's interim list and its reverse index entries.
    void erase_interim(const std::string& patch_id);
    /// Removes the host from every interim list, erasing (and re-evaluating) emptied ones.
    void remove_host_from_interim(const std::string& host_id);

    std::map<std::string, PatchEntry> patches_;  ///< Known patches by ID.
    std::map<std::string, HostEntry> hosts_;     ///< Known hosts by ID.
    std::map<std::string, std::set<std::string>> package_index_;  ///< package -> patch IDs.
    InterimState interim_;  ///< Never holds an empty list or an unknown host.
    std::map<std::string, std::set<std::string>> host_interim_;  ///< host -> pending patches.
    std::map<std::string, PatchState> states_;  ///< The maintained result.
    size_t blocking_patches_ = 0;  ///< Reboot-required patches some host makes partial.
};

}  // namespace patching::core
