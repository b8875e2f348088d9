// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "catalog/controller_state.hpp"
#include "catalog/patch_files.hpp"
#include "catalog/publishing.hpp"
#include "config.hpp"

namespace patching::controller {

/// Start-up recovery: loads the store into the model, deletes what a crash left half done
/// (temporary files, RPMs and scripts no row owns), rewrites the metadata directories and
/// republishes every repository, so files and repositories converge on the store whatever
/// moment a crash hit. Run once before serving.
void recover(const ControllerConfig& config, ControllerState& state, Store& store, const PatchFiles& files,
             Publishing& publishing);

}  // namespace patching::controller
