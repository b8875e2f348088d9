// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <config.hpp>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace patching::manager {

/// Runs sw-manager with `args` (without the program name): work requests, groups and
/// rate-controlled installs through the controller's resource API. Connection settings are
/// sw-patch's (flags, SW_PATCH_* variables, sw-patch.conf, the admin token file).
/// Returns the exit code: 0 done, 1 failed (the controller refused, or a --wait ended
/// otherwise than SUCCEEDED), 2 usage.
int run_manager(
    const std::vector<std::string>& args,
    const client::Environment& env,
    std::ostream& out,
    std::ostream& err,
    const std::function<void(double)>& sleep);

}  // namespace patching::manager
