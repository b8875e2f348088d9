// SPDX-License-Identifier: Apache-2.0
// Small text helpers shared by patch_core's sources (internal: not part of the public headers).
#pragma once

#include <string>
#include <string_view>

namespace patching::core::detail {

/// ASCII-only character classes (the locale never changes what an ID or a version may hold).
inline bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_ascii_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_ascii_alnum(char c) { return is_ascii_digit(c) || is_ascii_alpha(c); }

/// Appends `text` escaped as Python's minidom (_write_data) escapes text and attribute values
/// alike: & < > and ", nothing else (metadata.xml and comps.xml are byte-compatible with it).
inline void append_xml_escaped(std::string& out, std::string_view text) {
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
}

}  // namespace patching::core::detail
