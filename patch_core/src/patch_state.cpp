// SPDX-License-Identifier: Apache-2.0
#include <patch_core/errors.hpp>
#include <patch_core/metadata.hpp>
#include <patch_core/patch_id.hpp>
#include <patch_core/patch_state.hpp>

#include <algorithm>
#include <utility>

namespace patching::core {

namespace {

constexpr std::pair<RepoState, std::string_view> REPO_STATE_NAMES[] = {
    {RepoState::AVAILABLE, "Available"},
    {RepoState::APPLIED, "Applied"},
    {RepoState::COMMITTED, "Committed"},
};

constexpr std::pair<PatchState, std::string_view> PATCH_STATE_NAMES[] = {
    {PatchState::AVAILABLE, "Available"},
    {PatchState::PARTIAL_APPLY, "Partial-Apply"},
    {PatchState::APPLIED, "Applied"},
    {PatchState::PARTIAL_REMOVE, "Partial-Remove"},
    {PatchState::COMMITTED, "Committed"},
    {PatchState::NA, "n/a"},
};

PatchState as_patch_state(RepoState repostate) {
    switch (repostate) {
        case RepoState::AVAILABLE: return PatchState::AVAILABLE;
        case RepoState::APPLIED: return PatchState::APPLIED;
        case RepoState::COMMITTED: return PatchState::COMMITTED;
    }
    return PatchState::NA;
}

PatchState partial_state(RepoState repostate) {
    switch (repostate) {
        case RepoState::AVAILABLE: return PatchState::PARTIAL_REMOVE;
        case RepoState::APPLIED: return PatchState::PARTIAL_APPLY;
        case RepoState::COMMITTED: return PatchState::COMMITTED;
    }
    return PatchState::NA;
}

// The reference's `v.split('@')[0]`, then `.split(':')[1]` when a colon is present.
std::string_view strip_epoch_and_arch(std::string_view value) {
    value = value.substr(0, value.find('@'));
    const size_t colon = value.find(':');
    if (colon == std::string_view::npos) {
        return value;
    }
    value.remove_prefix(colon + 1);
    return value.substr(0, value.find(':'));
}

Evr parse_stripped(std::string_view value) { return parse_pkgver(strip_epoch_and_arch(value)); }

bool contains(const std::vector<std::string>& list, const std::string& value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

void remove_from_lists(InterimState& interim, const std::string& host_id) {
    for (auto it = interim.begin(); it != interim.end();) {
        it->second.erase(host_id);
        it = it->second.empty() ? interim.erase(it) : std::next(it);
    }
}

}  // namespace

std::string_view to_string(RepoState state) {
    for (const auto& [value, name] : REPO_STATE_NAMES) {
        if (value == state) {
            return name;
        }
    }
    return "n/a";
}

std::string_view to_string(PatchState state) {
    for (const auto& [value, name] : PATCH_STATE_NAMES) {
        if (value == state) {
            return name;
        }
    }
    return "n/a";
}

std::optional<RepoState> parse_repo_state(std::string_view text) {
    for (const auto& [value, name] : REPO_STATE_NAMES) {
        if (name == text) {
            return value;
        }
    }
    return std::nullopt;
}

std::optional<PatchState> parse_patch_state(std::string_view text) {
    for (const auto& [value, name] : PATCH_STATE_NAMES) {
        if (name == text) {
            return value;
        }
    }
    return std::nullopt;
}

PatchInfo make_patch_info(const PatchMetadata& metadata, RepoState repostate) {
    PatchInfo info;
    info.id = metadata.id;
    info.sw_version = metadata.sw_version;
    info.repostate = repostate;
    info.reboot_required = metadata.is_reboot_required();
    for (const auto& rpm : metadata.contents) {
        if (auto parsed = parse_rpm_filename(rpm)) {
            info.content_versions[parsed->name] = parsed->version + "-" + parsed->release;
        }
    }
    info.personalities = metadata.personalities;
    return info;
}

std::string host_personality(const HostReport& host) {
    if (host.sw_version == "14.10") {
        return host.nodetype;
    }
    std::string joined;
    for (size_t i = 0; i < host.subfunctions.size(); ++i) {
        joined += (i == 0 ? "" : "-") + host.subfunctions[i];
    }
    return joined;
}

void interim_start(
    InterimState& interim, const std::string& patch_id, const std::set<std::string>& host_ids) {
    if (host_ids.empty()) {
        interim.erase(patch_id);
    } else {
        interim[patch_id] = host_ids;
    }
}

void interim_host_reported(InterimState& interim, const std::string& host_id) {
    remove_from_lists(interim, host_id);
}

void interim_drop_host(InterimState& interim, const std::string& host_id) {
    remove_from_lists(interim, host_id);
}

bool interim_has_host(const InterimState& interim, const std::string& host_id) {
    return std::any_of(interim.begin(), interim.end(), [&](const auto& entry) {
        return entry.second.count(host_id) != 0;
    });
}

// A deliberately literal transcription of check_patch_states(), so that the incremental
// tracker can be checked against it.
StateResult compute_patch_states(
    const std::map<std::string, PatchInfo>& patches,
    const std::map<std::string, HostReport>& hosts,
    const InterimState& interim) {
    StateResult result;
    if (hosts.empty()) {
        for (const auto& [id, patch] : patches) {
            result.states[id] = as_patch_state(patch.repostate);
        }
        return result;
    }
    for (const auto& [id, patch] : patches) {
        result.states[id] = interim.count(id) != 0 ? partial_state(patch.repostate)
                                                   : as_patch_state(patch.repostate);
    }
    auto mark = [&](const std::string& id, const PatchInfo& patch, PatchState state) {
        result.states[id] = state;
        if (patch.reboot_required) {
            result.allow_insvc_patching = false;
        }
    };
    for (const auto& [host_id, host] : hosts) {
        if (!host.out_of_date) {
            continue;
        }
        for (const auto& [pkg, installed] : host.installed) {
            for (const auto& [id, patch] : patches) {
                auto version = patch.content_versions.find(pkg);
                if (version == patch.content_versions.end() ||
                    patch.sw_version != host.sw_version) {
                    continue;
                }
                const int rc =
                    label_compare(parse_stripped(installed), parse_stripped(version->second));
                const bool in_interim = interim.count(id) != 0;
                if (patch.repostate == RepoState::AVAILABLE && (rc >= 0 || in_interim)) {
                    mark(id, patch, PatchState::PARTIAL_REMOVE);
                } else if (patch.repostate == RepoState::APPLIED && (rc == -1 || in_interim)) {
                    mark(id, patch, PatchState::PARTIAL_APPLY);
                }
            }
        }
        const std::string personality = host_personality(host);
        auto in_personality = [&](const PatchInfo& patch, const std::string& pkg) {
            auto it = patch.personalities.find(personality);
            return patch.content_versions.count(pkg) != 0 && it != patch.personalities.end() &&
                   contains(it->second, pkg);
        };
        for (const auto& pkg : host.to_remove) {
            for (const auto& [id, patch] : patches) {
                if (in_personality(patch, pkg) && patch.repostate == RepoState::AVAILABLE) {
                    mark(id, patch, PatchState::PARTIAL_REMOVE);
                }
            }
        }
        for (const auto& pkg : host.missing_pkgs) {
            for (const auto& [id, patch] : patches) {
                if (in_personality(patch, pkg) && patch.repostate == RepoState::APPLIED) {
                    mark(id, patch, PatchState::PARTIAL_APPLY);
                }
            }
        }
    }
    return result;
}

// ---- PatchStateTracker ----

void PatchStateTracker::add_installed(
    Match& match, const PatchEntry& patch, const HostEntry& host, const std::string& pkg,
    const Evr& installed) {
    if (patch.info.sw_version != host.report.sw_version) {
        return;
    }
    const int rc = label_compare(installed, patch.versions.at(pkg));
    match.installed = true;
    match.installed_ge = match.installed_ge || rc >= 0;
    match.installed_lt = match.installed_lt || rc < 0;
}

bool PatchStateTracker::is_flagged(
    const HostEntry& host, const PatchEntry& patch, const Match& match, bool in_interim) {
    if (!host.report.out_of_date) {
        return false;
    }
    switch (patch.info.repostate) {
        case RepoState::AVAILABLE:
            return (match.installed && (match.installed_ge || in_interim)) || match.to_remove;
        case RepoState::APPLIED:
            return (match.installed && (match.installed_lt || in_interim)) || match.missing;
        case RepoState::COMMITTED: return false;
    }
    return false;
}

PatchStateTracker::Match PatchStateTracker::match_patch(
    const HostEntry& host, const PatchEntry& patch) const {
    Match match;
    auto personality = patch.personalities.find(host.personality);
    for (const auto& [pkg, version] : patch.versions) {
        if (auto it = host.report.installed.find(pkg); it != host.report.installed.end()) {
            add_installed(match, patch, host, pkg, parse_stripped(it->second));
        }
        if (personality != patch.personalities.end() && personality->second.count(pkg) != 0) {
            match.to_remove = match.to_remove || host.to_remove.count(pkg) != 0;
            match.missing = match.missing || host.missing.count(pkg) != 0;
        }
    }
    return match;
}

std::map<std::string, PatchStateTracker::Match> PatchStateTracker::match_host(
    const HostEntry& host) const {
    std::map<std::string, Match> matches;
    for (const auto& [pkg, value] : host.report.installed) {
        auto ids = package_index_.find(pkg);
        if (ids == package_index_.end()) {
            continue;
        }
        const Evr installed = parse_stripped(value);
        for (const auto& id : ids->second) {
            // add_installed() ignores other releases, but an empty Match must not be stored.
            const PatchEntry& patch = patches_.at(id);
            if (patch.info.sw_version == host.report.sw_version) {
                add_installed(matches[id], patch, host, pkg, installed);
            }
        }
    }
    auto add_personality_hits = [&](const std::set<std::string>& packages, bool Match::*field) {
        for (const auto& pkg : packages) {
            auto ids = package_index_.find(pkg);
            if (ids == package_index_.end()) {
                continue;
            }
            for (const auto& id : ids->second) {
                const PatchEntry& patch = patches_.at(id);
                auto personality = patch.personalities.find(host.personality);
                if (personality != patch.personalities.end() &&
                    personality->second.count(pkg) != 0) {
                    matches[id].*field = true;
                }
            }
        }
    };
    add_personality_hits(host.to_remove, &Match::to_remove);
    add_personality_hits(host.missing, &Match::missing);
    return matches;
}

void PatchStateTracker::refresh_state(const std::string& patch_id, const PatchEntry& patch) {
    const bool partial = interim_.count(patch_id) != 0 || patch.flagging_hosts != 0;
    states_[patch_id] =
        partial ? partial_state(patch.info.repostate) : as_patch_state(patch.info.repostate);
}

void PatchStateTracker::refresh_flag(
    HostEntry& host, const std::string& patch_id, PatchEntry& patch) {
    auto match = host.matches.find(patch_id);
    const bool now = match != host.matches.end() &&
                     is_flagged(host, patch, match->second, interim_.count(patch_id) != 0);
    const bool before = host.flagged.count(patch_id) != 0;
    if (now == before) {
        return;
    }
    if (now) {
        host.flagged.insert(patch_id);
        if (patch.flagging_hosts++ == 0 && patch.info.reboot_required) {
            ++blocking_patches_;
        }
    } else {
        host.flagged.erase(patch_id);
        if (--patch.flagging_hosts == 0 && patch.info.reboot_required) {
            --blocking_patches_;
        }
    }
}

void PatchStateTracker::refresh_patch(const std::string& patch_id, PatchEntry& patch) {
    for (const auto& host_id : patch.hosts) {
        refresh_flag(hosts_.at(host_id), patch_id, patch);
    }
    refresh_state(patch_id, patch);
}

void PatchStateTracker::detach_patch(const std::string& patch_id, PatchEntry& patch) {
    for (const auto& host_id : patch.hosts) {
        HostEntry& host = hosts_.at(host_id);
        host.matches.erase(patch_id);
        host.flagged.erase(patch_id);
    }
    if (patch.flagging_hosts != 0 && patch.info.reboot_required) {
        --blocking_patches_;
    }
    patch.hosts.clear();
    patch.flagging_hosts = 0;
    for (const auto& [pkg, version] : patch.versions) {
        auto ids = package_index_.find(pkg);
        ids->second.erase(patch_id);
        if (ids->second.empty()) {
            package_index_.erase(ids);
        }
    }
}

void PatchStateTracker::set_patch(PatchInfo info) {
    const std::string id = info.id;
    if (auto old = patches_.find(id); old != patches_.end()) {
        detach_patch(id, old->second);
        patches_.erase(old);
    }
    PatchEntry& patch = patches_[id];
    patch.info = std::move(info);
    for (const auto& [pkg, version] : patch.info.content_versions) {
        patch.versions[pkg] = parse_stripped(version);
        package_index_[pkg].insert(id);
    }
    for (const auto& [type, packages] : patch.info.personalities) {
        patch.personalities[type].insert(packages.begin(), packages.end());
    }
    for (auto& [host_id, host] : hosts_) {
        Match match = match_patch(host, patch);
        if (match.any()) {
            host.matches[id] = match;
            patch.hosts.insert(host_id);
        }
    }
    refresh_patch(id, patch);
}

void PatchStateTracker::remove_patch(const std::string& patch_id) {
    auto it = patches_.find(patch_id);
    if (it == patches_.end()) {
        return;
    }
    detach_patch(patch_id, it->second);
    patches_.erase(it);
    states_.erase(patch_id);
    erase_interim(patch_id);
}

void PatchStateTracker::set_repostate(const std::string& patch_id, RepoState repostate) {
    auto it = patches_.find(patch_id);
    PATCHING_ASSERT(it != patches_.end(), "set_repostate of unknown patch " + patch_id);
    it->second.info.repostate = repostate;
    refresh_patch(patch_id, it->second);
}

void PatchStateTracker::erase_interim(const std::string& patch_id) {
    auto it = interim_.find(patch_id);
    if (it == interim_.end()) {
        return;
    }
    for (const auto& host_id : it->second) {
        auto pending = host_interim_.find(host_id);
        pending->second.erase(patch_id);
        if (pending->second.empty()) {
            host_interim_.erase(pending);
        }
    }
    interim_.erase(it);
}

void PatchStateTracker::start_interim(const std::string& patch_id) {
    auto it = patches_.find(patch_id);
    PATCHING_ASSERT(it != patches_.end(), "start_interim of unknown patch " + patch_id);
    erase_interim(patch_id);
    if (!hosts_.empty()) {
        std::set<std::string>& pending = interim_[patch_id];
        for (const auto& [host_id, host] : hosts_) {
            pending.insert(host_id);
            host_interim_[host_id].insert(patch_id);
        }
    }
    refresh_patch(patch_id, it->second);
}

void PatchStateTracker::clear_interim() {
    InterimState old;
    old.swap(interim_);
    host_interim_.clear();
    for (const auto& [patch_id, hosts] : old) {
        if (auto it = patches_.find(patch_id); it != patches_.end()) {
            refresh_patch(patch_id, it->second);
        }
    }
}

void PatchStateTracker::remove_host_from_interim(const std::string& host_id) {
    auto pending = host_interim_.find(host_id);
    if (pending == host_interim_.end()) {
        return;
    }
    const std::set<std::string> patch_ids = std::move(pending->second);
    host_interim_.erase(pending);
    for (const auto& patch_id : patch_ids) {
        auto list = interim_.find(patch_id);
        list->second.erase(host_id);
        if (list->second.empty()) {
            interim_.erase(list);
            if (auto it = patches_.find(patch_id); it != patches_.end()) {
                refresh_patch(patch_id, it->second);
            }
        }
    }
}

void PatchStateTracker::update_host(HostReport report) {
    const std::string host_id = report.host_id;
    HostEntry& host = hosts_[host_id];
    host.report = std::move(report);
    host.personality = host_personality(host.report);
    host.to_remove = {host.report.to_remove.begin(), host.report.to_remove.end()};
    host.missing = {host.report.missing_pkgs.begin(), host.report.missing_pkgs.end()};

    std::map<std::string, Match> old_matches = std::move(host.matches);
    host.matches = match_host(host);
    for (const auto& [patch_id, match] : old_matches) {
        if (host.matches.count(patch_id) == 0) {
            PatchEntry& patch = patches_.at(patch_id);
            patch.hosts.erase(host_id);
            refresh_flag(host, patch_id, patch);
            refresh_state(patch_id, patch);
        }
    }
    for (const auto& [patch_id, match] : host.matches) {
        PatchEntry& patch = patches_.at(patch_id);
        patch.hosts.insert(host_id);
        refresh_flag(host, patch_id, patch);
        refresh_state(patch_id, patch);
    }
}

void PatchStateTracker::host_reported(HostReport report) {
    const std::string host_id = report.host_id;
    update_host(std::move(report));
    remove_host_from_interim(host_id);
}

void PatchStateTracker::drop_host(const std::string& host_id) {
    auto it = hosts_.find(host_id);
    if (it == hosts_.end()) {
        return;
    }
    HostEntry& host = it->second;
    const std::map<std::string, Match> matches = std::move(host.matches);
    host.matches.clear();
    for (const auto& [patch_id, match] : matches) {
        PatchEntry& patch = patches_.at(patch_id);
        patch.hosts.erase(host_id);
        refresh_flag(host, patch_id, patch);
        refresh_state(patch_id, patch);
    }
    hosts_.erase(it);
    remove_host_from_interim(host_id);
}

PatchState PatchStateTracker::get_state(const std::string& patch_id) const {
    auto it = states_.find(patch_id);
    return it == states_.end() ? PatchState::NA : it->second;
}

bool PatchStateTracker::is_host_in_interim(const std::string& host_id) const {
    return host_interim_.count(host_id) != 0;
}

const PatchInfo* PatchStateTracker::find_patch(const std::string& patch_id) const {
    auto it = patches_.find(patch_id);
    return it == patches_.end() ? nullptr : &it->second.info;
}

const HostReport* PatchStateTracker::find_host(const std::string& host_id) const {
    auto it = hosts_.find(host_id);
    return it == hosts_.end() ? nullptr : &it->second.report;
}

StateResult PatchStateTracker::recompute_all() const {
    std::map<std::string, PatchInfo> patches;
    for (const auto& [id, patch] : patches_) {
        patches.emplace(id, patch.info);
    }
    std::map<std::string, HostReport> hosts;
    for (const auto& [id, host] : hosts_) {
        hosts.emplace(id, host.report);
    }
    return compute_patch_states(patches, hosts, interim_);
}

}  // namespace patching::core
