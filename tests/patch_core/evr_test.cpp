// SPDX-License-Identifier: Apache-2.0
#include <patch_core/evr.hpp>

#include <rpm/rpmver.h>

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <utility>
#include <vector>

using namespace patching::core;

namespace {

int librpm_vercmp(const std::string& a, const std::string& b) {
    const int rc = ::rpmvercmp(a.c_str(), b.c_str());
    return rc < 0 ? -1 : (rc > 0 ? 1 : 0);
}

struct Expected {
    const char* a;
    const char* b;
    int rc;
};

// rpm's own tests/rpmvercmp.at table (rpm >= 4.15, with tilde and caret).
const Expected RPM_SUITE[] = {
    {"1.0", "1.0", 0}, {"1.0", "2.0", -1}, {"2.0", "1.0", 1}, {"2.0.1", "2.0.1", 0},
    {"2.0", "2.0.1", -1}, {"2.0.1", "2.0", 1}, {"2.0.1a", "2.0.1a", 0}, {"2.0.1a", "2.0.1", 1},
    {"2.0.1", "2.0.1a", -1}, {"5.5p1", "5.5p1", 0}, {"5.5p1", "5.5p2", -1},
    {"5.5p2", "5.5p1", 1}, {"5.5p10", "5.5p10", 0}, {"5.5p1", "5.5p10", -1},
    {"5.5p10", "5.5p1", 1}, {"10xyz", "10.1xyz", -1}, {"10.1xyz", "10xyz", 1},
    {"xyz10", "xyz10", 0}, {"xyz10", "xyz10.1", -1}, {"xyz10.1", "xyz10", 1},
    {"xyz.4", "xyz.4", 0}, {"xyz.4", "8", -1}, {"8", "xyz.4", 1}, {"xyz.4", "2", -1},
    {"2", "xyz.4", 1}, {"5.5p2", "5.6p1", -1}, {"5.6p1", "5.5p2", 1}, {"5.6p1", "6.5p1", -1},
    {"6.5p1", "5.6p1", 1}, {"6.0.rc1", "6.0", 1}, {"6.0", "6.0.rc1", -1}, {"10b2", "10a1", 1},
    {"10a2", "10b2", -1}, {"1.0aa", "1.0aa", 0}, {"1.0a", "1.0aa", -1}, {"1.0aa", "1.0a", 1},
    {"10.0001", "10.0001", 0}, {"10.0001", "10.1", 0}, {"10.1", "10.0001", 0},
    {"10.0001", "10.0039", -1}, {"10.0039", "10.0001", 1}, {"4.999.9", "5.0", -1},
    {"5.0", "4.999.9", 1}, {"20101121", "20101121", 0}, {"20101121", "20101122", -1},
    {"20101122", "20101121", 1}, {"2_0", "2_0", 0}, {"2.0", "2_0", 0}, {"2_0", "2.0", 0},
    {"a", "a", 0}, {"a+", "a+", 0}, {"a+", "a_", 0}, {"a_", "a+", 0}, {"+a", "+a", 0},
    {"+a", "_a", 0}, {"_a", "+a", 0}, {"+_", "+_", 0}, {"_+", "+_", 0}, {"_+", "_+", 0},
    {"+", "_", 0}, {"_", "+", 0}, {"1.0~rc1", "1.0~rc1", 0}, {"1.0~rc1", "1.0", -1},
    {"1.0", "1.0~rc1", 1}, {"1.0~rc1", "1.0~rc2", -1}, {"1.0~rc2", "1.0~rc1", 1},
    {"1.0~rc1~git123", "1.0~rc1~git123", 0}, {"1.0~rc1~git123", "1.0~rc1", -1},
    {"1.0~rc1", "1.0~rc1~git123", 1}, {"1.0^", "1.0^", 0}, {"1.0^", "1.0", 1},
    {"1.0", "1.0^", -1}, {"1.0^git1", "1.0^git1", 0}, {"1.0^git1", "1.0", 1},
    {"1.0", "1.0^git1", -1}, {"1.0^git1", "1.0^git2", -1}, {"1.0^git2", "1.0^git1", 1},
    {"1.0^git1", "1.01", -1}, {"1.01", "1.0^git1", 1}, {"1.0^20160101", "1.0^20160101", 0},
    {"1.0^20160101", "1.0.1", -1}, {"1.0.1", "1.0^20160101", 1},
    {"1.0^20160101^git1", "1.0^20160101^git1", 0}, {"1.0^20160102", "1.0^20160101^git1", 1},
    {"1.0^20160101^git1", "1.0^20160102", -1}, {"1.0~rc1^git1", "1.0~rc1^git1", 0},
    {"1.0~rc1^git1", "1.0~rc1", 1}, {"1.0~rc1", "1.0~rc1^git1", -1},
    {"1.0^git1~pre", "1.0^git1~pre", 0}, {"1.0^git1", "1.0^git1~pre", 1},
    {"1.0^git1~pre", "1.0^git1", -1},
};

// Further corner cases; librpm decides the expected answer.
const std::pair<const char*, const char*> EXTRA_PAIRS[] = {
    // empty strings and lone separators
    {"", ""}, {"", "0"}, {"0", ""}, {"", "a"}, {"a", ""}, {"", "~"}, {"~", ""}, {"", "^"},
    {"^", ""}, {"", "."}, {".", ""}, {"", "~~"}, {"~", "~~"}, {"~~", "~"}, {"^", "^^"},
    {"^^", "^"}, {"~", "^"}, {"^", "~"}, {"~", "."}, {".", "^"}, {"...", ""}, {"-", "_"},
    // tilde and caret against segments and ends
    {"1~", "1"}, {"1", "1~"}, {"1~", "1~~"}, {"1^", "1^^"}, {"1~a", "1~1"}, {"1~1", "1~a"},
    {"1^a", "1^1"}, {"1^1", "1^a"}, {"1^", "1a"}, {"1a", "1^"}, {"1^", "1.1"}, {"1.1", "1^"},
    {"1~", "1^"}, {"1^", "1~"}, {"1.~", "1"}, {"1.^", "1"}, {"1.~", "1."}, {"1^.", "1."},
    {"~1", "1"}, {"^1", "1"}, {"~1", "~2"}, {"^1", "^2"}, {"1.0~", "1.0~~"},
    {"1.0~rc1", "1.0rc1"}, {"1.0^rc1", "1.0rc1"}, {"1.0~rc1", "1.0.rc1"},
    {"1.0^rc1", "1.0.rc1"}, {"1.0~^", "1.0~"}, {"1.0^~", "1.0^"}, {"1.0^~", "1.0"},
    {"1.0~^", "1.0"}, {"1^^1", "1^1"}, {"1~~1", "1~1"},
    // leading zeros and long numbers
    {"0", "00"}, {"00", "0"}, {"01", "1"}, {"001", "1.0"}, {"1.01", "1.1"}, {"1.010", "1.1"},
    {"1.0010", "1.10"}, {"0.0", "0"}, {"000a", "a"}, {"a000", "a0"},
    {"12345678901234567890123", "12345678901234567890124"},
    {"99999999999999999999999", "100000000000000000000000"},
    {"00000000000000000000001", "2"}, {"1.00000000000000000000", "1.0"},
    // alpha against numeric
    {"a", "1"}, {"1", "a"}, {"1a", "1.a"}, {"1.a", "1a"}, {"1a", "11"}, {"a1", "1a"},
    {"1a", "a1"}, {"alpha", "beta"}, {"Alpha", "alpha"}, {"ALPHA", "alpha"}, {"z", "Z"},
    {"1.0a", "1.0.1"}, {"1.0.1", "1.0a"}, {"1.0a", "1.0.a"}, {"1a1", "1.a.1"},
    {"1.a1", "1.1a"}, {"rc1", "1"}, {"1", "rc1"}, {"1.0rc1", "1.0"}, {"1.0", "1.0rc1"},
    {"1.0b", "1.0a1"}, {"ab", "a"}, {"a", "ab"}, {"abc1", "abc"}, {"abc", "abc1"},
    // separators of all kinds
    {"1.0", "1-0"}, {"1.0", "1_0"}, {"1.0", "1+0"}, {"1..0", "1.0"}, {"1.0.", "1.0"},
    {"1.0", "1.0."}, {".1.0", "1.0"}, {"1.0", "1:0"}, {"1 0", "1.0"}, {"1/0", "1,0"},
    {"1.0", "1@0"}, {"1.0", "1#0"}, {"1..", "1"}, {"a.b", "a_b"}, {"a.b", "ab"},
    {"ab", "a.b"}, {"1.2.3", "1.2_3"}, {"1.2.3", "1_2_3"}, {"1.2", "1_2_3"},
    {"1\xc3\xa9", "1"}, {"1\xc3\xa9" "2", "1.2"}, {"\xff", ""}, {"1\x7f" "1", "1.1"},
    // release-like strings
    {"1.el7", "1.el8"}, {"2.el7", "10.el7"}, {"r2.tis", "r10.tis"}, {"r2.tis", "r2"},
    {"1.fc35", "1.fc35.1"}, {"0.1.rc1.el9", "1.el9"}, {"5.tis.1", "5.tis"},
    {"3.el7_9.1", "3.el7_9"}, {"1.2.3-4", "1.2.3-5"}, {"1.2.3-4.el7", "1.2.3-4.el7_1"},
    {"2:1.0", "1:2.0"}, {"1:1", "1.1"}, {"4.18.0", "4.18.0~rc1"}, {"4.18.0^post1", "4.18.1"},
    {"2023.1", "2023.01"}, {"2023.1a", "2023.01b"}, {"0.9.9", "0.10"}, {"1.9", "1.10"},
    {"1.09", "1.9"}, {"1.0.0", "1"}, {"1", "1.0.0"}, {"1.0.0a", "1.0.0"},
};

}  // namespace

