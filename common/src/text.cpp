// SPDX-License-Identifier: Apache-2.0
#include <common/text.hpp>

namespace patching::common {

std::string escape_unprintable(std::string_view text) {
    static constexpr char HEX[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte < 0x7f) {
            out += c;
        } else {
            out.append("\\x").append(1, HEX[byte >> 4U]).append(1, HEX[byte & 0xfU]);
        }
    }
    return out;
}

std::string ascii_lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

std::string_view trim(std::string_view text) {
    const char* ws = " \t\r\n";
    const auto begin = text.find_first_not_of(ws);
    if (begin == std::string_view::npos) {
        return {};
    }
    return text.substr(begin, text.find_last_not_of(ws) - begin + 1);
}

}  // namespace patching::common
