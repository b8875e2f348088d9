// SPDX-License-Identifier: Apache-2.0
#include "output.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <vector>

namespace patching::client {

namespace {

using nlohmann::json;

// UTF-8 <-> code points. Invalid bytes map to U+DC80..U+DCFF and back (Python's
// "surrogateescape"), so no input byte is lost or altered.
std::u32string decode(std::string_view text) {
    std::u32string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        auto c = static_cast<unsigned char>(text[i]);
        std::size_t len = c < 0x80            ? 1
                          : (c >> 5U) == 0x6  ? 2
                          : (c >> 4U) == 0xE  ? 3
                          : (c >> 3U) == 0x1E ? 4
                                              : 0;
        bool valid = len > 0 && i + len <= text.size();
        char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1FU) : len == 3 ? (c & 0x0FU) : (c & 0x07U);
        for (std::size_t k = 1; valid && k < len; ++k) {
            auto cc = static_cast<unsigned char>(text[i + k]);
            valid = (cc >> 6U) == 0x2;
            cp = (cp << 6U) | (cc & 0x3FU);
        }
        if (valid) {
            out += cp;
            i += len;
        } else {
            out += static_cast<char32_t>(0xDC00U + c);
            ++i;
        }
    }
    return out;
}

std::string encode(std::u32string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char32_t cp : text) {
        if (cp >= 0xDC80 && cp <= 0xDCFF) {
            out += static_cast<char>(cp - 0xDC00);
        } else if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6U));
            out += static_cast<char>(0x80 | (cp & 0x3FU));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12U));
            out += static_cast<char>(0x80 | ((cp >> 6U) & 0x3FU));
            out += static_cast<char>(0x80 | (cp & 0x3FU));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18U));
            out += static_cast<char>(0x80 | ((cp >> 12U) & 0x3FU));
            out += static_cast<char>(0x80 | ((cp >> 6U) & 0x3FU));
            out += static_cast<char>(0x80 | (cp & 0x3FU));
        }
    }
    return out;
}

