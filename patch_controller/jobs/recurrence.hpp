// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace patching::controller {

/// When a job runs (fleet-ops-spec §9.6): a first local date and time in an IANA zone, and for a
/// recurring job an RFC 5545 RRULE (the subset FREQ=HOURLY|DAILY|WEEKLY|MONTHLY, INTERVAL, BYDAY
/// with ordinals, BYMONTHDAY, BYMONTH, BYSETPOS, BYHOUR, BYMINUTE, COUNT, UNTIL). libical expands
/// the rule in the zone's local wall time; Howard Hinnant's date/tz (the system's zoneinfo) maps
/// each local time to UTC:
///  - a local time that does not exist (spring forward) moves to the first valid instant after
///    the gap;
///  - a local time that occurs twice (fall back) fires once, at its first occurrence;
///  - two local slots that land on the same instant fire once.
/// Immutable and thread-safe once built.
///
/// An Anchor (an occurrence as the rule produced it, in local time, with how many occurrences
/// came before it) lets a long-lived series resume there instead of expanding from the start:
/// the occurrences from an occurrence on are the same whichever it starts from (the unit tests
/// compare both for every kind of rule).
class Recurrence {
public:
    /// An occurrence to resume from: local "YYYY-MM-DDTHH:MM:SS" as the rule produced it (before
    /// any DST move) and the number of occurrences before it (for COUNT). Empty = the start.
    struct Anchor {
        std::string local;
        int index = 0;

        bool operator==(const Anchor&) const = default;
    };
    /// A slot (UTC seconds) and the anchor that resumes the series at it.
    struct Slot {
        std::int64_t utc = 0;
        Anchor anchor;
    };

    /// @param start_local "YYYY-MM-DDTHH:MM[:SS]" (no offset): the first slot, in `time_zone`.
    /// @param rule "" for a one-time job, else the RRULE (with or without "RRULE:").
    /// @throws InvalidField naming "time_zone", "start" or "rule" (unknown zone, malformed time,
    ///         unsupported part, a rule with no occurrence at all).
    Recurrence(const std::string& start_local, const std::string& rule, const std::string& time_zone);
    /// The same series, resumed at `anchor` (from a Slot this series returned; empty = the start).
    Recurrence(const std::string& start_local, const std::string& rule, const std::string& time_zone,
               const Anchor& anchor);
    ~Recurrence();
    Recurrence(const Recurrence&) = delete;
    Recurrence& operator=(const Recurrence&) = delete;

    /// The first slot (UTC seconds) strictly after `after_utc`, or nullopt when the series has
    /// ended (COUNT, UNTIL, a one-time job's slot passed).
    std::optional<std::int64_t> next_after(std::int64_t after_utc) const;
    /// Up to `n` slots strictly after `after_utc`, in order.
    std::vector<std::int64_t> next_slots(std::int64_t after_utc, int n) const;
    /// The slots strictly after `after_utc` up to `until_utc`, then the first one after it (if
    /// any), at most `max` in all; each with its anchor. One pass over the series.
    std::vector<Slot> slots_until(std::int64_t after_utc, std::int64_t until_utc, int max) const;
    /// The shortest distance in local wall time (the rule's nominal interval, which a DST gap
    /// does not shorten) between two consecutive slots among the first 100 (0 for a one-time job
    /// or a series of one slot): a window must not be longer.
    std::int64_t shortest_interval() const;
    bool is_recurring() const;

    /// "2026-03-08T03:00:00-04:00" (the slot in the job's zone).
    std::string local_text(std::int64_t utc) const;
    /// "2026-03-08T07:00:00Z".
    static std::string utc_text(std::int64_t utc);
    /// True if `name` is a zone of the system's database.
    static bool is_zone(const std::string& name);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace patching::controller
