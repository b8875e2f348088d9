// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace patching::controller {

/// max-concurrency or max-errors as given: a number or a percentage of the targets (AWS SSM's
/// formats, fleet-ops-spec §8.1-8.2).
struct RateLimit {
    int value = 0;
    bool percent = false;

    /// "5" or "10%".
    std::string text() const;
};

/// max-concurrency: `^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$` (0 is not allowed); nullopt otherwise.
std::optional<RateLimit> parse_max_concurrency(std::string_view text);
/// max-errors: `^([1-9][0-9]*|0|[1-9][0-9]%|[0-9]%|100%)$`; nullopt otherwise.
std::optional<RateLimit> parse_max_errors(std::string_view text);

/// How many children may run at once over `targets` hosts. The rounding, which SSM leaves
/// undocumented (spec §9.5): a percentage is floor(pct x targets / 100), at least 1.
int resolve_max_concurrency(const RateLimit& limit, int targets);
/// How many children may fail before dispatch stops: floor(pct x targets / 100) for a
/// percentage (at least 0). The budget is exhausted at failure number max_errors + 1.
int resolve_max_errors(const RateLimit& limit, int targets);

}  // namespace patching::controller
