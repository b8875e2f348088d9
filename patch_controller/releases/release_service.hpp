// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "catalog/controller_state.hpp"
#include "catalog/patch_files.hpp"
#include "catalog/publishing.hpp"
#include "config.hpp"
#include "service/errors.hpp"

#include <string>

namespace patching::controller {

/// The releases the controller serves besides the running one (init-release, del-release):
/// an empty repository to import an upgrade's patches into, and its removal with every patch
/// of it. Thread-safe (runs under the operation lock).
class ReleaseService {
public:
    ReleaseService(const ControllerConfig& config, ControllerState& state, Store& store, const PatchFiles& files,
                   Publishing& publishing)
        : config_(config), state_(state), store_(store), files_(files), publishing_(publishing) {}

    /// @throws InvalidRequest (bad release name), Conflict (the running release),
    ///         OperationFailed (recorded, but its repository could not be created).
    OpReport init_release(const std::string& release);
    /// Deletes the release's patches, files and repository.
    /// @throws InvalidRequest, Conflict as init_release.
    OpReport del_release(const std::string& release);

private:
    void check_release(const std::string& release) const;

    const ControllerConfig& config_;
    ControllerState& state_;
    Store& store_;
    const PatchFiles& files_;
    Publishing& publishing_;
};

}  // namespace patching::controller
