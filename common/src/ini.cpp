// SPDX-License-Identifier: Apache-2.0
#include <common/ini.hpp>
#include <common/text.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace patching::common::ini {

namespace {

constexpr std::uintmax_t MAX_FILE_BYTES = 1U << 20U;

std::string shown(std::string_view s) {
    return escape_unprintable(s);
}

std::string section_name(const std::string& section) {
    return section.empty() ? "outside any section" : "in [" + section + "]";
}

}  // namespace

Document Document::parse(std::string_view text, std::string origin, const Syntax& syntax) {
    Document doc;
    doc.origin = std::move(origin);
    std::string section;
    std::set<std::pair<std::string, std::string>> seen;
    int line_no = 0;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        ++line_no;
        line = trim(line);
        if (line.empty() || syntax.comment_chars.find(line.front()) != std::string_view::npos) {
            continue;
        }
        const std::string where = doc.origin + ":" + std::to_string(line_no);
        if (line.front() == '[') {
            if (line.back() != ']' || trim(line.substr(1, line.size() - 2)).empty()) {
                throw Error(where + ": expected \"[section]\", got \"" + shown(line) + "\"");
            }
            section = std::string(trim(line.substr(1, line.size() - 2)));
            doc.sections.emplace_back(section, line_no);
            continue;
        }
        const auto eq = line.find('=');
        if (eq == std::string_view::npos) {
            throw Error(where + ": expected \"key = value\", got \"" + shown(line) + "\"");
        }
        std::string key(trim(line.substr(0, eq)));
        if (key.empty()) {
            throw Error(where + ": expected \"key = value\", got \"" + shown(line) + "\"");
        }
        std::string_view value = trim(line.substr(eq + 1));
        if (syntax.strip_quotes && value.size() >= 2 && value.front() == '"' &&
            value.back() == '"') {
            value = value.substr(1, value.size() - 2);
        }
        if (!seen.emplace(section, key).second) {
            if (!syntax.last_duplicate_wins) {
                throw Error(
                    where + ": " + shown(key) + " is set twice " + section_name(section) +
                    ": remove one of them");
            }
            std::erase_if(doc.entries, [&](const Entry& e) {
                return e.section == section && e.key == key;
            });
        }
        doc.entries.push_back({section, std::move(key), std::string(value), line_no});
    }
    return doc;
}

Document Document::load(const std::filesystem::path& path, const Syntax& syntax) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error(
            "cannot read the configuration file " + path.string() + ": " + std::strerror(errno));
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad() || text.str().size() > MAX_FILE_BYTES) {
        throw Error(
            "cannot read the configuration file " + path.string() +
            ": unreadable or larger than 1 MiB");
    }
    return parse(text.str(), path.string(), syntax);
}

std::string Document::where(const Entry& entry) const {
    return origin + ":" + std::to_string(entry.line);
}

Schema& Schema::section(std::string name) {
    current_ = std::move(name);
    sections_[current_];
    return *this;
}

Schema& Schema::custom(std::string key, Handler handler) {
    sections_[current_].emplace_back(std::move(key), std::move(handler));
    return *this;
}

Schema& Schema::text(std::string key, std::string& target) {
    return custom(std::move(key), [&target](const Entry& e, const std::string&) { target = e.value; });
}

Schema& Schema::text(std::string key, std::optional<std::string>& target) {
    return custom(std::move(key), [&target](const Entry& e, const std::string&) { target = e.value; });
}

Schema& Schema::path(std::string key, std::filesystem::path& target) {
    return custom(std::move(key), [&target](const Entry& e, const std::string&) { target = e.value; });
}

Schema& Schema::path(std::string key, std::optional<std::filesystem::path>& target) {
    return custom(std::move(key), [&target](const Entry& e, const std::string&) { target = e.value; });
}

Schema& Schema::boolean(std::string key, bool& target) {
    return custom(std::move(key), [&target](const Entry& e, const std::string& where) {
        if (e.value == "true" || e.value == "yes" || e.value == "1") {
            target = true;
        } else if (e.value == "false" || e.value == "no" || e.value == "0") {
            target = false;
        } else {
            throw Error(
                where + ": " + e.key + " must be true or false, not \"" + shown(e.value) + "\"");
        }
    });
}

