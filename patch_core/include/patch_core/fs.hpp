// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace patching::core {

/// A file's modification time in nanoseconds since the epoch.
std::int64_t mtime_ns(const struct ::stat& st);

/// An owned file descriptor, closed on destruction.
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    ~UniqueFd();
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept;
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    int get() const { return fd_; }
    int release() noexcept;
    explicit operator bool() const { return fd_ >= 0; }

private:
    int fd_ = -1;
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
    /// fsync, close, rename over destination, fsync the directory.
    void commit();

private:
    std::filesystem::path destination_;
    std::filesystem::path temp_;
    UniqueFd fd_;
    bool committed_ = false;
    std::uint64_t written_ = 0;
    std::uint64_t flushed_ = 0;  // bytes whose writeback has been started
};

/// Writes `data` to `path` atomically (AtomicFile).
void write_file_atomically(const std::filesystem::path& path, const std::string& data, unsigned mode = 0644);

/// Reads a whole file of at most `max_bytes`. @throws SystemError / Error naming the file.
std::string read_small_file(const std::filesystem::path& path, size_t max_bytes);

}  // namespace patching::core
