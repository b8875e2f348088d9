// SPDX-License-Identifier: Apache-2.0
#include <patch_core/evr.hpp>

#include "text.hpp"

#include <algorithm>

namespace patching::core {

namespace {

// librpm's risdigit/risalpha are locale-independent ASCII tests; bytes >= 0x80 are separators.
using detail::is_ascii_alnum;
using detail::is_ascii_alpha;
using detail::is_ascii_digit;

std::string_view up_to_nul(std::string_view s) {
    size_t nul = s.find('\0');
    return nul == std::string_view::npos ? s : s.substr(0, nul);
}

int compare_nullable(std::string_view a, std::string_view b) {
    if (a.empty() || b.empty()) {
        return a.empty() == b.empty() ? 0 : (a.empty() ? -1 : 1);
    }
    return rpmvercmp(a, b);
}

}  // namespace

int rpmvercmp(std::string_view a_in, std::string_view b_in) {
    const std::string_view a = up_to_nul(a_in);
    const std::string_view b = up_to_nul(b_in);
    if (a == b) {
        return 0;
    }
    size_t i = 0;
    size_t j = 0;
    auto at_a = [&](size_t k) { return k < a.size() ? a[k] : '\0'; };
    auto at_b = [&](size_t k) { return k < b.size() ? b[k] : '\0'; };
    while (i < a.size() || j < b.size()) {
        while (i < a.size() && !is_ascii_alnum(a[i]) && a[i] != '~' && a[i] != '^') {
            ++i;
        }
        while (j < b.size() && !is_ascii_alnum(b[j]) && b[j] != '~' && b[j] != '^') {
            ++j;
        }
        const char ca = at_a(i);
        const char cb = at_b(j);
        if (ca == '~' || cb == '~') {
            if (ca != '~') {
                return 1;
            }
            if (cb != '~') {
                return -1;
            }
            ++i;
            ++j;
            continue;
        }
        if (ca == '^' || cb == '^') {
            if (ca == '\0') {
                return -1;
            }
            if (cb == '\0') {
                return 1;
            }
            if (ca != '^') {
                return 1;
            }
            if (cb != '^') {
                return -1;
            }
            ++i;
            ++j;
            continue;
        }
        if (ca == '\0' || cb == '\0') {
            break;
        }
        // The segment type is taken from `a`; `b` contributes a run of the same type, which may
        // be empty.
        const bool numeric = is_ascii_digit(ca);
        auto in_segment = numeric ? is_ascii_digit : is_ascii_alpha;
        size_t end_a = i;
        while (end_a < a.size() && in_segment(a[end_a])) {
            ++end_a;
        }
        size_t end_b = j;
        while (end_b < b.size() && in_segment(b[end_b])) {
            ++end_b;
        }
        if (end_b == j) {
            return numeric ? 1 : -1;
        }
        std::string_view seg_a = a.substr(i, end_a - i);
        std::string_view seg_b = b.substr(j, end_b - j);
        if (numeric) {
            seg_a.remove_prefix(std::min(seg_a.find_first_not_of('0'), seg_a.size()));
            seg_b.remove_prefix(std::min(seg_b.find_first_not_of('0'), seg_b.size()));
            if (seg_a.size() != seg_b.size()) {
                return seg_a.size() > seg_b.size() ? 1 : -1;
            }
        }
        const int rc = seg_a.compare(seg_b);
        if (rc != 0) {
            return rc < 0 ? -1 : 1;
        }
        i = end_a;
        j = end_b;
    }
    const bool a_done = i >= a.size();
    const bool b_done = j >= b.size();
    if (a_done && b_done) {
        return 0;
    }
    return a_done ? -1 : 1;
}

Evr parse_pkgver(std::string_view text) {
    const size_t dash = text.find('-');
    const std::string_view head = text.substr(0, dash);
    if (head.empty()) {
        return {};
    }
    Evr evr;
    if (dash != std::string_view::npos) {
        evr.release = std::string(text.substr(dash + 1));
    }
    // The regex's epoch group can only end at the first ':', and it backtracks away when that
    // would leave the version empty.
    const size_t colon = head.find(':');
    if (colon != std::string_view::npos && colon > 0 && colon + 1 < head.size()) {
        evr.epoch = std::string(head.substr(0, colon));
        evr.version = std::string(head.substr(colon + 1));
    } else {
        evr.version = std::string(head);
    }
    return evr;
}

int label_compare(const Evr& a, const Evr& b) {
    const std::string_view epoch_a = a.epoch.empty() ? std::string_view("0") : a.epoch;
    const std::string_view epoch_b = b.epoch.empty() ? std::string_view("0") : b.epoch;
    int rc = rpmvercmp(epoch_a, epoch_b);
    if (rc == 0) {
        rc = compare_nullable(a.version, b.version);
    }
    if (rc == 0) {
        rc = compare_nullable(a.release, b.release);
    }
    return rc;
}

}  // namespace patching::core
