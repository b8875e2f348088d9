// SPDX-License-Identifier: Apache-2.0
#include "catalog/lifecycle_service.hpp"

#include <controller/faults/fault_points.hpp>
#include <common/subprocess.hpp>
#include <patch_core/dependencies.hpp>
#include <patch_core/errors.hpp>
#include <patch_core/patch_id.hpp>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <shared_mutex>

namespace patching::controller {

using core::PatchState;
using core::RepoState;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> unknown_id_errors(const ControllerState& state, const std::vector<std::string>& ids) {
    std::vector<std::string> errors;
    for (const auto& id : ids) {
        if (!state.patches.contains(id)) {
            errors.push_back("Patch " + core::escape_unprintable(id) + " does not exist");
        }
    }
    return errors;
}

// apply and remove share move_patches; each has its own points.
void fault_point(bool applying, faults::PointName apply_point, faults::PointName remove_point) {
    faults::fault_point(applying ? apply_point : remove_point);
}

}  // namespace

void LifecycleService::run_semantic_checks(const std::vector<std::string>& ids, const char* action) {
    std::vector<std::string> args_tail;
    {
        std::shared_lock data(state_.mutex);
        for (const auto& [id, p] : state_.patches) {
            args_tail.push_back("-p");
            args_tail.push_back(id + "=" + state_.patch_state(id));
        }
    }
    for (const auto& id : ids) {
        fs::path script = files_.semantic_script(action, id);
        std::error_code ec;
        if (!fs::exists(script, ec)) {
            continue;
        }
        common::subprocess::Options check;
        check.argv = {script.string()};
        check.argv.insert(check.argv.end(), args_tail.begin(), args_tail.end());
        check.shell_fallback = true;  // a script without "#!" runs with /bin/sh, as execvp did
        const auto r = common::subprocess::run(
            std::move(check), {.timeout = std::chrono::seconds(config_.semantic_timeout_seconds),
                               .max_output = 256U * 1024U});
        if (!r.is_success()) {
            throw Conflict("Semantic check failed for " + id + " (" + r.describe_status() + "):\n" + r.output);
        }
    }
}

OpReport LifecycleService::apply(ApplyRequest request) {
    std::lock_guard op(state_.operation_mutex);
    std::vector<std::string>& ids = request.ids;
    OpReport report;
    core::DependencyTable deps;
    std::vector<std::string> errors;
    {
        std::shared_lock data(state_.mutex);
        if (state_.any_host_installing()) {
            throw Conflict("Rejected: One or more nodes are installing patches.");
        }
        if (std::find(ids.begin(), ids.end(), "--all") != ids.end()) {
            ids.clear();
            for (const auto& [id, p] : state_.patches) {
                if (p.repostate == RepoState::AVAILABLE) {
                    ids.push_back(id);
                }
            }
            if (ids.empty()) {
                report.add_info("There are no available patches to be applied.");
                return report;
            }
        }
        normalise_ids(ids);
        if (auto unknown = unknown_id_errors(state_, ids); !unknown.empty()) {
            throw NotFound(unknown);
        }
        for (const auto& id : ids) {
            const CatalogPatch& p = state_.patches.at(id);
            if (p.metadata.is_apply_active_release_only() && p.metadata.sw_version != config_.running_release) {
                errors.push_back(id + " cannot be applied in an upgrade");
            }
        }
        deps = state_.dependency_table();
    }
    for (const auto& line : core::apply_requires_errors(deps, ids)) {
        errors.push_back(line);
    }
    if (!errors.empty()) {
        throw Conflict(errors);
    }
    if (!request.skip_semantic) {
        run_semantic_checks(ids, "pre-apply");
    }
    move_patches(ids, RepoState::APPLIED, report);
    return report;
}