bool is_space(char32_t c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// Python's [^\d\W]: letters and '_'. Non-ASCII characters count as letters.
bool is_letter(char32_t c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

bool is_word(char32_t c) {
    return is_letter(c) || (c >= '0' && c <= '9');
}

// textwrap's word_punct: [\w!"'&.,?]
bool is_word_punct(char32_t c) {
    return is_word(c) || c == '!' || c == '"' || c == '\'' || c == '&' || c == '.' || c == ',' ||
           c == '?';
}

// Expand tabs to 8 columns, then turn every whitespace character into a space.
std::u32string munge_whitespace(const std::u32string& text) {
    std::u32string out;
    std::size_t column = 0;
    for (char32_t c : text) {
        if (c == '\t') {
            std::size_t n = 8 - column % 8;
            out.append(n, U' ');
            column += n;
            continue;
        }
        out += is_space(c) ? U' ' : c;
        column = (c == '\n' || c == '\r') ? 0 : column + 1;
    }
    return out;
}

// Length of the run of '-' at `pos` when it is an em-dash: two or more hyphens then a word char.
std::size_t em_dash_at(const std::u32string& t, std::size_t pos) {
    std::size_t end = pos;
    while (end < t.size() && t[end] == '-') {
        ++end;
    }
    if (end - pos >= 2 && end < t.size() && is_word(t[end])) {
        return end - pos;
    }
    return 0;
}

// textwrap.TextWrapper.wordsep_re: whitespace runs, em-dashes, and words split after the hyphen
// of a hyphenated word ("Partial-" "Apply").
std::vector<std::u32string> split_chunks(const std::u32string& t) {
    std::vector<std::u32string> chunks;
    auto at = [&t](std::size_t i, std::ptrdiff_t off) -> char32_t {
        auto j = static_cast<std::ptrdiff_t>(i) + off;
        return j >= 0 && static_cast<std::size_t>(j) < t.size() ? t[static_cast<std::size_t>(j)]
                                                                : 0;
    };
    std::size_t p = 0;
    while (p < t.size()) {
        if (t[p] == ' ') {
            std::size_t q = p;
            while (q < t.size() && t[q] == ' ') {
                ++q;
            }
            chunks.push_back(t.substr(p, q - p));
            p = q;
            continue;
        }
        if (p > 0 && is_word_punct(t[p - 1])) {
            if (std::size_t n = em_dash_at(t, p); n > 0) {
                chunks.push_back(t.substr(p, n));
                p += n;
                continue;
            }
        }
        std::size_t end = t.size();
        for (std::size_t q = p + 1; q <= t.size(); ++q) {
            if (q < t.size() && t[q] == '-') {
                bool behind = (is_letter(at(q, -2)) && is_letter(at(q, -1))) ||
                              (is_letter(at(q, -3)) && at(q, -2) == '-' && is_letter(at(q, -1)));
                bool ahead = is_letter(at(q, 1)) &&
                             (is_letter(at(q, 2)) || (at(q, 2) == '-' && is_letter(at(q, 3))));
                if (behind && ahead) {
                    end = q + 1;
                    break;
                }
            }
            if (q == t.size() || t[q] == ' ') {
                end = q;
                break;
            }
            if (is_word_punct(t[q - 1]) && em_dash_at(t, q) > 0) {
                end = q;
                break;
            }
        }
        chunks.push_back(t.substr(p, end - p));
        p = end;
    }
    return chunks;
}

bool is_blank(const std::u32string& s) {
    return std::all_of(s.begin(), s.end(), [](char32_t c) { return c == ' '; });
}

std::string rstrip_lines(const std::string& text) {
    std::string out;
    std::size_t start = 0;
    while (start < text.size()) {
        auto nl = text.find('\n', start);
        std::string line =
            text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
        auto last = line.find_last_not_of(' ');
        line.erase(last == std::string::npos ? 0 : last + 1);
        out += line;
        if (nl == std::string::npos) {
            break;
        }
        out += '\n';
        start = nl + 1;
    }
    return out;
}

namespace rest = core::rest;

std::string json_text(const json& body) { return body.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string show_line(std::string_view label, const std::string& value, std::size_t width) {
    return wrap_text("    " + pad_right(label, 15) + " " + value, width, "", std::string(20, ' ')) +
           "\n";
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (true) {
        auto nl = text.find('\n', start);
        lines.push_back(
            text.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
        if (nl == std::string::npos) {
            return lines;
        }
        start = nl + 1;
    }
}

std::string sorted_json(const json& value) {
    return value.dump(4, ' ', true) + "\n";
}

// The State column: the agent's state, marked when the agent has gone silent (our controller
// sends "stale"; the reference had no such field and kept silent hosts for an hour).
std::string host_state_text(const rest::HostEntry& host) {
    std::string state = host.state.value_or("");
    return host.stale ? "stale (" + state + ")" : state;
}

std::string messages_text(const rest::OpReply& reply) {
    std::string out;
    if (!reply.info.empty()) {
        out += reply.info + "\n";
    }
    if (!reply.warning.empty()) {
        out += "Warning:\n" + reply.warning + "\n";
    }
    if (!reply.error.empty()) {
        out += "Error:\n" + reply.error + "\n";
    }
    return out;
}

std::string entries_table(const std::map<std::string, rest::PatchEntry>& pd) {
    const std::string hdr_id = "Patch ID", hdr_rr = "RR", hdr_rel = "Release",
                      hdr_repo = "Repo State", hdr_state = "Patch State";
    std::size_t w_id = hdr_id.size(), w_rr = hdr_rr.size(), w_rel = hdr_rel.size(),
                w_repo = hdr_repo.size(), w_state = hdr_state.size();
    bool show_repo = false;
    for (const auto& [id, meta] : pd) {
        w_id = std::max(w_id, display_length(id));
        w_rel = std::max(w_rel, display_length(meta.sw_version));
        w_repo = std::max(w_repo, display_length(meta.repostate));
        w_state = std::max(w_state, display_length(meta.patchstate));
        show_repo = show_repo || meta.patchstate == "n/a";
    }
    std::string out =
        center(hdr_id, w_id) + "  " + center(hdr_rr, w_rr) + "  " + center(hdr_rel, w_rel) + "  ";
    std::string rule = std::string(w_id, '=') + "  " + std::string(w_rr, '=') + "  " +
                       std::string(w_rel, '=') + "  ";
    if (show_repo) {
        out += center(hdr_repo, w_repo) + "  ";
        rule += std::string(w_repo, '=') + "  ";
    }
    out += center(hdr_state, w_state) + "\n" + rule + std::string(w_state, '=') + "\n";
    for (const auto& [id, meta] : pd) {
        out += pad_right(id, w_id) + "  " + center(meta.reboot_required, w_rr) + "  " +
               center(meta.sw_version, w_rel) + "  ";
        if (show_repo) {
            out += center(meta.repostate, w_repo) + "  ";
        }
        out += center(meta.patchstate, w_state) + "\n";
    }
    return rstrip_lines(out) + "\n";
}

}  // namespace

std::size_t display_length(std::string_view text) {
    return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U;
    }));
}

