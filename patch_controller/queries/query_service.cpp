// SPDX-License-Identifier: Apache-2.0
#include "queries/query_service.hpp"

#include <patch_core/dependencies.hpp>
#include <patch_core/errors.hpp>

#include <algorithm>
#include <shared_mutex>

namespace patching::controller {

using core::RepoState;

core::rest::PatchEntry QueryService::entry(const std::string& id, const CatalogPatch& p) const {
    const core::PatchMetadata& m = p.metadata;
    core::rest::PatchEntry e;
    e.repostate = std::string(core::to_string(p.repostate));
    e.patchstate = state_.patch_state(id);
    e.sw_version = m.sw_version;
    e.reboot_required = m.is_reboot_required() ? "Y" : "N";
    e.required = m.required_patches;
    e.status = m.status;
    e.unremovable = m.unremovable;
    e.summary = m.summary;
    e.description = m.description;
    e.install_instructions = m.install_instructions;
    e.warnings = m.warnings;
    e.apply_active_release_only = m.apply_active_release_only;
    for (const auto& [type, packages] : m.personalities) {
        e.personalities[type] = packages;
    }
    return e;
}

core::rest::QueryReply QueryService::query(const QueryRequest& request) const {
    std::shared_lock data(state_.mutex);
    core::rest::QueryReply reply;
    for (const auto& [id, p] : state_.patches) {
        if (!request.release.empty() && p.metadata.sw_version != request.release) {
            continue;
        }
        if ((request.show == "available" && p.repostate != RepoState::AVAILABLE) ||
            (request.show == "applied" && p.repostate != RepoState::APPLIED) ||
            (request.show == "committed" && p.repostate != RepoState::COMMITTED)) {
            continue;
        }
        reply.pd.emplace(id, entry(id, p));
    }
    return reply;
}

core::rest::ShowReply QueryService::show(std::vector<std::string> ids) const {
    normalise_ids(ids);
    std::shared_lock data(state_.mutex);
    core::rest::ShowReply reply;
    for (const auto& id : ids) {
        auto it = state_.patches.find(id);
        if (it == state_.patches.end()) {
            reply.error += core::escape_unprintable(id) + " is unrecognized\n";
            continue;
        }
        reply.metadata.emplace(id, entry(id, it->second));
        reply.contents[id] = it->second.metadata.contents;
    }
    return reply;
}

core::rest::DependenciesReply QueryService::query_dependencies(std::vector<std::string> ids, bool recursive) const {
    normalise_ids(ids);
    core::DependencyTable deps;
    {
        std::shared_lock data(state_.mutex);
        deps = state_.dependency_table();
    }
    core::DependencyQuery q = core::query_dependencies(deps, ids, recursive);
    return {q.patches, q.error};
}

OpReport QueryService::what_requires(std::vector<std::string> ids) const {
    normalise_ids(ids);
    core::DependencyTable deps;
    {
        std::shared_lock data(state_.mutex);
        deps = state_.dependency_table();
    }
    core::WhatRequiresResult r = core::what_requires(deps, ids);
    OpReport report;
    for (const auto& line : r.info) {
        report.add_info(line);
    }
    if (!r.errors.empty()) {
        throw NotFound(r.errors, report);
    }
    return report;
}

core::rest::AppDependenciesReply QueryService::app_dependencies() const {
    std::shared_lock data(state_.mutex);
    return state_.app_dependencies;
}

bool QueryService::all_in_state(const std::vector<std::string>& ids, const std::string& state) const {
    std::shared_lock data(state_.mutex);
    if (ids.empty()) {
        return false;
    }
    return std::all_of(ids.begin(), ids.end(), [&](const std::string& id) {
        return state_.patches.contains(id) && state_.patch_state(id) == state;
    });
}

}  // namespace patching::controller
