// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cerrno>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace patching::core {

/// Root of every failure the patch toolchain reports. The message is for people: it names the
/// file or patch involved and, where possible, says what to do.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what) : std::runtime_error(what) {}
};

/// metadata.xml is malformed, hostile or semantically invalid.
class MetadataError : public Error {
    using Error::Error;
};

/// A .patch file is unreadable, corrupt, unsigned, or fails a structural check.
class PatchFileError : public Error {
    using Error::Error;
};

/// A build input is invalid (bad ID, missing RPM, duplicate package...).
class BuildError : public Error {
    using Error::Error;
};

/// A system call failed; the message carries the path and strerror.
class SystemError : public Error {
public:
    SystemError(int err, const std::string& what, const std::filesystem::path& path = {});
    int error_code() const { return errno_; }

private:
    int errno_;
};

/// A programming error (broken invariant). Never used for input validation.
class AssertionError : public std::logic_error {
    using std::logic_error::logic_error;
};

/// `text` with every byte outside printable ASCII written as \xNN, so that names and text taken
/// from an untrusted patch cannot inject newlines or terminal escape sequences into messages.
std::string escape_unprintable(std::string_view text);

/// Formats an exception and the chain of nested exceptions (std::throw_with_nested) as
/// "outer: inner: innermost".
std::string format_error_chain(const std::exception& e);

}  // namespace patching::core

#define PATCHING_ASSERT(cond, msg)                                                           \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            throw ::patching::core::AssertionError(                                          \
                std::string(__FILE__) + ":" + std::to_string(__LINE__) + ": " + (msg));      \
        }                                                                                    \
    } while (false)
