// SPDX-License-Identifier: Apache-2.0
// RAII for C library handles and file descriptors: the one zero-size deleter every module uses
// (STYLE §8). Libraries whose headers must stay private (librpm, libarchive, OpenSSL, libcurl)
// declare their aliases in their own private header with CHandle.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <type_traits>

namespace patching::common {

/// Deleter calling `FreeFn(p)`; the return value of FreeFn is ignored. Zero-size, so a
/// std::unique_ptr with it is one pointer wide.
template <auto FreeFn>
struct CFree {
    template <class T>
    void operator()(T* p) const noexcept {
        FreeFn(p);
    }
};

/// std::unique_ptr owning a C handle. `Handle` is either the C typedef of a pointer (`rpmts`,
/// `Header`) or the pointee type (`struct archive`, `CURL`).
template <class Handle, auto FreeFn>
using CHandle = std::unique_ptr<std::remove_pointer_t<Handle>, CFree<FreeFn>>;

/// An open stdio stream, closed by the destructor (an error of that fclose is lost: call
/// std::fclose yourself where it matters, after release()).
using FilePtr = CHandle<std::FILE, std::fclose>;

/// An owned file descriptor, closed by the destructor. Move-only. -1 means none.
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    ~UniqueFd() { reset(); }
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) {
            reset(other.release());
        }
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;

    int get() const { return fd_; }
    /// Gives up ownership: returns the descriptor and leaves -1.
    int release() noexcept {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }
    /// Closes the descriptor held (if any) and takes `fd`.
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = fd;
    }
    explicit operator bool() const { return fd_ >= 0; }

private:
    int fd_ = -1;
};

}  // namespace patching::common