void LifecycleService::move_patches(const std::vector<std::string>& ids, RepoState target, OpReport& report) {
    const bool applying = target == RepoState::APPLIED;
    std::vector<std::string> changes;
    std::set<std::string> releases;
    {
        std::shared_lock data(state_.mutex);
        for (const auto& id : ids) {
            const CatalogPatch& p = state_.patches.at(id);
            if (applying ? p.repostate != RepoState::AVAILABLE : p.repostate == RepoState::AVAILABLE) {
                report.add_info(id + (applying ? " is already in the repo" : " is not in the repo"));
                continue;
            }
            changes.push_back(id);
            releases.insert(p.metadata.sw_version);
        }
    }
    if (changes.empty()) {
        return;
    }
    std::int64_t counter = 0;
    store_.write([&](WriteTransaction& tx) {
        for (const auto& id : changes) {
            tx.set_repostate(id, core::to_string(target));
        }
        counter = tx.bump_op_counter();
    });
    fault_point(applying, "apply.after_commit", "remove.after_commit");
    {
        std::unique_lock data(state_.mutex);
        for (const auto& id : changes) {
            CatalogPatch& p = state_.patches.at(id);
            p.repostate = target;
            state_.tracker.set_repostate(id, target);
            state_.tracker.start_interim(id);
            state_.interim_counter = static_cast<std::uint64_t>(counter);
            files_.remove_metadata(id);
            files_.write_metadata(p);
            report.add_info(id + (applying ? " is now in the repo" : " has been removed from the repo"));
            fault_point(applying, "apply.during_metadata", "remove.during_metadata");
        }
    }
    fault_point(applying, "apply.before_publish", "remove.before_publish");
    std::vector<std::string> failures;
    for (const auto& release : releases) {
        try {
            publishing_.publish(release);
        } catch (const std::exception& e) {
            failures.push_back("Failed to update the repo for " + release + ": " + core::format_error_chain(e));
        }
    }
    fault_point(applying, "apply.after_publish", "remove.after_publish");
    // Only now may agents look: the repositories match the new counter.
    state_.published_counter = static_cast<std::uint64_t>(counter);
    notifier_.notify("");
    if (!failures.empty()) {
        throw OperationFailed(failures, report);
    }
}

OpReport LifecycleService::remove(RemoveRequest request) {
    std::lock_guard op(state_.operation_mutex);
    std::vector<std::string>& ids = request.ids;
    normalise_ids(ids);
    OpReport report;
    std::vector<std::string> errors;
    core::DependencyTable deps;
    {
        std::shared_lock data(state_.mutex);
        if (state_.any_host_installing()) {
            throw Conflict("Rejected: One or more nodes are installing patches.");
        }
        if (auto unknown = unknown_id_errors(state_, ids); !unknown.empty()) {
            throw NotFound(unknown);
        }
        for (const auto& id : ids) {
            const CatalogPatch& p = state_.patches.at(id);
            if (p.metadata.is_unremovable()) {
                if (request.remove_unremovable) {
                    report.add_warning("Unremovable patch " + id + " being removed");
                } else {
                    errors.push_back("Patch " + id + " is not removable");
                }
            } else if (p.repostate == RepoState::COMMITTED) {
                errors.push_back("Patch " + id + " is committed and cannot be removed");
            }
        }
        deps = state_.dependency_table();
        if (!request.skip_app_check) {
            for (const auto& id : ids) {
                std::string apps;
                for (const auto& [app, required] : state_.app_dependencies) {
                    if (std::find(required.begin(), required.end(), id) != required.end()) {
                        apps += (apps.empty() ? "" : ", ") + app;
                    }
                }
                if (!apps.empty()) {
                    errors.push_back(id + " is required by application(s): " + apps);
                }
            }
        }
    }
    if (!errors.empty()) {
        throw Conflict(errors, report);
    }
    if (auto required_by = core::remove_required_by_errors(deps, ids); !required_by.empty()) {
        throw Conflict(required_by, report);
    }
    if (!request.skip_semantic) {
        run_semantic_checks(ids, "pre-remove");
    }
    move_patches(ids, RepoState::AVAILABLE, report);
    return report;
}

OpReport LifecycleService::delete_patches(DeleteRequest request) {
    std::lock_guard op(state_.operation_mutex);
    std::vector<std::string>& ids = request.ids;
    normalise_ids(ids);
    std::vector<std::string> errors;
    std::optional<ErrorKind> first_kind;  // the reference's status: its first error's
    std::vector<CatalogPatch> doomed;
    {
        std::shared_lock data(state_.mutex);
        for (const auto& id : ids) {
            auto it = state_.patches.find(id);
            if (it == state_.patches.end()) {
                errors.push_back("Patch " + core::escape_unprintable(id) + " does not exist");
                first_kind = first_kind.value_or(ErrorKind::NOT_FOUND);
                continue;
            }
            PatchState state = state_.tracker.get_state(id);
            if (it->second.repostate != RepoState::AVAILABLE ||
                (state != PatchState::AVAILABLE && state != PatchState::NA)) {
                errors.push_back("Patch " + id + " not in Available state");
                first_kind = first_kind.value_or(ErrorKind::CONFLICT);
            }
            doomed.push_back(it->second);
        }
    }
    if (first_kind) {
        throw ServiceError(*first_kind, errors);
    }
    // The store first: a crash after it leaves only files no row owns, which recovery deletes.
    store_.write([&](WriteTransaction& tx) {
        for (const auto& id : ids) {
            tx.delete_patch(id);
        }
        tx.bump_op_counter();
    });
    faults::fault_point("delete.after_commit");
    OpReport report;
    std::unique_lock data(state_.mutex);
    for (const auto& p : doomed) {
        files_.remove_patch_files(p);
        faults::fault_point("delete.during_files");
        state_.tracker.remove_patch(p.metadata.id);
        state_.patches.erase(p.metadata.id);
        report.add_info(p.metadata.id + " has been deleted");
    }
    return report;
}