TEST_CASE("rpmvercmp reproduces rpm's own test table", "[evr]") {
    for (const auto& row : RPM_SUITE) {
        INFO(row.a << " vs " << row.b);
        CHECK(rpmvercmp(row.a, row.b) == row.rc);
        CHECK(librpm_vercmp(row.a, row.b) == row.rc);
    }
}

TEST_CASE("rpmvercmp agrees with librpm on tricky pairs in both orders", "[evr]") {
    size_t compared = 0;
    auto check = [&](const std::string& a, const std::string& b) {
        INFO('"' << a << "\" vs \"" << b << '"');
        CHECK(rpmvercmp(a, b) == librpm_vercmp(a, b));
        ++compared;
    };
    for (const auto& row : RPM_SUITE) {
        check(row.a, row.b);
    }
    for (const auto& [a, b] : EXTRA_PAIRS) {
        check(a, b);
        check(b, a);
    }
    CHECK(compared >= 300);
}

TEST_CASE("rpmvercmp agrees with librpm on random strings", "[evr]") {
    std::mt19937 rng(20240611);
    const std::string alphabet = "0019aZz.~^-_+:";
    std::uniform_int_distribution<size_t> length(0, 7);
    std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
    auto random_version = [&] {
        std::string s;
        for (size_t n = length(rng); n > 0; --n) {
            s += alphabet[pick(rng)];
        }
        return s;
    };
    for (int i = 0; i < 50000; ++i) {
        const std::string a = random_version();
        const std::string b = i % 5 == 0 ? a + random_version() : random_version();
        INFO('"' << a << "\" vs \"" << b << '"');
        REQUIRE(rpmvercmp(a, b) == librpm_vercmp(a, b));
    }
}