std::string center(std::string_view text, std::size_t width) {
    std::size_t len = display_length(text);
    if (len >= width) {
        return std::string(text);
    }
    std::size_t left = (width - len) / 2;
    return std::string(left, ' ') + std::string(text) + std::string(width - len - left, ' ');
}

std::string pad_right(std::string_view text, std::size_t width) {
    std::size_t len = display_length(text);
    return std::string(text) + std::string(len >= width ? 0 : width - len, ' ');
}

std::string wrap_text(
    std::string_view text,
    std::size_t width,
    std::string_view initial_indent,
    std::string_view subsequent_indent) {
    std::vector<std::u32string> chunks = split_chunks(munge_whitespace(decode(text)));
    std::reverse(chunks.begin(), chunks.end());
    std::vector<std::string> lines;
    while (!chunks.empty()) {
        std::string_view indent = lines.empty() ? initial_indent : subsequent_indent;
        std::size_t indent_len = display_length(indent);
        long line_width = static_cast<long>(width) - static_cast<long>(indent_len);
        if (!lines.empty() && is_blank(chunks.back())) {
            chunks.pop_back();
        }
        std::vector<std::u32string> line;
        long line_len = 0;
        while (!chunks.empty()) {
            auto len = static_cast<long>(chunks.back().size());
            if (line_len + len > line_width) {
                break;
            }
            line.push_back(std::move(chunks.back()));
            chunks.pop_back();
            line_len += len;
        }
        if (!chunks.empty() && static_cast<long>(chunks.back().size()) > line_width) {
            long space_left = line_width < 1 ? 1 : line_width - line_len;
            std::u32string& chunk = chunks.back();
            auto end = static_cast<std::size_t>(std::max(space_left, 0L));
            if (chunk.size() > end) {
                auto hyphen = chunk.rfind(U'-', end == 0 ? 0 : end - 1);
                if (end > 0 && hyphen != std::u32string::npos && hyphen > 0 && hyphen < end &&
                    std::any_of(
                        chunk.begin(), chunk.begin() + static_cast<long>(hyphen),
                        [](char32_t c) { return c != '-'; })) {
                    end = hyphen + 1;
                }
            }
            line.push_back(chunk.substr(0, end));
            chunk.erase(0, end);
        }
        if (!line.empty() && is_blank(line.back())) {
            line.pop_back();
        }
        if (!line.empty()) {
            std::string out(indent);
            for (const auto& piece : line) {
                out += encode(piece);
            }
            lines.push_back(std::move(out));
        }
    }
    std::string joined;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        joined += (i == 0 ? "" : "\n") + lines[i];
    }
    return joined;
}

std::size_t wrap_width(std::optional<int> terminal_columns) {
    if (terminal_columns && *terminal_columns > 60) {
        return static_cast<std::size_t>(*terminal_columns - 4);
    }
    return 72;
}

std::string format_messages(const json& body) {
    return messages_text(rest::read_op_reply(json_text(body)));
}

std::string format_query_table(const json& pd) {
    return entries_table(rest::read_query_reply(json_text(json{{"pd", pd}}))->pd);
}

std::string format_op_result(const Response& response) {
    if (response.status == 500) {
        std::string out = std::string(INTERNAL_ERROR_MESSAGE) + "\n";
        if (auto error = response.error(); !error.empty()) {
            out += "Error:\n" + error + "\n";
        }
        return out;
    }
    std::string out;
    if (auto query = response.query()) {
        out += entries_table(query->pd);
    }
    return out + messages_text(response.messages());
}

