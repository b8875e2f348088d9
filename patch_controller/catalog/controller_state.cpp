// SPDX-License-Identifier: Apache-2.0
#include "catalog/controller_state.hpp"

#include <common/log.hpp>

#include <patch_core/metadata.hpp>

#include <algorithm>

namespace patching::controller {

StoredPatch CatalogPatch::to_stored() const {
    return {metadata.id, metadata.sw_version, std::string(core::to_string(repostate)), metadata_xml, rpms, imported_at};
}

StoredHost HostRecord::to_stored() const {
    return {hostname, ip, last_seen, report.sw_version, report.nodetype, personality,
            report.subfunctions, boot_id};
}

void ControllerState::load(Store& store) {
    patches.clear();
    tracker = core::PatchStateTracker();
    for (auto& stored : store.load_patches()) {
        CatalogPatch p;
        try {
            p.metadata = core::parse_metadata_xml(stored.metadata_xml, stored.id);
        } catch (const std::exception& e) {
            common::log::warning("ignoring patch " + stored.id + " with unreadable metadata: " + e.what());
            continue;
        }
        p.metadata_xml = std::move(stored.metadata_xml);
        p.repostate = core::parse_repo_state(stored.repostate).value_or(core::RepoState::AVAILABLE);
        p.rpms = std::move(stored.rpms);
        p.imported_at = stored.imported_at;
        tracker.set_patch(core::make_patch_info(p.metadata, p.repostate));
        patches.emplace(stored.id, std::move(p));
    }
    extra_releases = store.load_releases();
    app_dependencies = store.load_app_dependencies();
    hosts.clear();
    for (auto& stored : store.load_hosts()) {
        HostRecord h;
        h.hostname = stored.hostname;
        h.ip = stored.ip;
        h.last_seen = stored.last_seen;
        h.state = core::protocol::HostState::UNKNOWN;
        h.boot_id = stored.boot_id;
        h.report.host_id = stored.hostname;
        h.report.sw_version = stored.sw_version;
        h.report.nodetype = stored.nodetype;
        h.report.subfunctions = stored.subfunctions;
        h.personality = stored.personality;
        hosts.emplace(stored.hostname, std::move(h));
    }
    commands.clear();
    command_seq = 0;
    for (auto& stored : store.load_commands()) {
        command_seq = std::max(command_seq, stored.seq);
        auto host = hosts.find(stored.hostname);
        if (host == hosts.end()) {
            continue;  // its host was dropped (drop-host deletes both in one transaction)
        }
        HostRecord& h = host->second;
        (core::protocol::is_finished(stored.status) ? h.history : h.queue).push_back(stored.id);
        if (stored.kind == core::protocol::CommandKind::INSTALL) {
            h.last_install = stored.id;
        }
        commands.emplace(stored.id, std::move(stored));
    }
}

core::DependencyTable ControllerState::dependency_table() const {
    core::DependencyTable table;
    for (const auto& [id, p] : patches) {
        table[id] = {p.metadata.required_patches, p.repostate, p.metadata.status.value_or(""), p.metadata.sw_version,
                     p.metadata.contents};
    }
    return table;
}

std::set<std::string> ControllerState::known_releases(const std::string& running_release) const {
    std::set<std::string> releases = extra_releases;
    releases.insert(running_release);
    for (const auto& [id, p] : patches) {
        releases.insert(p.metadata.sw_version);
    }
    return releases;
}

bool ControllerState::any_host_installing() const {
    return std::any_of(hosts.begin(), hosts.end(), [](const auto& kv) {
        return kv.second.state == core::protocol::HostState::INSTALLING;
    });
}

std::string ControllerState::patch_state(const std::string& id) const {
    return std::string(core::to_string(tracker.get_state(id)));
}

void normalise_ids(std::vector<std::string>& ids) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
}

}  // namespace patching::controller
