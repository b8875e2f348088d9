// SPDX-License-Identifier: Apache-2.0
// The one configuration-file reader: INI files ("[section]", "key = value", comments), read
// against a schema each program declares. Unknown sections and keys are errors, numbers are
// range-checked, and every message starts with "<file>:<line>: ".
#pragma once

#include <charconv>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace patching::common::ini {

/// A file that cannot be read or does not follow its schema. The message names the file and,
/// where there is one, the line ("controller.conf:7: listen_port must be ...").
class Error : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Syntax options of one file format.
struct Syntax {
    std::string_view comment_chars = "#;";  ///< A line starting with one of these is a comment.
    /// A value wholly in double quotes loses them (`token_file = "/run/tok"`).
    bool strip_quotes = false;
    /// A key given twice in a section: false = an error, true = the last one counts.
    bool last_duplicate_wins = false;
};

/// One "key = value" line.
struct Entry {
    std::string section;  ///< "" before the first section header.
    std::string key;
    std::string value;  ///< Trimmed (and unquoted with Syntax::strip_quotes).
    int line = 0;
};

/// A parsed file: its entries in file order.
struct Document {
    std::string origin;  ///< The file name shown in messages.
    std::vector<Entry> entries;
    std::vector<std::pair<std::string, int>> sections;  ///< Headers seen, with their line.

    /// Parses `text`. @throws Error ("origin:line: expected ...") on a malformed line, an
    /// empty key or section name, or (unless last_duplicate_wins) a repeated key.
    static Document parse(std::string_view text, std::string origin, const Syntax& syntax = {});
    /// Reads and parses `path` (at most 1 MiB). @throws Error naming the file when it cannot be
    /// read, or from parse().
    static Document load(const std::filesystem::path& path, const Syntax& syntax = {});

    /// "origin:line", for messages about `entry`.
    std::string where(const Entry& entry) const;
};

/// What a program accepts: per section, its keys and where each value goes. Values are parsed
/// and stored by apply(); keys absent from the file leave their targets unchanged (defaults).
/// The targets must outlive the Schema.
class Schema {
public:
    /// Called with the entry and "origin:line" for a custom key; throws Error to refuse it.
    using Handler = std::function<void(const Entry& entry, const std::string& where)>;

    /// Makes `name` the section the following keys belong to ("" = keys outside any section).
    Schema& section(std::string name);
    Schema& text(std::string key, std::string& target);
    Schema& text(std::string key, std::optional<std::string>& target);
    Schema& path(std::string key, std::filesystem::path& target);
    Schema& path(std::string key, std::optional<std::filesystem::path>& target);
    /// true/yes/1 or false/no/0.
    Schema& boolean(std::string key, bool& target);
    /// A whole number in [min, max] (decimal digits, optionally a leading '-').
    template <class T>
    Schema& number(std::string key, T& target, T min, T max) {
        static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
        return custom(std::move(key), [&target, min, max](const Entry& e, const std::string& where) {
            target = static_cast<T>(parse_integer(
                e, where, static_cast<long long>(min), static_cast<unsigned long long>(max),
                std::is_signed_v<T>));
        });
    }
    /// A decimal number (e.g. seconds, "2.5") in [min, max].
    Schema& real(std::string key, double& target, double min, double max);
    Schema& real(std::string key, std::optional<double>& target, double min, double max);
    /// Anything else: `handler` parses the value.
    Schema& custom(std::string key, Handler handler);

    /// Stores every entry of `doc` through its key's handler, in file order.
    /// @throws Error "origin:line: ..." for a section or key the schema does not have, or a
    ///         value its handler refuses.
    void apply(const Document& doc) const;
    /// apply(Document::load(path, syntax)).
    void load(const std::filesystem::path& path, const Syntax& syntax = {}) const {
        apply(Document::load(path, syntax));
    }

    /// Parses a whole number in [min, max] (max as unsigned: up to UINT64_MAX); the shared
    /// helper of number(). @throws Error naming the key, the range and the value.
    static unsigned long long parse_integer(
        const Entry& entry,
        const std::string& where,
        long long min,
        unsigned long long max,
        bool is_signed);

private:
    std::string current_;
    std::map<std::string, std::vector<std::pair<std::string, Handler>>> sections_;
};

}  // namespace patching::common::ini
