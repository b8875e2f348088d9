// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace patching::agent {

/// How a hook ended.
struct HookResult {
    bool present = false;  ///< The host has a hook for the phase (none counts as ok).
    int exit_code = 0;     ///< 0 ok, 1 fail, 2 skip this host, 3 retryable; 1 for a timeout or a refused hook.
    std::string output;    ///< stdout and stderr, the last MAX_HOOK_OUTPUT bytes.
    std::string summary;   ///< "exit status 1", "timed out after 30 s", "no pre-lock hook", ...
};

/// Runs the hook of `phase` from `hook_dir` (README "Host lifecycle"): the executable
/// <hook_dir>/<phase>, which must be a regular file owned by root and not writable by group or
/// others (else it is refused, exit 1, with the reason). It runs with `environment` added
/// (PATCH_PHASE, PATCH_HOST, PATCH_WR_ID...), in its own process group, killed with the group
/// after `timeout`. Its output is captured (stdout and stderr together), bounded.
HookResult run_hook(const std::filesystem::path& hook_dir, const std::string& phase, std::chrono::seconds timeout,
                    const std::vector<std::string>& environment);

}  // namespace patching::agent
