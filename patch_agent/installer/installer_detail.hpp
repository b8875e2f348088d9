// SPDX-License-Identifier: Apache-2.0
// Shared by the installer's source files (installer.cpp, download.cpp, insvc_scripts.cpp); not part
// of its interface.
#pragma once

#include <patch_core/errors.hpp>

#include <sstream>
#include <string>
#include <vector>

namespace patching::agent {

/// An install failure whose message is already the reason for people (shown as is in the host
/// table and by sw-patch host-install).
class InstallFailure : public core::Error {
    using core::Error::Error;
};

/// Appends each non-empty line of `text` to `log` with `prefix`, unprintable bytes escaped.
inline void append_lines(
    std::vector<std::string>& log, const std::string& prefix, const std::string& text) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) {
            log.push_back(prefix + core::escape_unprintable(line));
        }
    }
}

}  // namespace patching::agent
