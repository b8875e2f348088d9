// SPDX-License-Identifier: Apache-2.0
// The job schedule's rule and zone code (jobs/recurrence.hpp): libical's expansion in local wall
// time, date/tz's mapping to UTC, and the DST rules of fleet-ops-spec §9.6 in two zones.
#include <jobs/recurrence.hpp>
#include <service/errors.hpp>

#include <catch2/catch.hpp>

#include <date/date.h>

#include <chrono>
#include <limits>
#include <string>
#include <vector>

using patching::controller::InvalidField;
using patching::controller::Recurrence;

namespace {

/// "2026-03-08T07:00:00Z" -> seconds.
std::int64_t utc(const std::string& text) {
    std::istringstream in(text);
    date::sys_seconds t;
    in >> date::parse("%FT%TZ", t);
    REQUIRE_FALSE(in.fail());
    return t.time_since_epoch().count();
}

std::vector<std::string> slots(const Recurrence& r, const std::string& after, int n) {
    std::vector<std::string> out;
    for (auto s : r.next_slots(utc(after) - 1, n)) {
        out.push_back(Recurrence::utc_text(s));
    }
    return out;
}

std::string field_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const InvalidField& e) {
        return e.field();
    }
    return "(nothing thrown)";
}

}  // namespace

TEST_CASE("jobs: America/New_York daily across both DST changes", "[jobs][recurrence]") {
    // Spring forward 2026-03-08 02:00 EST -> 03:00 EDT: 02:30 does not exist that day.
    const Recurrence spring("2026-03-06T02:30", "FREQ=DAILY", "America/New_York");
    CHECK(slots(spring, "2026-03-06T00:00:00Z", 4) ==
          std::vector<std::string>{"2026-03-06T07:30:00Z", "2026-03-07T07:30:00Z",
                                   "2026-03-08T07:00:00Z",  // moved to 03:00 EDT, the first valid instant
                                   "2026-03-09T06:30:00Z"});
    CHECK(spring.local_text(utc("2026-03-08T07:00:00Z")) == "2026-03-08T03:00:00-04:00");
    // Fall back 2026-11-01 02:00 EDT -> 01:00 EST: 01:30 occurs twice and fires once, the first.
    const Recurrence fall("2026-10-31T01:30", "FREQ=DAILY", "America/New_York");
    CHECK(slots(fall, "2026-10-31T00:00:00Z", 3) ==
          std::vector<std::string>{"2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"});
}

TEST_CASE("jobs: America/New_York hourly across both DST changes", "[jobs][recurrence]") {
    const Recurrence spring("2026-03-08T00:00", "FREQ=HOURLY", "America/New_York");
    // 02:00 does not exist: it and 03:00 are the same instant, which fires once.
    CHECK(slots(spring, "2026-03-08T05:00:00Z", 4) ==
          std::vector<std::string>{"2026-03-08T05:00:00Z", "2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z",
                                   "2026-03-08T08:00:00Z"});
    const Recurrence fall("2026-11-01T00:00", "FREQ=HOURLY", "America/New_York");
    // 01:00 happens twice (05:00Z EDT, 06:00Z EST): once, at the first.
    CHECK(slots(fall, "2026-11-01T04:00:00Z", 4) ==
          std::vector<std::string>{"2026-11-01T04:00:00Z", "2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z",
                                   "2026-11-01T08:00:00Z"});
}

TEST_CASE("jobs: America/New_York nth weekday of the month on the DST day", "[jobs][recurrence]") {
    // The second Sunday of March at 02:00 is the spring-forward instant itself.
    const Recurrence r("2026-03-01T02:00", "FREQ=MONTHLY;BYDAY=2SU", "America/New_York");
    CHECK(slots(r, "2026-03-01T00:00:00Z", 3) ==
          std::vector<std::string>{"2026-03-08T07:00:00Z", "2026-04-12T06:00:00Z", "2026-05-10T06:00:00Z"});
    // The first Sunday of November at 01:30: ambiguous, fires at the first (EDT).
    const Recurrence nov("2026-10-01T01:30", "FREQ=MONTHLY;BYDAY=1SU", "America/New_York");
    CHECK(slots(nov, "2026-10-01T00:00:00Z", 2) ==
          std::vector<std::string>{"2026-10-04T05:30:00Z", "2026-11-01T05:30:00Z"});
}

