// SPDX-License-Identifier: Apache-2.0
#include "commands/command_journal.hpp"

#include <patch_core/errors.hpp>
#include <patch_core/fs.hpp>

#include <algorithm>
#include <sstream>

namespace patching::agent {

namespace proto = core::protocol;

namespace {

// One line per command: id, kind, status, reason, tab-separated; the reason has its tabs,
// newlines and backslashes escaped.
std::string escape(const std::string& text) {
    std::string out;
    for (const char c : text) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '\t': out += "\\t"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            default: out += c;
        }
    }
    return out;
}

std::string unescape(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\' || i + 1 == text.size()) {
            out += text[i];
            continue;
        }
        const char n = text[++i];
        out += n == 't' ? '\t' : n == 'n' ? '\n' : n == 'r' ? '\r' : n;
    }
    return out;
}

constexpr std::size_t MAX_FILE = 64U << 20U;

}  // namespace

CommandJournal::CommandJournal(std::filesystem::path file, std::size_t capacity)
    : file_(std::move(file)), capacity_(std::max<std::size_t>(capacity, 1)) {
    std::error_code ec;
    if (!std::filesystem::exists(file_, ec)) {
        return;
    }
    std::istringstream in(core::read_small_file(file_, MAX_FILE));
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        if (line.empty()) {
            continue;
        }
        std::vector<std::string> fields;
        std::size_t start = 0;
        for (int i = 0; i < 3; ++i) {
            const std::size_t tab = line.find('\t', start);
            if (tab == std::string::npos) {
                break;
            }
            fields.push_back(line.substr(start, tab - start));
            start = tab + 1;
        }
        fields.push_back(line.substr(start));
        const auto kind = fields.size() == 4 ? proto::parse_command_kind(fields[1]) : std::nullopt;
        const auto status = fields.size() == 4 ? proto::parse_command_status(fields[2]) : std::nullopt;
        if (!kind || !status || fields[0].empty()) {
            throw core::Error(file_.string() + " line " + std::to_string(number) +
                              ": not a command record (id, kind, status, reason): the file is damaged; move it "
                              "away to start afresh (commands the controller sends again will then run again)");
        }
        entries_.push_back({unescape(fields[0]), *kind, *status, unescape(fields[3])});
    }
    while (entries_.size() > capacity_) {
        entries_.pop_front();
    }
}

std::optional<CommandJournal::Entry> CommandJournal::find(const std::string& id) const {
    auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.id == id; });
    return it == entries_.end() ? std::nullopt : std::optional<Entry>(*it);
}

std::optional<CommandJournal::Entry> CommandJournal::last() const {
    return entries_.empty() ? std::nullopt : std::optional<Entry>(entries_.back());
}

void CommandJournal::record(const Entry& entry) {
    std::deque<Entry> next = entries_;
    std::erase_if(next, [&](const Entry& e) { return e.id == entry.id; });
    next.push_back(entry);
    while (next.size() > capacity_) {
        next.pop_front();
    }
    std::string text;
    for (const auto& e : next) {
        text += escape(e.id) + "\t" + std::string(proto::to_string(e.kind)) + "\t" +
                std::string(proto::to_string(e.status)) + "\t" + escape(e.reason) + "\n";
    }
    core::write_file_atomically(file_, text, 0600, core::Sync::NOW);
    entries_ = std::move(next);
}

}  // namespace patching::agent
