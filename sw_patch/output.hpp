// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "response.hpp"

// Pure formatting: every function returns the exact text to print (newlines included) and does
// no I/O, so the layouts can be compared byte for byte with the reference's output.
namespace patching::client {

/// What the reference prints for an HTTP 500.
inline constexpr std::string_view INTERNAL_ERROR_MESSAGE =
    "An internal error has occurred. Please check /var/log/patching.log for details";

/// Length in characters (UTF-8 code points), as Python's len() counts them.
std::size_t display_length(std::string_view text);

/// `text` centred in `width` like Python's "{:^width}": the extra space goes to the right.
std::string center(std::string_view text, std::size_t width);

/// `text` left-aligned in `width` like Python's "{:<width}".
std::string pad_right(std::string_view text, std::size_t width);

/// Python's textwrap.fill(text, width, initial_indent, subsequent_indent) with its defaults
/// (whitespace normalised, lines broken after hyphens of hyphenated words, long words broken).
/// Returns the lines joined by '\n', without a trailing newline; "" for blank text.
std::string wrap_text(
    std::string_view text,
    std::size_t width,
    std::string_view initial_indent = "",
    std::string_view subsequent_indent = "");

/// The wrapping width of `show` and of the commit warning: terminal columns minus 4 when the
/// terminal is wider than 60 columns, else 72 (the reference's set_term_width).
std::size_t wrap_width(std::optional<int> terminal_columns);

/// info as is, then "Warning:" and the warning, then "Error:" and the error, each printed only
/// when present and non-empty (each followed by a newline, as Python's print adds one).
std::string format_messages(const nlohmann::json& body);

/// The `query` table of `pd` ({id: meta}), followed by a blank line. Columns joined by two
/// spaces, headers centred, Patch ID left-aligned, the rest centred; `Repo State` only when some
/// patchstate is "n/a"; RR is "Y" when reboot_required is missing.
std::string format_query_table(const nlohmann::json& pd);

/// The reference's print_patch_op_result: the query table when the body has `pd`, then the
/// messages. HTTP 500 prints INTERNAL_ERROR_MESSAGE (and the error, if the body carries one).
/// Used by query, apply, remove, delete, upload, upload-dir, what-requires, commit, drop-host...
std::string format_op_result(const Response& response);

/// The `show` layout of a show response, wrapped to `width`, then the messages.
std::string format_show_result(const Response& response, std::size_t width);

/// The `query-hosts` table (rows sorted by hostname, no trailing blank line).
/// A body without `data` prints "Invalid data returned:" and the debug dump.
std::string format_hosts_result(const Response& response);

/// query-dependencies: the `patches` list sorted, one per line, then the messages.
std::string format_dependencies_result(const Response& response);

/// query-app-dependencies: an Application / Required Patches table, or
/// "There are no application dependencies." for an empty object.
std::string format_app_dependencies(const nlohmann::json& body);

/// is-applied / is-available: "True" or "False" and a newline (Python's print of a bool).
std::string format_bool_result(const Response& response);

/// The reference's --debug output: `pd`, else `data`, else the whole body, as sorted JSON with a
/// 4-space indent; HTTP 500 prints INTERNAL_ERROR_MESSAGE.
std::string format_debug(const Response& response);

/// --format json: the whole body, keys sorted, 4-space indent, and a newline.
std::string format_json(const nlohmann::json& body);

/// The commit warning paragraph, wrapped to `width` with a 9-space hanging indent.
std::string format_commit_warning(std::size_t width);

/// One upload progress line (no carriage return or newline), e.g.
/// "P.patch  [#########           ]  45%   12.3/27.0 MiB  5.2 MiB/s".
std::string format_progress(
    std::string_view name, std::uint64_t sent, std::uint64_t total, double elapsed_s);

}  // namespace patching::client
