// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <patch_core/messages.hpp>

#include <cstddef>
#include <deque>
#include <filesystem>
#include <optional>
#include <string>

namespace patching::agent {

/// The commands this agent has run, by id, so that a command the controller sends again (its
/// answer crossed our report, the controller restarted, the agent restarted) is acknowledged
/// with the recorded outcome and never run twice. A command is recorded RUNNING before it
/// starts and again when it ends; both writes are durable (temp file, fsync, rename, fsync of
/// the directory) before the call returns, so after a crash or kill -9 at any moment the file
/// holds either the old or the new list, whole. It keeps the newest `capacity` entries.
/// Not thread-safe (the agent's worker thread owns it).
class CommandJournal {
public:
    struct Entry {
        std::string id;
        core::protocol::CommandKind kind = core::protocol::CommandKind::INSTALL;
        core::protocol::CommandStatus status = core::protocol::CommandStatus::RUNNING;
        std::string reason;
    };

    /// Reads `file` if it exists. @throws core::Error naming the file, the line and what to do
    /// if it is damaged.
    CommandJournal(std::filesystem::path file, std::size_t capacity);

    /// The entry for `id`, or nullopt if this agent never ran it (or forgot it: capacity).
    std::optional<Entry> find(const std::string& id) const;
    /// The newest entry, or nullopt if none.
    std::optional<Entry> last() const;
    /// Inserts or updates the entry for entry.id (moving it to the newest place) and makes it
    /// durable. @throws core::Error if the file cannot be written.
    void record(const Entry& entry);

    const std::filesystem::path& file() const { return file_; }

private:
    std::filesystem::path file_;
    std::size_t capacity_;
    std::deque<Entry> entries_;  ///< oldest first
};

}  // namespace patching::agent
