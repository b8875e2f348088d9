// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "config.hpp"

namespace patching::controller {

/// Runs the controller until SIGTERM or SIGINT: loads the state, recovers from a crash,
/// serves the REST API. Returns the process exit code.
int run_daemon(const ControllerConfig& config);

}  // namespace patching::controller
