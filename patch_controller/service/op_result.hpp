// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

namespace patching::controller {

/// The reference's response to an operation: newline-terminated lines of info, warning and
/// error text, plus the HTTP status machine clients get (the body keeps the reference shape).
struct OpResult {
    std::string info;
    std::string warning;
    std::string error;
    int status = 200;

    void add_info(const std::string& line) { info += line + "\n"; }
    void add_warning(const std::string& line) { warning += line + "\n"; }
    /// Records an error line; the first error decides the HTTP status.
    void add_error(const std::string& line, int http_status) {
        error += line + "\n";
        if (status == 200) {
            status = http_status;
        }
    }
    void merge(const OpResult& other) {
        info += other.info;
        warning += other.warning;
        error += other.error;
        if (status == 200) {
            status = other.status;
        }
    }
    bool ok() const { return error.empty(); }
};

/// HTTP statuses used for operation errors.
inline constexpr int HTTP_BAD_REQUEST = 400;
inline constexpr int HTTP_NOT_FOUND = 404;
inline constexpr int HTTP_CONFLICT = 409;
inline constexpr int HTTP_UNPROCESSABLE = 422;
inline constexpr int HTTP_INTERNAL = 500;

}  // namespace patching::controller
