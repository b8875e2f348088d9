// SPDX-License-Identifier: Apache-2.0
#include <patch_core/errors.hpp>
#include <patch_core/fs.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <set>
#include <utility>
#include <vector>

namespace patching::core {

std::int64_t mtime_ns(const struct ::stat& st) {
    return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

namespace {
std::string random_suffix() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::string s;
    for (int i = 0; i < 8; ++i) {
        s += alphabet[rng() % (sizeof(alphabet) - 1)];
    }
    return s;
}

void fsync_directory(const std::filesystem::path& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd) {
        ::fsync(fd.get());
    }
}
}  // namespace

AtomicFile::AtomicFile(std::filesystem::path destination, unsigned mode)
    : destination_(std::move(destination)) {
    std::filesystem::path dir = destination_.parent_path();
    if (dir.empty()) {
        dir = ".";
    }
    for (int attempt = 0; attempt < 16 && !fd_; ++attempt) {
        std::string name(".");
        name.append(destination_.filename().string()).append(".tmp-").append(random_suffix());
        temp_ = dir / name;
        fd_ = UniqueFd(::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
        if (!fd_ && errno != EEXIST) {
            throw SystemError(errno, "cannot create a temporary file in", dir);
        }
    }
    if (!fd_) {
        throw SystemError(EEXIST, "cannot create a temporary file in", dir);
    }
}

AtomicFile::~AtomicFile() {
    if (!committed_) {
        fd_ = UniqueFd();
        ::unlink(temp_.c_str());
    }
}

void AtomicFile::write_all(const void* data, size_t size) {
    const auto* p = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::write(fd_.get(), p, size);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw SystemError(errno, "cannot write", destination_);
        }
        p += n;
        size -= static_cast<size_t>(n);
        written_ += static_cast<std::uint64_t>(n);
    }
    // Start writeback of large files while we keep producing, so commit()'s fsync only waits
    // for the tail instead of the whole file.
    constexpr std::uint64_t WRITEBACK_STEP = 8U << 20U;
    if (written_ - flushed_ >= WRITEBACK_STEP) {
        ::sync_file_range(fd_.get(), static_cast<off_t>(flushed_), static_cast<off_t>(written_ - flushed_),
                          SYNC_FILE_RANGE_WRITE);
        flushed_ = written_;
    }
}

void AtomicFile::commit(Sync sync) {
    if (sync == Sync::NOW && ::fsync(fd_.get()) != 0) {
        throw SystemError(errno, "cannot flush", destination_);
    }
    int fd = fd_.release();
    if (::close(fd) != 0) {
        throw SystemError(errno, "cannot close", destination_);
    }
    if (::rename(temp_.c_str(), destination_.c_str()) != 0) {
        throw SystemError(errno, "cannot rename into place", destination_);
    }
    committed_ = true;
    if (sync == Sync::NOW) {
        fsync_directory(destination_.parent_path().empty() ? "." : destination_.parent_path());
    }
}

void write_file_atomically(
    const std::filesystem::path& path, const std::string& data, unsigned mode, Sync sync) {
    AtomicFile file(path, mode);
    file.write_all(data.data(), data.size());
    file.commit(sync);
}

void sync_paths(const std::vector<std::filesystem::path>& paths) {
    std::vector<std::pair<UniqueFd, const std::filesystem::path*>> opened;
    std::set<std::filesystem::path> seen;
    for (const auto& path : paths) {
        if (!seen.insert(path).second) {
            continue;
        }
        UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) {
            if (errno == ENOENT) {
                continue;
            }
            throw SystemError(errno, "cannot open to sync", path);
        }
        struct stat st {};
        if (::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode)) {
            // Only starts the writeback; the fsync below waits for it.
            ::sync_file_range(fd.get(), 0, 0, SYNC_FILE_RANGE_WRITE);
        }
        opened.emplace_back(std::move(fd), &path);
    }
    for (const auto& [fd, path] : opened) {
        if (::fsync(fd.get()) != 0) {
            throw SystemError(errno, "cannot sync", *path);
        }
    }
}

std::string read_small_file(const std::filesystem::path& path, size_t max_bytes) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        throw SystemError(errno, "cannot open", path);
    }
    std::string data;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof(buf));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw SystemError(errno, "cannot read", path);
        }
        if (n == 0) {
            break;
        }
        if (data.size() + static_cast<size_t>(n) > max_bytes) {
            throw Error(path.string() + " is larger than " + std::to_string(max_bytes) + " bytes");
        }
        data.append(buf, static_cast<size_t>(n));
    }
    return data;
}

}  // namespace patching::core