OpReport LifecycleService::commit(CommitRequest request) {
    std::lock_guard op(state_.operation_mutex);
    std::vector<std::string>& ids = request.ids;
    normalise_ids(ids);
    core::DependencyTable deps;
    std::map<std::string, PatchState> states;
    {
        std::shared_lock data(state_.mutex);
        deps = state_.dependency_table();
        for (const auto& [id, p] : state_.patches) {
            states[id] = state_.tracker.get_state(id);
        }
    }
    core::CommitPlan plan = core::commit_plan(deps, ids, states);
    if (!plan.is_ok()) {
        std::string error = plan.error.back() == '\n' ? plan.error.substr(0, plan.error.size() - 1) : plan.error;
        if (plan.refusal == core::CommitRefusal::UNKNOWN_IDS) {
            throw NotFound(error);
        }
        throw Conflict(error);
    }
    std::set<fs::path> cleanup_paths;
    std::uint64_t cleanup_bytes = 0;
    for (const auto& file : plan.cleanup) {
        fs::path path = files_.rpm_path(file.sw_version, file.rpm);
        std::error_code ec;
        auto size = fs::file_size(path, ec);
        if (!ec) {
            cleanup_bytes += size;
        }
        cleanup_paths.insert(path);
    }
    OpReport report;
    if (request.dry_run) {
        report.add_info(core::commit_free_message(cleanup_bytes));
        return report;
    }
    // The new rows: committed, without their superseded RPMs; the files go after the commit.
    std::map<std::string, CatalogPatch> committed;
    std::vector<fs::path> freed;
    std::set<std::string> releases;
    {
        std::shared_lock data(state_.mutex);
        for (const auto& id : plan.commit_list) {
            CatalogPatch p = state_.patches.at(id);
            p.repostate = RepoState::COMMITTED;
            std::vector<StoredRpm> keep;
            for (const auto& rpm : p.rpms) {
                if (cleanup_paths.contains(files_.rpm_path(p, rpm))) {
                    freed.push_back(files_.rpm_path(p, rpm));
                } else {
                    keep.push_back(rpm);
                }
            }
            p.rpms = std::move(keep);
            releases.insert(p.metadata.sw_version);
            committed.emplace(id, std::move(p));
        }
    }
    std::int64_t counter = 0;
    store_.write([&](WriteTransaction& tx) {
        for (const auto& [id, p] : committed) {
            tx.put_patch(p.to_stored());
        }
        counter = tx.bump_op_counter();
    });
    faults::fault_point("commit.after_commit");
    {
        std::unique_lock data(state_.mutex);
        for (auto& [id, p] : committed) {
            state_.tracker.set_repostate(id, RepoState::COMMITTED);
            files_.remove_metadata(id);
            files_.write_metadata(p);
            state_.patches[id] = std::move(p);
        }
    }
    faults::fault_point("commit.after_metadata");
    for (const auto& path : freed) {
        std::error_code ec;
        fs::remove(path, ec);
    }
    faults::fault_point("commit.after_cleanup");
    for (const auto& release : releases) {
        try {
            publishing_.publish(release);
        } catch (const std::exception& e) {
            throw OperationFailed({"Failed to update the repo for " + release + ": " + core::format_error_chain(e)}, {});
        }
    }
    faults::fault_point("commit.after_publish");
    state_.published_counter = static_cast<std::uint64_t>(counter);
    notifier_.notify("");
    report.add_info("The patches have been committed.");
    return report;
}

void LifecycleService::set_app_dependencies(AppDependenciesRequest request) {
    std::lock_guard op(state_.operation_mutex);
    normalise_ids(request.ids);
    store_.write([&](WriteTransaction& tx) {
        tx.set_app_dependencies(request.app, request.ids);
        tx.bump_op_counter();
    });
    std::unique_lock data(state_.mutex);
    if (request.ids.empty()) {
        state_.app_dependencies.erase(request.app);
    } else {
        state_.app_dependencies[request.app] = request.ids;
    }
}

}  // namespace patching::controller
