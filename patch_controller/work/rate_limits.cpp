// SPDX-License-Identifier: Apache-2.0
#include "work/rate_limits.hpp"

#include <algorithm>
#include <limits>

namespace patching::controller {

namespace {

// Digits without a leading zero (or "0" when allowed), at most 9 of them.
std::optional<int> parse_count(std::string_view digits, bool zero_allowed) {
    if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string_view::npos) {
        return std::nullopt;
    }
    if (digits[0] == '0' && (digits.size() > 1 || !zero_allowed)) {
        return std::nullopt;
    }
    int n = 0;
    for (char c : digits) {
        n = n * 10 + (c - '0');
    }
    return n;
}

std::optional<RateLimit> parse_limit(std::string_view text, bool zero_allowed) {
    if (!text.empty() && text.back() == '%') {
        auto n = parse_count(text.substr(0, text.size() - 1), zero_allowed);
        if (!n || *n > 100) {
            return std::nullopt;
        }
        return RateLimit{*n, true};
    }
    auto n = parse_count(text, zero_allowed);
    return n ? std::optional(RateLimit{*n, false}) : std::nullopt;
}

}  // namespace

std::string RateLimit::text() const { return std::to_string(value) + (percent ? "%" : ""); }

std::optional<RateLimit> parse_max_concurrency(std::string_view text) { return parse_limit(text, false); }

std::optional<RateLimit> parse_max_errors(std::string_view text) { return parse_limit(text, true); }

int resolve_max_concurrency(const RateLimit& limit, int targets) {
    if (!limit.percent) {
        return std::max(1, limit.value);
    }
    return std::max(1, static_cast<int>(static_cast<long long>(limit.value) * targets / 100));
}

int resolve_max_errors(const RateLimit& limit, int targets) {
    if (!limit.percent) {
        return std::max(0, limit.value);
    }
    return static_cast<int>(static_cast<long long>(limit.value) * targets / 100);
}

}  // namespace patching::controller
