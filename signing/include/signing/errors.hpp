// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <stdexcept>
#include <string>

namespace patching::signing {

/// Any failure in the signing library: unreadable key or certificate, OpenSSL errors, bad
/// arguments. The message names the file involved and, for OpenSSL failures, carries the drained
/// OpenSSL error queue.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace patching::signing
