// SPDX-License-Identifier: Apache-2.0
#include "jobs/recurrence.hpp"

#include "service/errors.hpp"

#include <patch_core/errors.hpp>

#include <date/date.h>
#include <date/tz.h>
#include <libical/ical.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <sstream>

namespace patching::controller {

namespace {

using Seconds = std::chrono::seconds;

// libical keeps its error state in globals: one caller at a time.
std::mutex& ical_mutex() {
    static std::mutex m;
    return m;
}

struct IterFree {
    void operator()(icalrecur_iterator* it) const noexcept { icalrecur_iterator_free(it); }
};
using IterPtr = std::unique_ptr<icalrecur_iterator, IterFree>;

icaltimetype to_ical(date::local_seconds t) {
    const auto day = date::floor<date::days>(t);
    const date::year_month_day ymd(day);
    const date::hh_mm_ss<Seconds> hms(t - day);
    icaltimetype out = icaltime_null_time();
    out.year = static_cast<int>(ymd.year());
    out.month = static_cast<int>(static_cast<unsigned>(ymd.month()));
    out.day = static_cast<int>(static_cast<unsigned>(ymd.day()));
    out.hour = static_cast<int>(hms.hours().count());
    out.minute = static_cast<int>(hms.minutes().count());
    out.second = static_cast<int>(hms.seconds().count());
    out.is_date = 0;
    return out;
}

date::local_seconds from_ical(const icaltimetype& t) {
    const date::local_days day{date::year(t.year) / date::month(static_cast<unsigned>(t.month)) /
                               date::day(static_cast<unsigned>(t.day))};
    return day + std::chrono::hours(t.hour) + std::chrono::minutes(t.minute) + Seconds(t.second);
}

/// §9.6: the local time's instant; a skipped time moves to the end of the gap, a repeated one
/// takes its first occurrence.
std::int64_t to_utc(const date::time_zone* zone, date::local_seconds local) {
    const date::local_info info = zone->get_info(local);
    date::sys_seconds utc;
    if (info.result == date::local_info::nonexistent) {
        utc = info.first.end;
    } else {
        utc = date::sys_seconds{local.time_since_epoch()} - info.first.offset;
    }
    return utc.time_since_epoch().count();
}

const date::time_zone* find_zone(const std::string& name) {
    try {
        return date::locate_zone(name);
    } catch (const std::exception&) {
        return nullptr;
    }
}

std::string rule_words() {
    return "supported: FREQ=HOURLY|DAILY|WEEKLY|MONTHLY with INTERVAL, BYDAY (e.g. 2TU), BYMONTHDAY, BYMONTH, "
           "BYSETPOS, BYHOUR, BYMINUTE, COUNT or UNTIL";
}

bool has_part(const short* list) { return list[0] != ICAL_RECURRENCE_ARRAY_MAX; }

/// How far (in local wall time) an expansion searches for the next slot: libical's iterator
/// would otherwise search for an occurrence up to the year 2582, holding its lock.
constexpr auto HORIZON = date::years(50);

/// True if BYMONTHDAY can match in some month the rule allows (BYMONTH, else any): a day beyond
/// the longest of those months (Feb 30, Apr 31, BYMONTHDAY=32) never matches, and libical would
/// search for it for seconds.
bool month_days_can_match(const icalrecurrencetype& r) {
    if (!has_part(r.by_month_day)) {
        return true;
    }
    static constexpr int LENGTH[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int longest = 0;
    if (has_part(r.by_month)) {
        for (int i = 0; i < ICAL_BY_MONTH_SIZE && r.by_month[i] != ICAL_RECURRENCE_ARRAY_MAX; ++i) {
            const int m = r.by_month[i];
            if (m >= 1 && m <= 12) {
                longest = std::max(longest, LENGTH[m]);
            }
        }
    } else {
        longest = 31;
    }
    for (int i = 0; i < ICAL_BY_MONTHDAY_SIZE && r.by_month_day[i] != ICAL_RECURRENCE_ARRAY_MAX; ++i) {
        const int d = r.by_month_day[i];
        if (d != 0 && std::abs(d) <= longest) {
            return true;
        }
    }
    return false;
}

std::optional<date::local_seconds> parse_local(const std::string& text) {
    std::istringstream in(text);
    date::local_seconds t;
    in >> date::parse("%Y-%m-%dT%H:%M:%S", t);
    if (in.fail() || in.peek() != std::char_traits<char>::eof()) {
        return std::nullopt;
    }
    return t;
}

}  // namespace

struct Recurrence::Impl {
    const date::time_zone* zone = nullptr;
    date::local_seconds start;
    bool recurring = false;
    icalrecurrencetype rule{};
    std::optional<date::local_seconds> anchor;  ///< Resume here (an occurrence) instead of start.
    int anchor_index = 0;