std::string format_show_result(const Response& response, std::size_t width) {
    if (response.status == 500) {
        return format_op_result(response);
    }
    const rest::ShowReply data = response.show();
    std::string out;
    const std::string indent20(20, ' ');
    for (const auto& [id, meta] : data.metadata) {
        out += id + ":\n";
        auto simple = [&](const char* label, const std::string& v) {
            if (!v.empty()) {
                out += show_line(label, v, width);
            }
        };
        auto multi_line = [&](const char* label, const std::string& v) {
            if (v.empty()) {
                return;
            }
            bool first = true;
            for (const auto& line : split_lines(v)) {
                if (first) {
                    out += show_line(label, line, width);
                    first = false;
                } else {
                    out += wrap_text(line, width, indent20, indent20) + "\n";
                }
            }
        };
        simple("Release:", meta.sw_version);
        if (!meta.patchstate.empty()) {
            out += show_line("Patch State:", meta.patchstate, width);
            if (meta.patchstate == "n/a") {
                simple("Repo State:", meta.repostate);
            }
        }
        simple("Status:", meta.status.value_or(""));
        simple("Unremovable:", meta.unremovable.value_or(""));
        simple("RR:", meta.reboot_required);
        simple("Apply Active Release Only:", meta.apply_active_release_only.value_or(""));
        simple("Summary:", meta.summary.value_or(""));
        multi_line("Description:", meta.description.value_or(""));
        if (auto text = meta.install_instructions.value_or(""); !text.empty()) {
            out += "    Install Instructions:\n";
            for (const auto& line : split_lines(text)) {
                out += wrap_text(line, width, indent20, indent20) + "\n";
            }
        }
        multi_line("Warnings:", meta.warnings.value_or(""));
        if (!meta.required.empty()) {
            std::vector<std::string> requires_list = meta.required;
            std::sort(requires_list.begin(), requires_list.end());
            out += "    Requires:\n";
            for (const auto& r : requires_list) {
                out += indent20 + r + "\n";
            }
        }
        if (auto it = data.contents.find(id); it != data.contents.end()) {
            std::vector<std::string> contents = it->second;
            std::sort(contents.begin(), contents.end());
            out += "    Contents:\n";
            for (const auto& pkg : contents) {
                out += indent20 + pkg + "\n";
            }
        }
        out += "\n\n";
    }
    return out + messages_text(response.messages());
}

std::string format_hosts_result(const Response& response) {
    if (response.status == 500) {
        return format_op_result(response);
    }
    std::optional<rest::HostsReply> hosts = response.hosts();
    if (!hosts) {
        if (response.status != 200) {
            return messages_text(response.messages());
        }
        return "Invalid data returned:\n" + format_debug(response);
    }
    std::vector<rest::HostEntry>& agents = hosts->data;
    std::stable_sort(agents.begin(), agents.end(), [](const auto& a, const auto& b) {
        return a.hostname < b.hostname;
    });
    const std::string hdr_hn = "Hostname", hdr_ip = "IP Address", hdr_pc = "Patch Current",
                      hdr_rr = "Reboot Required", hdr_rel = "Release", hdr_state = "State";
    std::size_t w_hn = hdr_hn.size(), w_ip = hdr_ip.size(), w_pc = hdr_pc.size(),
                w_rr = hdr_rr.size(), w_rel = hdr_rel.size(), w_state = hdr_state.size();
    for (const auto& agent : agents) {
        w_hn = std::max(w_hn, display_length(agent.hostname));
        w_ip = std::max(w_ip, display_length(agent.ip));
        w_rel = std::max(w_rel, display_length(agent.sw_version));
        w_state = std::max(w_state, display_length(host_state_text(agent)));
    }
    std::string out = center(hdr_hn, w_hn) + "  " + center(hdr_ip, w_ip) + "  " +
                      center(hdr_pc, w_pc) + "  " + center(hdr_rr, w_rr) + "  " +
                      center(hdr_rel, w_rel) + "  " + center(hdr_state, w_state) + "\n";
    out += std::string(w_hn, '=') + "  " + std::string(w_ip, '=') + "  " + std::string(w_pc, '=') +
           "  " + std::string(w_rr, '=') + "  " + std::string(w_rel, '=') + "  " +
           std::string(w_state, '=') + "\n";
    for (const auto& agent : agents) {
        std::string current = agent.patch_current ? "Yes" : "No";
        if (agent.interim_state) {
            current = "Pending";
        }
        if (agent.patch_failed) {
            current = "Failed";
        }
        out += pad_right(agent.hostname, w_hn) + "  " + pad_right(agent.ip, w_ip) + "  " +
               center(current, w_pc) + "  " + center(agent.requires_reboot ? "Yes" : "No", w_rr) +
               "  " + center(agent.sw_version, w_rel) + "  " +
               center(host_state_text(agent), w_state) + "\n";
    }
    return rstrip_lines(out);
}

