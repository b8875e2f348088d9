// SPDX-License-Identifier: Apache-2.0
// Small text helpers shared by every module.
#pragma once

#include <string>
#include <string_view>

namespace patching::common {

/// `text` with every byte outside printable ASCII written as \xNN, so that names and text taken
/// from untrusted input cannot inject newlines or terminal escape sequences into messages.
std::string escape_unprintable(std::string_view text);

/// `text` with ASCII A-Z lowered; other bytes unchanged (header names, checksum types).
std::string ascii_lower(std::string_view text);

/// `text` without leading and trailing spaces, tabs, CR and LF.
std::string_view trim(std::string_view text);

}  // namespace patching::common