TEST_CASE("jobs: Europe/Berlin daily, hourly and last-Sunday rules across both DST changes", "[jobs][recurrence]") {
    // Spring forward 2026-03-29 02:00 CET -> 03:00 CEST; fall back 2026-10-25 03:00 CEST -> 02:00 CET.
    const Recurrence daily("2026-03-28T02:30", "FREQ=DAILY", "Europe/Berlin");
    CHECK(slots(daily, "2026-03-28T00:00:00Z", 3) ==
          std::vector<std::string>{"2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"});
    const Recurrence hourly("2026-10-25T01:00", "FREQ=HOURLY;INTERVAL=1", "Europe/Berlin");
    CHECK(slots(hourly, "2026-10-24T23:00:00Z", 4) ==
          std::vector<std::string>{"2026-10-24T23:00:00Z", "2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z",
                                   "2026-10-25T03:00:00Z"});
    const Recurrence spring_hourly("2026-03-29T01:00", "FREQ=HOURLY", "Europe/Berlin");
    CHECK(slots(spring_hourly, "2026-03-29T00:00:00Z", 3) ==
          std::vector<std::string>{"2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"});
    // The last Sunday of the month at 02:30: in March it does not exist, in October it is twice.
    const Recurrence last("2026-01-01T02:30", "FREQ=MONTHLY;BYDAY=-1SU", "Europe/Berlin");
    const auto months = slots(last, "2026-01-01T00:00:00Z", 10);
    REQUIRE(months.size() == 10);
    CHECK(months[0] == "2026-01-25T01:30:00Z");
    CHECK(months[2] == "2026-03-29T01:00:00Z");  // 03:00 CEST
    CHECK(months[3] == "2026-04-26T00:30:00Z");
    CHECK(months[9] == "2026-10-25T00:30:00Z");  // 02:30 CEST, the first of the two
    CHECK(last.local_text(utc("2026-10-25T00:30:00Z")) == "2026-10-25T02:30:00+02:00");
}

