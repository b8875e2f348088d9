// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "catalog/controller_state.hpp"
#include "catalog/patch_files.hpp"
#include "catalog/publishing.hpp"
#include "config.hpp"
#include "hosts/agent_notifier.hpp"
#include "service/errors.hpp"

#include <string>
#include <vector>

namespace patching::controller {

struct ApplyRequest {
    std::vector<std::string> ids;  ///< "--all" = every available patch.
    bool skip_semantic = false;
};

struct RemoveRequest {
    std::vector<std::string> ids;
    bool remove_unremovable = false;
    bool skip_app_check = false;
    bool skip_semantic = false;
};

struct CommitRequest {
    std::vector<std::string> ids;
    bool dry_run = false;  ///< Only say how much space the commit would free.
};

struct DeleteRequest {
    std::vector<std::string> ids;
};

/// What an application needs: reported by the application, checked by remove.
struct AppDependenciesRequest {
    std::string app;
    std::vector<std::string> ids;  ///< Empty forgets the application.
};

/// A patch's life in the catalog after import (spec §2, §3.5): apply, remove, delete, commit,
/// with the reference's rules and messages (requires, unremovable, committed, application
/// dependencies, semantic checks), and the application dependencies that remove checks.
///
/// Each operation runs under the operation lock, checks everything before it changes anything,
/// commits its change in one store transaction, then updates the model, the metadata files and
/// the repositories, and finally tells the agents. Thread-safe.
class LifecycleService {
public:
    LifecycleService(const ControllerConfig& config, ControllerState& state, Store& store, const PatchFiles& files,
                     Publishing& publishing, const AgentNotifier& notifier)
        : config_(config), state_(state), store_(store), files_(files), publishing_(publishing), notifier_(notifier) {}

    /// @throws NotFound (unknown ID), Conflict (a rule refuses it), OperationFailed (applied, but
    ///         a repository could not be published).
    OpReport apply(ApplyRequest request);
    /// @throws NotFound, Conflict, OperationFailed as apply.
    OpReport remove(RemoveRequest request);
    /// Deletes available patches and their files. @throws NotFound, Conflict.
    OpReport delete_patches(DeleteRequest request);
    /// Commits the requested patches and what they require, freeing superseded RPMs.
    /// @throws NotFound (unknown ID), Conflict (non-REL patches, not applied), OperationFailed.
    OpReport commit(CommitRequest request);
    void set_app_dependencies(AppDependenciesRequest request);

private:
    /// The common tail of apply and remove. REQUIRES: operation_mutex held, mutex not held.
    void move_patches(const std::vector<std::string>& ids, core::RepoState target, OpReport& report);
    /// Runs the patches' `action` scripts; throws Conflict with the first failure's output.
    void run_semantic_checks(const std::vector<std::string>& ids, const char* action);

    const ControllerConfig& config_;
    ControllerState& state_;
    Store& store_;
    const PatchFiles& files_;
    Publishing& publishing_;
    const AgentNotifier& notifier_;
};

}  // namespace patching::controller
