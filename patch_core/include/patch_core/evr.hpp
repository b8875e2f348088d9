// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

namespace patching::core {

/// Compares two version (or release) strings exactly as librpm >= 4.15 rpmvercmp() does:
/// returns -1 if `a` is older than `b`, 0 if equal, 1 if newer. Characters other than ASCII
/// letters, digits, '~' and '^' separate segments; '~' sorts before everything, even the end of
/// the string; '^' sorts after the end of the string but before any other segment; digit runs
/// compare numerically (leading zeros ignored, any length) and beat letter runs; letter runs
/// compare with strcmp. Like the C function, each string ends at its first NUL byte.
/// Pure and thread-safe.
int rpmvercmp(std::string_view a, std::string_view b);

/// An epoch-version-release triple. An empty field stands for an absent one (Python's None in
/// the reference).
struct Evr {
    std::string epoch;
    std::string version;
    std::string release;

    /// Field-wise (textual) equality; use label_compare() for version equality.
    bool operator==(const Evr&) const = default;
};

/// Splits "[E:]V[-R]" as the reference's parse_pkgver regex `^((([^:]):)?)([^-]+)((-(.*))?)$`
/// does, with one fix: the epoch may be any run of characters other than ':' and '-' (the
/// reference allowed exactly one character, so "12:1.0-1" became version "12:1.0"). The version
/// ends at the first '-' and the release is everything after it. Input that does not match
/// (empty, or no version before the first '-') gives all fields empty, as the reference's
/// (None, None, None).
Evr parse_pkgver(std::string_view text);

/// rpm.labelCompare(): -1, 0 or 1. Compares the epochs first (an empty epoch counts as "0"),
/// then the versions, then the releases, each with rpmvercmp(); an empty (absent) version or
/// release is less than any non-empty one and equal to another empty one, as librpm treats NULL.
int label_compare(const Evr& a, const Evr& b);

}  // namespace patching::core
