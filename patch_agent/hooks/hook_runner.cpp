// SPDX-License-Identifier: Apache-2.0
#include "hooks/hook_runner.hpp"

#include <common/subprocess.hpp>
#include <patch_core/messages.hpp>

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace patching::agent {

HookResult run_hook(const std::filesystem::path& hook_dir, const std::string& phase, std::chrono::seconds timeout,
                    const std::vector<std::string>& environment) {
    HookResult r;
    const std::filesystem::path path = hook_dir / phase;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) {
            r.summary = "no " + phase + " hook";
            return r;
        }
        r.present = true;
        r.exit_code = core::protocol::HOOK_FAIL;
        r.summary = "cannot read the " + phase + " hook " + path.string() + ": " + std::strerror(errno);
        return r;
    }
    r.present = true;
    std::string refused;
    if (!S_ISREG(st.st_mode)) {
        refused = "it is not a regular file";
    } else if (st.st_uid != 0) {
        refused = "it is owned by uid " + std::to_string(st.st_uid) + ", not root";
    } else if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        refused = "it is writable by group or others (chmod go-w)";
    } else if ((st.st_mode & S_IXUSR) == 0) {
        refused = "it is not executable (chmod u+x)";
    }
    if (!refused.empty()) {
        r.exit_code = core::protocol::HOOK_FAIL;
        r.summary = "the " + phase + " hook " + path.string() + " is refused: " + refused;
        return r;
    }
    common::subprocess::Options options;
    options.argv = {path.string()};
    options.extra_environment = environment;
    options.extra_environment.push_back("PATCH_PHASE=" + phase);
    options.cwd = "/";
    options.new_process_group = true;
    common::subprocess::Limits limits;
    limits.timeout = timeout;
    limits.max_output = core::protocol::MAX_HOOK_OUTPUT;
    limits.keep = common::subprocess::Limits::Keep::TAIL;
    try {
        const auto result = common::subprocess::run(options, limits);
        r.output = result.output;
        if (result.truncated) {
            r.output = "[... earlier output dropped]\n" + r.output.substr(std::min<std::size_t>(r.output.size(), 64));
        }
        if (result.timed_out) {
            r.exit_code = core::protocol::HOOK_FAIL;
            r.summary = "the " + phase + " hook timed out after " + std::to_string(timeout.count()) + " s";
        } else if (result.status.signal != 0) {
            r.exit_code = core::protocol::HOOK_FAIL;
            r.summary = "the " + phase + " hook was " + result.describe_status();
        } else {
            r.exit_code = result.status.exit_code;
            r.summary = "the " + phase + " hook exited " + std::to_string(r.exit_code);
        }
    } catch (const common::subprocess::SpawnError& e) {
        r.exit_code = core::protocol::HOOK_FAIL;
        r.summary = "the " + phase + " hook cannot be started: " + e.what();
    }
    if (r.exit_code < 0 || r.exit_code > 255) {
        r.exit_code = core::protocol::HOOK_FAIL;
    }
    return r;
}

}  // namespace patching::agent