TEST_CASE("rpmvercmp stops at an embedded NUL like the C function", "[evr]") {
    using namespace std::string_literals;
    CHECK(rpmvercmp("1.0\0zzz"s, "1.0") == 0);
    CHECK(rpmvercmp("1.0\0"s, "1.0\0" "9"s) == 0);
}

TEST_CASE("parse_pkgver follows the reference regex with multi-digit epochs", "[evr]") {
    CHECK(parse_pkgver("4.3.2-1") == Evr{"", "4.3.2", "1"});
    CHECK(parse_pkgver("5:7.5.3") == Evr{"5", "7.5.3", ""});
    CHECK(parse_pkgver("1.0") == Evr{"", "1.0", ""});
    CHECK(parse_pkgver("1.0-2-3") == Evr{"", "1.0", "2-3"});
    CHECK(parse_pkgver("1.0-r2.tis") == Evr{"", "1.0", "r2.tis"});
    CHECK(parse_pkgver("1.0-") == Evr{"", "1.0", ""});
    SECTION("the fix: epochs longer than one character") {
        CHECK(parse_pkgver("12:1.0-1") == Evr{"12", "1.0", "1"});
        CHECK(parse_pkgver("123:4.5") == Evr{"123", "4.5", ""});
    }
    SECTION("what the epoch group cannot take stays in the version") {
        CHECK(parse_pkgver(":1.0-1") == Evr{"", ":1.0", "1"});
        CHECK(parse_pkgver("1:") == Evr{"", "1:", ""});
        CHECK(parse_pkgver("1:-2") == Evr{"", "1:", "2"});
        CHECK(parse_pkgver("1:2:3-4") == Evr{"1", "2:3", "4"});
        CHECK(parse_pkgver("1.0-1:2") == Evr{"", "1.0", "1:2"});
    }
    SECTION("no match gives empty fields, like the reference's (None, None, None)") {
        CHECK(parse_pkgver("") == Evr{});
        CHECK(parse_pkgver("-1") == Evr{});
        CHECK(parse_pkgver("-") == Evr{});
    }
}

