// SPDX-License-Identifier: Apache-2.0
#include "hooks/hook_runner.hpp"

#include <common/c_handles.hpp>
#include <common/subprocess.hpp>
#include <patch_core/errors.hpp>
#include <patch_core/messages.hpp>

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace patching::agent {

namespace {

/// Why `st` (of `what`) is not safe to trust, or "" when it is: owned by root and not writable
/// by group or others. A directory that is world-writable with the sticky bit (/tmp) is allowed
/// above the hook directory (`sticky_ok`): others cannot rename or remove what root put in it.
std::string untrusted(const struct stat& st, const std::string& what, bool sticky_ok) {
    if (st.st_uid != 0) {
        return what + " is owned by uid " + std::to_string(st.st_uid) + ", not root";
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && !(sticky_ok && (st.st_mode & S_ISVTX) != 0)) {
        return what + " is writable by group or others (chmod go-w)";
    }
    return "";
}

/// Why the hook directory `dir` (canonical) or one of its parents up to / is not safe, or "".
std::string untrusted_directory(const std::filesystem::path& dir) {
    bool first = true;
    for (std::filesystem::path p = dir;; p = p.parent_path()) {
        struct stat st {};
        if (::lstat(p.c_str(), &st) != 0) {
            return "cannot check the directory " + p.string() + ": " + std::strerror(errno);
        }
        std::string why = untrusted(st, "the directory " + p.string(), !first);
        if (!why.empty()) {
            return why;
        }
        first = false;
        if (p == p.root_path() || !p.has_relative_path()) {
            return "";
        }
    }
}

}  // namespace

HookResult run_hook(const std::filesystem::path& hook_dir, const std::string& phase, std::chrono::seconds timeout,
                    const std::vector<std::string>& environment) {
    HookResult r;
    // The phase names a file in the hook directory: only the fixed phases (no '/', no '..').
    if (!core::protocol::is_hook_phase(phase)) {
        r.present = true;
        r.exit_code = core::protocol::HOOK_FAIL;
        r.summary = "'" + core::escape_unprintable(phase) + "' is not a hook phase: refused";
        return r;
    }
    const std::filesystem::path path = hook_dir / phase;
    std::error_code ec;
    const std::filesystem::path dir = std::filesystem::canonical(hook_dir, ec);
    if (ec == std::errc::no_such_file_or_directory) {
        r.summary = "no " + phase + " hook";
        return r;
    }
    // O_PATH opens without reading or executing; O_NOFOLLOW gives a symlink itself (refused
    // below). What is checked from here on is this descriptor, and the descriptor is what runs.
    common::UniqueFd fd(ec ? -1 : ::open((dir / phase).c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) {
        const int e = ec ? ec.value() : errno;
        if (e == ENOENT) {
            r.summary = "no " + phase + " hook";
            return r;
        }
        r.present = true;
        r.exit_code = core::protocol::HOOK_FAIL;
        r.summary = "cannot read the " + phase + " hook " + path.string() + ": " + std::strerror(e);
        return r;
    }
    r.present = true;
    struct stat st {};
    std::string refused = untrusted_directory(dir);
    if (!refused.empty()) {
        // Whoever can write the directory (or a parent) can swap the hook.
    } else if (::fstat(fd.get(), &st) != 0) {
        refused = std::string("cannot stat it: ") + std::strerror(errno);
    } else if (S_ISLNK(st.st_mode)) {
        refused = "it is a symbolic link";
    } else if (!S_ISREG(st.st_mode)) {
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
    options.exec_fd = fd.get();  // the file checked above, not whatever the path names now
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
