// SPDX-License-Identifier: Apache-2.0
#include <patch_core/dependencies.hpp>
#include <patch_core/errors.hpp>
#include <patch_core/evr.hpp>
#include <patch_core/patch_id.hpp>

#include <algorithm>
#include <cstdio>
#include <set>
#include <tuple>

namespace patching::core {

namespace {

std::string join_comma(const std::set<std::string>& items) {
    std::string out;
    for (const auto& item : items) {
        out += (out.empty() ? "" : ", ") + item;
    }
    return out;
}

std::vector<std::string> required_by_lines(
    const std::map<std::string, std::set<std::string>>& by) {
    std::vector<std::string> lines;
    for (const auto& [required, requirers] : by) {
        lines.push_back(required + " is required by: " + join_comma(requirers));
    }
    return lines;
}

std::string indented_list(std::string header, const std::vector<std::string>& ids) {
    for (const auto& id : ids) {
        header += "    " + id + "\n";
    }
    return header;
}

std::string unrecognized_error(const DependencyTable& table, const std::vector<std::string>& ids) {
    std::vector<std::string> sorted = ids;
    std::sort(sorted.begin(), sorted.end());
    std::string error;
    for (const auto& id : sorted) {
        if (table.count(id) == 0) {
            error += id + " is unrecognized\n";
        }
    }
    return error;
}

}  // namespace

std::string join_lines(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& line : lines) {
        out += line + "\n";
    }
    return out;
}

std::vector<std::string> missing_patch_errors(
    const DependencyTable& table, const std::vector<std::string>& ids) {
    std::vector<std::string> errors;
    for (const auto& id : std::set<std::string>(ids.begin(), ids.end())) {
        if (table.count(id) == 0) {
            errors.push_back("Patch " + id + " does not exist");
        }
    }
    return errors;
}

std::vector<std::string> apply_requires_errors(
    const DependencyTable& table, const std::vector<std::string>& ids) {
    const std::set<std::string> op_set(ids.begin(), ids.end());
    std::map<std::string, std::set<std::string>> unmet;
    for (const auto& id : op_set) {
        auto patch = table.find(id);
        if (patch == table.end()) {
            continue;
        }
        for (const auto& required : patch->second.required_patches) {
            if (op_set.count(required) != 0) {
                continue;
            }
            auto req = table.find(required);
            if (req == table.end() || req->second.repostate == RepoState::AVAILABLE) {
                unmet[required].insert(id);
            }
        }
    }
    return required_by_lines(unmet);
}

std::vector<std::string> remove_required_by_errors(
    const DependencyTable& table, const std::vector<std::string>& ids) {
    const std::set<std::string> op_set(ids.begin(), ids.end());
    std::map<std::string, std::set<std::string>> needed;
    for (const auto& [id, patch] : table) {
        if (op_set.count(id) != 0 || patch.repostate == RepoState::AVAILABLE) {
            continue;
        }
        for (const auto& required : patch.required_patches) {
            if (op_set.count(required) != 0) {
                needed[required].insert(id);
            }
        }
    }
    return required_by_lines(needed);
}

WhatRequiresResult what_requires(
    const DependencyTable& table, const std::vector<std::string>& ids) {
    WhatRequiresResult result;
    for (const auto& id : ids) {
        if (table.count(id) == 0) {
            result.errors.push_back("Patch " + id + " does not exist");
        }
    }
    if (!result.errors.empty()) {
        return result;
    }
    const std::set<std::string> wanted(ids.begin(), ids.end());
    std::map<std::string, std::set<std::string>> requirers;
    for (const auto& [id, patch] : table) {
        for (const auto& required : patch.required_patches) {
            if (wanted.count(required) != 0) {
                requirers[required].insert(id);
            }
        }
    }
    for (const auto& id : ids) {
        auto it = requirers.find(id);
        result.info.push_back(
            it == requirers.end() ? id + " is not required by any patches."
                                  : id + " is required by: " + join_comma(it->second));
    }
    return result;
}