TEST_CASE("label_compare compares epoch, version, release like rpm.labelCompare", "[evr]") {
    CHECK(label_compare({"", "1.0", "1"}, {"", "1.0", "1"}) == 0);
    CHECK(label_compare({"", "1.0", "1"}, {"", "1.0", "2"}) == -1);
    CHECK(label_compare({"", "1.0", "10"}, {"", "1.0", "9"}) == 1);
    CHECK(label_compare({"", "1.1", "1"}, {"", "1.0", "9"}) == 1);
    SECTION("a missing epoch is 0") {
        CHECK(label_compare({"", "1.0", "1"}, {"0", "1.0", "1"}) == 0);
        CHECK(label_compare({"", "2.0", "1"}, {"1", "1.0", "1"}) == -1);
        CHECK(label_compare({"1", "1.0", "1"}, {"", "9.0", "9"}) == 1);
    }
    SECTION("epochs compare as versions, so multi-digit ones work") {
        CHECK(label_compare({"10", "1.0", "1"}, {"9", "2.0", "1"}) == 1);
        CHECK(label_compare({"012", "1.0", "1"}, {"12", "1.0", "1"}) == 0);
        CHECK(label_compare(parse_pkgver("12:1.0-1"), parse_pkgver("2:9.0-1")) == 1);
    }
    SECTION("an absent release or version is below any present one") {
        CHECK(label_compare({"", "1.0", ""}, {"", "1.0", "1"}) == -1);
        CHECK(label_compare({"", "1.0", "1"}, {"", "1.0", ""}) == 1);
        CHECK(label_compare({"", "1.0", ""}, {"", "1.0", ""}) == 0);
        CHECK(label_compare({"", "", "1"}, {"", "0", "1"}) == -1);
        // NULL is below even "~1", although rpmvercmp("", "~1") says the opposite.
        CHECK(label_compare({"", "1.0", ""}, {"", "1.0", "~1"}) == -1);
        CHECK(rpmvercmp("", "~1") == 1);
    }
    SECTION("tilde and caret in versions and releases") {
        CHECK(label_compare({"", "1.0~rc1", "1"}, {"", "1.0", "1"}) == -1);
        CHECK(label_compare({"", "1.0^git1", "1"}, {"", "1.0", "9"}) == 1);
        CHECK(label_compare({"", "1.0", "1~pre"}, {"", "1.0", "1"}) == -1);
    }
}