TEST_CASE("jobs: COUNT, UNTIL, INTERVAL, BYHOUR/BYMINUTE and one-time jobs", "[jobs][recurrence]") {
    const Recurrence count("2026-06-01T10:00", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;COUNT=3", "UTC");
    CHECK(slots(count, "2026-01-01T00:00:00Z", 10) ==
          std::vector<std::string>{"2026-06-01T10:00:00Z", "2026-06-04T10:00:00Z", "2026-06-15T10:00:00Z"});
    CHECK_FALSE(count.next_after(utc("2026-06-15T10:00:00Z")));
    // UNTIL as an instant (Z) is compared in the rule's local time.
    const Recurrence until("2026-06-01T22:00", "RRULE:FREQ=DAILY;UNTIL=20260603T200000Z", "Europe/Berlin");
    CHECK(slots(until, "2026-01-01T00:00:00Z", 10) ==
          std::vector<std::string>{"2026-06-01T20:00:00Z", "2026-06-02T20:00:00Z", "2026-06-03T20:00:00Z"});
    const Recurrence twice("2026-06-01T00:00", "FREQ=DAILY;BYHOUR=2,14;BYMINUTE=15", "UTC");
    CHECK(slots(twice, "2026-06-01T00:00:00Z", 3) ==
          std::vector<std::string>{"2026-06-01T02:15:00Z", "2026-06-01T14:15:00Z", "2026-06-02T02:15:00Z"});
    CHECK(twice.shortest_interval() == 12 * 3600);
    const Recurrence once("2026-12-24T18:00:00", "", "Europe/Berlin");
    CHECK_FALSE(once.is_recurring());
    CHECK(slots(once, "2026-01-01T00:00:00Z", 3) == std::vector<std::string>{"2026-12-24T17:00:00Z"});
    CHECK(once.shortest_interval() == 0);
}

TEST_CASE("jobs: bad rules, zones and starts name their field", "[jobs][recurrence]") {
    CHECK(field_of([] { Recurrence("2026-12-01T02:00", "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=31", "UTC"); }) == "rule");
    CHECK(field_of([] { Recurrence("2026-12-01T02:00", "FREQ=DAILY", "Mars/Olympus_Mons"); }) == "time_zone");
    CHECK(field_of([] { Recurrence("2026-12-01T02:00", "FREQ=DAILY", ""); }) == "time_zone");
    CHECK(field_of([] { Recurrence("tomorrow", "FREQ=DAILY", "UTC"); }) == "start");
    CHECK(field_of([] { Recurrence("2026-12-01T02:00+01:00", "FREQ=DAILY", "UTC"); }) == "start");
    CHECK(field_of([] { Recurrence("2026-12-01T02:00", "FREQ=YEARLY", "UTC"); }) == "rule");
    CHECK(field_of([] { Recurrence("2026-12-01T02:00", "FREQ=DAILY;BYSECOND=5", "UTC"); }) == "rule");
    CHECK(field_of([] { Recurrence("2026-12-01T02:00", "FREQ=WEEKLY;BYDAY=XX", "UTC"); }) == "rule");
    CHECK(field_of([] { Recurrence("2026-12-01T02:00", "every day", "UTC"); }) == "rule");
    CHECK(field_of([] { Recurrence("2026-12-01T02:00", "FREQ=DAILY;UNTIL=20261101T000000Z", "UTC"); }) == "rule");
    CHECK(Recurrence::is_zone("America/New_York"));
    CHECK_FALSE(Recurrence::is_zone("America/Nowhere"));
}

TEST_CASE("jobs: a day no allowed month has is refused before libical searches for it", "[jobs][recurrence]") {
    // libical looked for these up to the year 2582 under its lock: 8.7 s and 48 s.
    for (const char* rule : {"FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=31",
                             "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30;BYMINUTE=0,1,2,3,4,5",
                             "FREQ=DAILY;BYMONTH=4,6,9,11;BYMONTHDAY=31", "FREQ=MONTHLY;BYMONTHDAY=-31;BYMONTH=2,4"}) {
        INFO(rule);
        const auto t0 = std::chrono::steady_clock::now();
        CHECK(field_of([&] { Recurrence("2026-12-01T02:00", rule, "UTC"); }) == "rule");
        CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
    }
    // A day some allowed month has stays, however rare.
    const Recurrence leap("2026-12-01T02:00", "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=29", "UTC");
    CHECK(slots(leap, "2026-12-01T00:00:00Z", 2) ==
          std::vector<std::string>{"2028-02-29T02:00:00Z", "2032-02-29T02:00:00Z"});
    const Recurrence mixed("2026-12-01T02:00", "FREQ=MONTHLY;BYMONTH=2,3;BYMONTHDAY=31", "UTC");
    CHECK(slots(mixed, "2026-12-01T00:00:00Z", 1) == std::vector<std::string>{"2027-03-31T02:00:00Z"});
}

TEST_CASE("jobs: the shortest interval is the rule's, not one a DST gap shortened", "[jobs][recurrence]") {
    // 2027-03-14 02:30 does not exist in New York: that slot fires at 03:00 EDT, 30 min before
    // the 03:30 one, but the rule's interval is still an hour.
    const Recurrence hourly("2027-03-14T01:30", "FREQ=HOURLY", "America/New_York");
    CHECK(hourly.shortest_interval() == 3600);
    const Recurrence later("2027-03-13T01:30", "FREQ=HOURLY", "America/New_York");
    CHECK(later.shortest_interval() == 3600);
    CHECK(Recurrence("2027-03-14T01:00", "FREQ=DAILY;BYHOUR=1,2,4", "America/New_York").shortest_interval() ==
          3600);
}

TEST_CASE("jobs: resuming at an anchor gives the same slots as expanding from the start", "[jobs][recurrence]") {
    const char* rules[] = {"FREQ=HOURLY",
                           "FREQ=HOURLY;INTERVAL=5",
                           "FREQ=HOURLY;BYMINUTE=0,30",
                           "FREQ=DAILY",
                           "FREQ=DAILY;INTERVAL=3;BYHOUR=2,14",
                           "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH",
                           "FREQ=WEEKLY;INTERVAL=3",
                           "FREQ=MONTHLY;INTERVAL=5;BYDAY=-1SU",
                           "FREQ=MONTHLY;BYMONTHDAY=31",
                           "FREQ=MONTHLY;BYMONTHDAY=1,15;BYHOUR=2;BYMINUTE=30",
                           "FREQ=MONTHLY;BYDAY=TU;BYSETPOS=2",
                           "FREQ=MONTHLY;BYDAY=2SU",
                           "FREQ=DAILY;COUNT=40",
                           "FREQ=HOURLY;INTERVAL=7;COUNT=300",
                           "FREQ=DAILY;UNTIL=20270601T000000Z"};
    for (const char* zone : {"America/New_York", "Europe/Berlin"}) {
        for (const char* rule : rules) {
            INFO(zone << " " << rule);
            const Recurrence full("2025-10-31T02:30", rule, zone);
            const auto all = full.slots_until(0, std::numeric_limits<std::int64_t>::max(), 400);
            REQUIRE(all.size() >= 20);
            for (std::size_t k : {std::size_t{1}, std::size_t{7}, all.size() / 2, all.size() - 3}) {
                const Recurrence resumed("2025-10-31T02:30", rule, zone, all[k].anchor);
                std::vector<std::int64_t> expected;
                for (std::size_t i = k + 1; i < all.size() && expected.size() < 60; ++i) {
                    expected.push_back(all[i].utc);
                }
                auto got = resumed.next_slots(all[k].utc, static_cast<int>(expected.size()));
                CHECK(got == expected);
                CHECK(resumed.next_after(all[k].utc - 1) == all[k].utc);
                // The resumed series ends where the full one does (COUNT, UNTIL).
                if (all.size() < 400) {
                    CHECK_FALSE(resumed.next_after(all.back().utc));
                }
            }
        }
    }
}