DependencyQuery query_dependencies(
    const DependencyTable& table, const std::vector<std::string>& ids, bool recursive) {
    DependencyQuery query;
    query.error = unrecognized_error(table, ids);
    if (!query.error.empty()) {
        return query;
    }
    std::set<std::string> found(ids.begin(), ids.end());
    std::vector<std::string> frontier(found.begin(), found.end());
    while (!frontier.empty()) {
        std::vector<std::string> next;
        for (const auto& id : frontier) {
            auto patch = table.find(id);
            if (patch == table.end()) {
                continue;
            }
            for (const auto& required : patch->second.required_patches) {
                if (found.insert(required).second) {
                    next.push_back(required);
                }
            }
        }
        if (!recursive) {
            break;
        }
        frontier = std::move(next);
    }
    query.patches.assign(found.begin(), found.end());
    return query;
}

CommitPlan commit_plan(
    const DependencyTable& table,
    const std::vector<std::string>& ids,
    const std::map<std::string, PatchState>& patchstates) {
    CommitPlan plan;
    std::vector<std::string> non_rel;
    for (const auto& [id, patch] : table) {
        if (patch.status != "REL") {
            non_rel.push_back(id);
        }
    }
    if (!non_rel.empty()) {
        plan.error = indented_list(
            "A commit cannot be performed with non-REL status patches in the system:\n", non_rel);
        plan.refusal = CommitRefusal::NON_REL_PATCHES;
        return plan;
    }
    plan.error = unrecognized_error(table, ids);
    if (!plan.error.empty()) {
        plan.refusal = CommitRefusal::UNKNOWN_IDS;
        return plan;
    }
    plan.commit_list = query_dependencies(table, ids, true).patches;

    std::vector<std::string> not_applied;
    for (const auto& id : plan.commit_list) {
        auto state = patchstates.find(id);
        if (table.count(id) == 0 || state == patchstates.end() ||
            (state->second != PatchState::APPLIED && state->second != PatchState::COMMITTED)) {
            not_applied.push_back(id);
        }
    }
    if (!not_applied.empty()) {
        plan.error = indented_list(
            "The following patches are not applied and cannot be committed:\n", not_applied);
        plan.refusal = CommitRefusal::NOT_APPLIED;
        plan.commit_list.clear();
        return plan;
    }

    struct Kept {
        std::string rpm;
        Evr evr;
    };
    std::map<std::tuple<std::string, std::string, std::string>, Kept> keep;
    std::set<CleanupFile> cleanup;
    for (const auto& id : plan.commit_list) {
        const PatchDependencyInfo& patch = table.at(id);
        for (const auto& rpm : patch.contents) {
            auto parsed = parse_rpm_filename(rpm);
            if (!parsed) {
                throw MetadataError(
                    "Patch " + id + " lists a file that is not an RPM file name: " +
                    escape_unprintable(rpm));
            }
            Evr evr{parsed->epoch, parsed->version, parsed->release};
            auto [it, inserted] = keep.try_emplace(
                std::make_tuple(patch.sw_version, parsed->name, parsed->arch), Kept{rpm, evr});
            if (inserted || it->second.rpm == rpm) {
                continue;
            }
            if (label_compare(evr, it->second.evr) > 0) {
                cleanup.insert({patch.sw_version, it->second.rpm, parsed->arch});
                it->second = Kept{rpm, std::move(evr)};
            } else {
                cleanup.insert({patch.sw_version, rpm, parsed->arch});
            }
        }
    }
    plan.cleanup.assign(cleanup.begin(), cleanup.end());
    return plan;
}

std::string commit_free_message(std::uint64_t bytes) {
    char buffer[96];
    std::snprintf(
        buffer, sizeof buffer, "This commit operation would free %0.2f MiB",
        static_cast<double>(bytes) / (1024.0 * 1024.0));
    return buffer;
}

}  // namespace patching::core
