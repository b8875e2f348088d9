// SPDX-License-Identifier: Apache-2.0
#include "installer/host_flags.hpp"

#include <patch_core/errors.hpp>
#include <patch_core/fs.hpp>

#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace fs = std::filesystem;

namespace patching::agent {

namespace {

constexpr size_t MAX_FLAG_BYTES = 64U << 10U;

bool flag_exists(const fs::path& path) {
    std::error_code ec;
    return fs::exists(fs::symlink_status(path, ec));
}

std::optional<std::string> read_flag(const fs::path& path) {
    if (!flag_exists(path)) {
        return std::nullopt;
    }
    std::string content = core::read_small_file(path, MAX_FLAG_BYTES);
    while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) {
        content.pop_back();
    }
    return content;
}

std::string utc_now() {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    std::array<char, 32> buf{};
    const size_t n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf.data(), n);
}

void recreate_private_dir(const fs::path& dir) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (ec) {
        throw core::SystemError(ec.value(), "cannot empty the in-service directory", dir);
    }
    fs::create_directories(dir, ec);
    if (ec) {
        throw core::SystemError(ec.value(), "cannot create the in-service directory", dir);
    }
    // Scripts found here run as root: nobody else may plant one.
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    if (ec) {
        throw core::SystemError(ec.value(), "cannot set mode 0700 on", dir);
    }
}

}  // namespace

HostFlags::HostFlags(fs::path root) : root_(std::move(root)) {}

void HostFlags::write_flag(const fs::path& path, const std::string& content) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
        throw core::SystemError(ec.value(), "cannot create the flag directory", path.parent_path());
    }
    core::write_file_atomically(path, content, 0644, core::Sync::LATER);
    unsynced_files_.insert(path);
    unsynced_directory_ = true;
}

// The removal is synced too: a cleared installing flag that comes back after a power cut would
// report an install that was in fact complete as interrupted.
void HostFlags::remove_flag(const fs::path& path) {
    if (::unlink(path.c_str()) != 0) {
        if (errno == ENOENT) {
            return;
        }
        throw core::SystemError(errno, "cannot remove the flag", path);
    }
    unsynced_files_.erase(path);
    unsynced_directory_ = true;
}

void HostFlags::set_or_remove(const fs::path& path, bool on) {
    if (on) {
        write_flag(path, "");
    } else {
        remove_flag(path);
    }
}

HostFlags::Unsynced HostFlags::take_unsynced() {
    Unsynced unsynced;
    unsynced.files.assign(unsynced_files_.begin(), unsynced_files_.end());
    if (unsynced_directory_) {
        unsynced.directories.push_back(root_ / "var" / "run");
    }
    unsynced_files_.clear();
    unsynced_directory_ = false;
    return unsynced;
}

void HostFlags::sync() {
    Unsynced unsynced = take_unsynced();
    std::vector<fs::path> paths = std::move(unsynced.files);
    paths.insert(paths.end(), unsynced.directories.begin(), unsynced.directories.end());
    core::sync_paths(paths);
}

fs::path HostFlags::run_file(const char* name) const {
    return root_ / "var" / "run" / name;
}

bool HostFlags::is_node_patched() const {
    return flag_exists(run_file("node_is_patched"));
}

void HostFlags::set_node_patched(bool on) {
    set_or_remove(run_file("node_is_patched"), on);
}

bool HostFlags::is_reboot_required_by_rpm() const {
    return flag_exists(run_file("node_is_patched_rr"));
}

void HostFlags::set_reboot_required_by_rpm(bool on) {
    set_or_remove(run_file("node_is_patched_rr"), on);
}

bool HostFlags::is_locked() const {
    return flag_exists(run_file(".node_locked"));
}

void HostFlags::set_locked(bool on) {
    set_or_remove(run_file(".node_locked"), on);
}

std::optional<std::string> HostFlags::install_failed() const {
    return read_flag(run_file("patch_install_failed"));
}

void HostFlags::set_install_failed(const std::string& reason) {
    write_flag(run_file("patch_install_failed"), reason + "\n");
}

void HostFlags::clear_install_failed() {
    remove_flag(run_file("patch_install_failed"));
}

std::optional<std::string> HostFlags::installing() const {
    return read_flag(run_file("patch_installing"));
}

void HostFlags::set_installing() {
    write_flag(
        run_file("patch_installing"),
        "pid=" + std::to_string(::getpid()) + " started=" + utc_now() + "\n");
}

void HostFlags::clear_installing() {
    remove_flag(run_file("patch_installing"));
}

void HostFlags::reset_in_service_dirs() {
    recreate_private_dir(scripts_dir());
    recreate_private_dir(flags_dir());
}

void HostFlags::remove_in_service_dirs() {
    for (const fs::path& dir : {scripts_dir(), flags_dir()}) {
        std::error_code ec;
        fs::remove_all(dir, ec);
        if (ec) {
            throw core::SystemError(ec.value(), "cannot remove the in-service directory", dir);
        }
    }
}

fs::path HostFlags::scripts_dir() const {
    return root_ / "run" / "patching" / "patch-scripts";
}

fs::path HostFlags::flags_dir() const {
    return root_ / "run" / "patching" / "patch-flags";
}

}  // namespace patching::agent