std::string format_dependencies_result(const Response& response) {
    if (response.status == 500) {
        return format_op_result(response);
    }
    std::string out;
    if (auto deps = response.dependencies()) {
        std::vector<std::string> ids = deps->patches;
        std::sort(ids.begin(), ids.end());
        for (const auto& id : ids) {
            out += id + "\n";
        }
    }
    return out + messages_text(response.messages());
}

std::string format_app_dependencies(const json& body) {
    const rest::AppDependenciesReply reply = rest::read_app_dependencies_reply(json_text(body));
    if (reply.empty()) {
        return "There are no application dependencies.\n";
    }
    const std::string hdr_app = "Application", hdr_list = "Required Patches";
    std::size_t w_app = hdr_app.size(), w_list = hdr_list.size();
    std::vector<std::pair<std::string, std::string>> rows;
    for (const auto& [app, list] : reply) {
        std::string joined;
        for (const auto& id : list) {
            joined += (joined.empty() ? "" : ", ") + id;
        }
        w_app = std::max(w_app, display_length(app));
        w_list = std::max(w_list, display_length(joined));
        rows.emplace_back(app, joined);
    }
    std::string out = pad_right(hdr_app, w_app) + "  " + pad_right(hdr_list, w_list) + "\n";
    out += std::string(w_app, '=') + "  " + std::string(w_list, '=') + "\n";
    for (const auto& [app, joined] : rows) {
        out += pad_right(app, w_app) + "  " + pad_right(joined, w_list) + "\n";
    }
    return rstrip_lines(out);
}

std::string format_bool_result(const Response& response) {
    bool value = response.status == 200 && response.boolean().value_or(false);
    return value ? "True\n" : "False\n";
}

std::string format_debug(const Response& response) {
    if (response.status == 500) {
        return std::string(INTERNAL_ERROR_MESSAGE) + "\n";
    }
    // --debug prints parts of the body verbatim, as JSON: no field is read from them.
    const json& body = response.body;
    if (response.status == 200 && body.is_object()) {
        if (body.contains("pd")) {
            return sorted_json(body["pd"]);
        }
        if (body.contains("data")) {
            return sorted_json(body["data"]);
        }
    }
    return sorted_json(body);
}

std::string format_json(const json& body) {
    return sorted_json(body);
}

std::string format_commit_warning(std::size_t width) {
    return wrap_text(
               "WARNING: Committing a patch is an irreversible operation. Committed patches "
               "cannot be removed.",
               width, "", std::string(9, ' ')) +
           "\n";
}

std::string format_progress(
    std::string_view name, std::uint64_t sent, std::uint64_t total, double elapsed_s) {
    constexpr double MIB = 1024.0 * 1024.0;
    constexpr int BAR = 20;
    double fraction = total == 0 ? 1.0 : static_cast<double>(sent) / static_cast<double>(total);
    fraction = std::clamp(fraction, 0.0, 1.0);
    auto filled = static_cast<int>(fraction * BAR);
    double speed = elapsed_s > 0 ? static_cast<double>(sent) / MIB / elapsed_s : 0.0;
    char numbers[96];
    std::snprintf(
        numbers, sizeof numbers, "%3d%%  %7.1f/%.1f MiB  %.1f MiB/s",
        static_cast<int>(fraction * 100), static_cast<double>(sent) / MIB,
        static_cast<double>(total) / MIB, speed);
    return std::string(name) + "  [" + std::string(static_cast<std::size_t>(filled), '#') +
           std::string(static_cast<std::size_t>(BAR - filled), ' ') + "]  " + numbers;
}

}  // namespace patching::client
