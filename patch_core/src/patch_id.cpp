// SPDX-License-Identifier: Apache-2.0
#include <patch_core/patch_id.hpp>

#include "text.hpp"

#include <regex>

namespace patching::core {

namespace {
using detail::is_ascii_alnum;

std::optional<std::string> token_problem(
    std::string_view value, std::string_view what, size_t max_len, std::string_view extra) {
    if (value.empty()) {
        return std::string(what) + " is empty";
    }
    if (value.size() > max_len) {
        return std::string(what) + " is longer than " + std::to_string(max_len) + " characters";
    }
    if (!is_ascii_alnum(value.front())) {
        return std::string(what) + " must start with a letter or digit";
    }
    for (char c : value) {
        if (!is_ascii_alnum(c) && extra.find(c) == std::string_view::npos) {
            return std::string(what) + " contains '" + std::string(1, c) +
                   "'; allowed are letters, digits and " + std::string(extra);
        }
    }
    if (value.find("..") != std::string_view::npos) {
        return std::string(what) + " contains \"..\"";
    }
    return std::nullopt;
}
}  // namespace

std::optional<std::string> patch_id_problem(std::string_view id) {
    return token_problem(id, "patch ID", 100, "._+-");
}

std::optional<std::string> release_problem(std::string_view release) {
    return token_problem(release, "release", 32, "._-");
}

std::optional<RpmFileName> parse_rpm_filename(std::string_view basename) {
    static const std::regex pattern(R"(^(?:([0-9]+):)?(.+)-([^-]+)-(.+)\.([^.]+)\.rpm$)");
    std::match_results<std::string_view::const_iterator> m;
    if (!std::regex_match(basename.begin(), basename.end(), m, pattern)) {
        return std::nullopt;
    }
    return RpmFileName{m[1].str(), m[2].str(), m[3].str(), m[4].str(), m[5].str()};
}

bool is_safe_basename(std::string_view name) {
    if (name.empty() || name == "." || name == "..") {
        return false;
    }
    for (char c : name) {
        if (c == '/' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            return false;
        }
    }
    return true;
}

}  // namespace patching::core
