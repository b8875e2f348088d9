// SPDX-License-Identifier: Apache-2.0
#include <patch_core/errors.hpp>

#include <common/text.hpp>

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
    return common::escape_unprintable(text);
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
