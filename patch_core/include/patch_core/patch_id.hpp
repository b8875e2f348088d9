// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace patching::core {

/// Why `id` cannot be a patch ID, or nullopt if it can. IDs become file names and URL path
/// segments: 1..100 characters from [A-Za-z0-9._+-], starting with a letter or digit, no "..".
std::optional<std::string> patch_id_problem(std::string_view id);

/// Why `release` cannot be a release (sw_version), or nullopt: 1..32 characters from
/// [A-Za-z0-9._-], starting with a letter or digit.
std::optional<std::string> release_problem(std::string_view release);

/// An RPM file name split as the reference's parse_rpm_filename does (§1.3), except that the
/// epoch may have any number of digits (the reference kept only one).
struct RpmFileName {
    std::string epoch;  ///< Empty when absent.
    std::string name;
    std::string version;
    std::string release;
    std::string arch;
};

/// Parses "[E:]N-V-R.A.rpm" (a basename). Returns nullopt when the name does not match.
std::optional<RpmFileName> parse_rpm_filename(std::string_view basename);

/// True if `name` is a safe single path component for an archive member or stored file:
/// non-empty, no '/', not "." or "..", no NUL or control characters.
bool is_safe_basename(std::string_view name);

}  // namespace patching::core
