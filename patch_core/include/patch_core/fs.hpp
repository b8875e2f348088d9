// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <common/c_handles.hpp>

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace patching::core {

/// A file's modification time in nanoseconds since the epoch.
std::int64_t mtime_ns(const struct ::stat& st);

/// An owned file descriptor, closed on destruction (common/c_handles.hpp).
using UniqueFd = common::UniqueFd;

/// Whether a change waits for the disk before it returns.
enum class Sync {
    NOW,    ///< Durable on return: survives a power cut.
    /// Atomic for readers and against a crash of the process, but durable only once sync_paths()
    /// has synced the file and its directory: lets several changes share one wait for the disk.
    LATER,
};

/// A file written under a temporary name in the destination directory and renamed over the
/// destination by commit() after fsync, so readers see either the old file or the complete new
/// one, never a partial one. Without commit() the temporary file is removed on destruction.
class AtomicFile {
public:
    /// @throws SystemError naming the directory if the temporary file cannot be created.
    explicit AtomicFile(std::filesystem::path destination, unsigned mode = 0644);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    int fd() const { return fd_.get(); }
    const std::filesystem::path& temp_path() const { return temp_; }
    const std::filesystem::path& destination() const { return destination_; }
    /// Writes all bytes. @throws SystemError (ENOSPC etc.) naming the destination.
    void write_all(const void* data, size_t size);
    /// Sync::NOW: fsync, close, rename over destination, fsync the directory.
    /// Sync::LATER: close and rename only. For content that must never be found empty or partial
    /// after a power cut, sync temp_path() with sync_paths() before this commit and the
    /// directory after it.
    void commit(Sync sync = Sync::NOW);

private:
    std::filesystem::path destination_;
    std::filesystem::path temp_;
    UniqueFd fd_;
    bool committed_ = false;
    std::uint64_t written_ = 0;
    std::uint64_t flushed_ = 0;  // bytes whose writeback has been started
};

/// Writes `data` to `path` atomically (AtomicFile).
void write_file_atomically(
    const std::filesystem::path& path,
    const std::string& data,
    unsigned mode = 0644,
    Sync sync = Sync::NOW);

/// Makes the files and directories `paths` durable (fsync), in the given order, each once:
/// list a directory after the files renamed into it, since its sync is what makes a rename, a
/// creation or a removal durable. The writeback of every file is started before the first
/// sync waits, so that on a journalling file system they share one journal commit instead of
/// one each. A path that no longer exists is skipped (a file written and removed since).
/// @throws SystemError naming a path that cannot be opened or synced.
void sync_paths(const std::vector<std::filesystem::path>& paths);

/// Reads a whole file of at most `max_bytes`. @throws SystemError / Error naming the file.
std::string read_small_file(const std::filesystem::path& path, size_t max_bytes);

}  // namespace patching::core
