// SPDX-License-Identifier: Apache-2.0
#include <patch_core/errors.hpp>

#include <cstring>

namespace patching::core {

namespace {
std::string system_message(int err, const std::string& what, const std::filesystem::path& path) {
    std::string msg = what;
    if (!path.empty()) {
        msg.append(" ").append(path.string());
    }
    msg.append(": ").append(std::strerror(err));
    return msg;
}
}  // namespace

SystemError::SystemError(int err, const std::string& what, const std::filesystem::path& path)
    : Error(system_message(err, what, path)), errno_(err) {}

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

std::string format_error_chain(const std::exception& e) {
    std::string out = e.what();
    try {
        std::rethrow_if_nested(e);
    } catch (const std::exception& nested) {
        out += ": " + format_error_chain(nested);
    } catch (...) {
        out += ": unknown error";
    }
    return out;
}

}  // namespace patching::core