    /// Calls `visit(utc, local, index)` for each slot in order (duplicates dropped) until it
    /// returns false, or HORIZON of local time passes without a slot after `from_utc` (counted
    /// from the later of where the series begins and `from_utc`; a time horizon, not a count).
    template <class Visit>
    void each(Visit visit, std::int64_t from_utc = std::numeric_limits<std::int64_t>::min()) const {
        if (!recurring) {
            visit(to_utc(zone, start), start, 0);
            return;
        }
        icalrecurrencetype r = rule;
        const int base = anchor ? anchor_index : 0;
        if (r.count > 0) {
            r.count -= base;  // COUNT counts from the start: what is left after the anchor
            if (r.count <= 0) {
                return;
            }
        }
        date::local_seconds begin = anchor.value_or(start);
        if (from_utc != std::numeric_limits<std::int64_t>::min()) {
            begin = std::max(begin, zone->to_local(date::sys_seconds{Seconds(from_utc)}));
        }
        date::local_seconds horizon = begin + std::chrono::duration_cast<Seconds>(HORIZON);
        std::lock_guard lock(ical_mutex());
        IterPtr it(icalrecur_iterator_new(r, to_ical(anchor.value_or(start))));
        if (!it) {
            return;
        }
        std::int64_t last = 0;
        bool any = false;
        for (int i = 0;; ++i) {
            const icaltimetype t = icalrecur_iterator_next(it.get());
            if (icaltime_is_null_time(t)) {
                return;
            }
            const date::local_seconds local = from_ical(t);
            if (local > horizon) {
                return;
            }
            const std::int64_t utc = to_utc(zone, local);
            if (any && utc <= last) {
                continue;  // two local times on one instant (a gap's end): fire once
            }
            any = true;
            last = utc;
            if (utc > from_utc) {
                horizon = local + std::chrono::duration_cast<Seconds>(HORIZON);  // found one: search on
            }
            if (!visit(utc, local, base + i)) {
                return;
            }
        }
    }
};

Recurrence::Recurrence(const std::string& start_local, const std::string& rule_text, const std::string& time_zone)
    : Recurrence(start_local, rule_text, time_zone, Anchor{}) {}

Recurrence::Recurrence(const std::string& start_local, const std::string& rule_text, const std::string& time_zone,
                       const Anchor& anchor)
    : impl_(std::make_unique<Impl>()) {
    impl_->zone = find_zone(time_zone);
    if (time_zone.empty() || impl_->zone == nullptr) {
        throw InvalidField("time_zone", "time_zone '" + core::escape_unprintable(time_zone) +
                                            "' is not an IANA zone of this system (e.g. Europe/Berlin, "
                                            "America/New_York, UTC; see /usr/share/zoneinfo)");
    }
    {
        std::istringstream in(start_local);
        date::local_seconds t;
        in >> date::parse("%Y-%m-%dT%H:%M:%S", t);
        if (in.fail()) {
            std::istringstream again(start_local);
            date::local_time<std::chrono::minutes> m;
            again >> date::parse("%Y-%m-%dT%H:%M", m);
            if (again.fail() || again.peek() != std::char_traits<char>::eof()) {
                throw InvalidField("start", "start '" + core::escape_unprintable(start_local) +
                                                "' is not a local date and time YYYY-MM-DDTHH:MM[:SS] (no offset: "
                                                "it is read in time_zone)");
            }
            t = date::local_seconds{m.time_since_epoch()};
        } else if (in.peek() != std::char_traits<char>::eof()) {
            throw InvalidField("start", "start '" + core::escape_unprintable(start_local) +
                                            "' has something after the time: give YYYY-MM-DDTHH:MM[:SS] without an "
                                            "offset (it is read in time_zone)");
        }
        impl_->start = t;
    }
    std::string text = rule_text;
    if (text.rfind("RRULE:", 0) == 0) {
        text = text.substr(6);
    }
    impl_->recurring = !text.empty();
    if (!impl_->recurring) {
        return;
    }
    {
        std::lock_guard lock(ical_mutex());
        icalerror_set_errors_are_fatal(0);
        icalerror_clear_errno();
        impl_->rule = icalrecurrencetype_from_string(text.c_str());
    }
    icalrecurrencetype& r = impl_->rule;
    const std::string shown = core::escape_unprintable(text);
    if (r.freq == ICAL_NO_RECURRENCE) {
        throw InvalidField("rule", "rule '" + shown + "' is not an RRULE this controller reads (" + rule_words() + ")");
    }
    if (r.freq != ICAL_HOURLY_RECURRENCE && r.freq != ICAL_DAILY_RECURRENCE && r.freq != ICAL_WEEKLY_RECURRENCE &&
        r.freq != ICAL_MONTHLY_RECURRENCE) {
        throw InvalidField("rule", "rule '" + shown + "': FREQ must be HOURLY, DAILY, WEEKLY or MONTHLY");
    }
    if (has_part(r.by_second) || has_part(r.by_year_day) || has_part(r.by_week_no)) {
        throw InvalidField("rule", "rule '" + shown + "' uses BYSECOND, BYYEARDAY or BYWEEKNO (" + rule_words() + ")");
    }
    if (r.interval < 1 || r.interval > 1000) {
        throw InvalidField("rule", "rule '" + shown + "': INTERVAL must be from 1 to 1000");
    }
    if (!icaltime_is_null_time(r.until)) {
        if (r.count != 0) {
            throw InvalidField("rule", "rule '" + shown + "' has both COUNT and UNTIL: give one");
        }
        if (r.until.is_date) {
            r.until.hour = 23;
            r.until.minute = 59;
            r.until.second = 59;
            r.until.is_date = 0;
        }
        if (icaltime_is_utc(r.until)) {
            // The rule runs in local wall time: UNTIL (an instant) becomes the zone's local time.
            const date::sys_seconds utc{date::local_seconds(from_ical(r.until)).time_since_epoch()};
            const auto local = impl_->zone->to_local(utc);
            r.until = to_ical(local);
        }
        r.until.zone = nullptr;
    }
    if (!month_days_can_match(r)) {
        throw InvalidField("rule", "rule '" + shown +
                                       "' never runs: no month it allows has the day BYMONTHDAY names (e.g. "
                                       "BYMONTH=2;BYMONTHDAY=30, BYMONTHDAY=31 in April, June, September or "
                                       "November, or beyond 31): fix the rule");
    }
    if (!next_after(std::numeric_limits<std::int64_t>::min())) {
        throw InvalidField("rule", "rule '" + shown + "' starting " + core::escape_unprintable(start_local) +
                                       " has no occurrence at all (e.g. BYMONTHDAY=31 in February, or UNTIL before "
                                       "start): fix the rule or the start");
    }
    if (!anchor.local.empty()) {
        impl_->anchor = parse_local(anchor.local);  // unreadable: expand from the start
        impl_->anchor_index = anchor.index;
    }
}

Recurrence::~Recurrence() = default;

bool Recurrence::is_recurring() const { return impl_->recurring; }

std::optional<std::int64_t> Recurrence::next_after(std::int64_t after_utc) const {
    std::optional<std::int64_t> found;
    impl_->each([&](std::int64_t utc, date::local_seconds, int) {
        if (utc > after_utc) {
            found = utc;
            return false;
        }
        return true;
    }, after_utc);
    return found;
}

std::vector<std::int64_t> Recurrence::next_slots(std::int64_t after_utc, int n) const {
    std::vector<std::int64_t> out;
    if (n <= 0) {
        return out;
    }
    impl_->each([&](std::int64_t utc, date::local_seconds, int) {
        if (utc > after_utc) {
            out.push_back(utc);
        }
        return std::ssize(out) < n;
    }, after_utc);
    return out;
}

std::vector<Recurrence::Slot> Recurrence::slots_until(std::int64_t after_utc, std::int64_t until_utc, int max) const {
    std::vector<Slot> out;
    if (max <= 0) {
        return out;
    }
    impl_->each([&](std::int64_t utc, date::local_seconds local, int index) {
        if (utc > after_utc) {
            out.push_back({utc, {date::format("%FT%T", local), index}});
        }
        return std::ssize(out) < max && (out.empty() || out.back().utc <= until_utc);
    }, after_utc);
    return out;
}

std::int64_t Recurrence::shortest_interval() const {
    // In local wall time, as the rule counts: a DST gap moves a slot to its end and shortens the
    // instants between two slots, not the rule's interval.
    std::int64_t shortest = 0;
    date::local_seconds last;
    int seen = 0;
    impl_->each([&](std::int64_t, date::local_seconds local, int) {
        const std::int64_t gap = (local - last).count();
        if (seen > 0 && gap > 0 && (shortest == 0 || gap < shortest)) {
            shortest = gap;
        }
        last = local;
        return ++seen < 100;
    });
    return shortest;
}

std::string Recurrence::local_text(std::int64_t utc) const {
    const date::zoned_seconds z(impl_->zone, date::sys_seconds{Seconds(utc)});
    return date::format("%FT%T%Ez", z);
}

std::string Recurrence::utc_text(std::int64_t utc) {
    return date::format("%FT%TZ", date::sys_seconds{Seconds(utc)});
}

bool Recurrence::is_zone(const std::string& name) { return find_zone(name) != nullptr; }

}  // namespace patching::controller
