// SPDX-License-Identifier: Apache-2.0
// Small text helpers shared by the agent's sources.
#pragma once

#include <string>
#include <string_view>

namespace patching::agent {

/// `text` with ASCII A-Z lowered; other bytes unchanged (header names, checksum types).
inline std::string ascii_lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

}  // namespace patching::agent