namespace {

std::optional<double> parse_real(const std::string& value) {
    if (value.empty()) {
        return std::nullopt;
    }
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(value.c_str(), &end);
    if (errno != 0 || end == nullptr || *end != '\0' || !std::isfinite(v)) {
        return std::nullopt;
    }
    return v;
}

std::string format_real(double v) {
    std::ostringstream out;
    out << v;
    return out.str();
}

}  // namespace

namespace {

double checked_real(const Entry& e, const std::string& where, double min, double max) {
    const auto v = parse_real(e.value);
    if (!v || *v < min || *v > max) {
        throw Error(
            where + ": " + e.key + " must be a number from " + format_real(min) + " to " +
            format_real(max) + ", not \"" + shown(e.value) + "\"");
    }
    return *v;
}

}  // namespace

Schema& Schema::real(std::string key, std::optional<double>& target, double min, double max) {
    return custom(std::move(key), [&target, min, max](const Entry& e, const std::string& where) {
        target = checked_real(e, where, min, max);
    });
}

Schema& Schema::real(std::string key, double& target, double min, double max) {
    return custom(std::move(key), [&target, min, max](const Entry& e, const std::string& where) {
        target = checked_real(e, where, min, max);
    });
}

unsigned long long Schema::parse_integer(
    const Entry& e,
    const std::string& where,
    long long min,
    unsigned long long max,
    bool is_signed) {
    const std::string& v = e.value;
    const char* first = v.data();
    const char* last = v.data() + v.size();
    bool ok = false;
    unsigned long long result = 0;
    if (!v.empty() && v.front() == '-') {
        long long n = 0;
        const auto [end, ec] = std::from_chars(first, last, n);
        ok = is_signed && ec == std::errc() && end == last && n >= min;
        result = static_cast<unsigned long long>(n);
    } else {
        const auto [end, ec] = std::from_chars(first, last, result);
        ok = ec == std::errc() && end == last && result <= max &&
             (min <= 0 || result >= static_cast<unsigned long long>(min));
    }
    if (!ok) {
        throw Error(
            where + ": " + e.key + " must be a whole number from " + std::to_string(min) +
            " to " + std::to_string(max) + ", not \"" + shown(v) + "\"");
    }
    return result;
}

void Schema::apply(const Document& doc) const {
    for (const auto& [name, line] : doc.sections) {
        if (!sections_.contains(name)) {
            std::string expected;
            for (const auto& [known, keys] : sections_) {
                if (!known.empty()) {
                    expected += (expected.empty() ? "" : ", ") + ("[" + known + "]");
                }
            }
            throw Error(
                doc.origin + ":" + std::to_string(line) + ": unknown section [" + shown(name) +
                "]" + (expected.empty() ? " (this file has no sections)" : " (expected " + expected + ")"));
        }
    }
    for (const Entry& e : doc.entries) {
        const std::string where = doc.where(e);
        const auto section = sections_.find(e.section);
        if (section == sections_.end()) {
            std::string expected;
            for (const auto& [known, keys] : sections_) {
                expected += (expected.empty() ? "" : ", ") + ("[" + known + "]");
            }
            throw Error(
                where + ": " + shown(e.key) + " is outside any section: put it under " + expected);
        }
        const auto& keys = section->second;
        const auto key = std::find_if(keys.begin(), keys.end(), [&](const auto& k) {
            return k.first == e.key;
        });
        if (key == keys.end()) {
            std::string known;
            for (const auto& k : keys) {
                known += (known.empty() ? "" : ", ") + k.first;
            }
            throw Error(
                where + ": unknown key \"" + shown(e.key) + "\"" +
                (e.section.empty() ? "" : " in [" + e.section + "]") + " (known keys: " + known + ")");
        }
        key->second(e, where);
    }
}

}  // namespace patching::common::ini
