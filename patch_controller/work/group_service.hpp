// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "service/errors.hpp"
#include "store/store.hpp"
#include "work/host_commands.hpp"

#include <patch_core/clock.hpp>

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace patching::controller {

/// A group with the hosts it holds now (static members plus the hosts its rule matches).
struct GroupView {
    StoredGroup group;
    std::vector<std::string> hosts;
};

/// Host groups (fleet-ops-spec §5): static members and a rule (personality, labels an operator
/// sets). A host is in at most one group: a change that would put a host in two groups is
/// refused naming the host and both groups, a label change included (never applied silently).
/// An empty group may exist; resolving it for an operation is an error naming it.
/// Each change is one store transaction. Thread-safe.
class GroupService {
public:
    GroupService(Store& store, HostCommands& hosts, const core::Clock& clock) : store_(store), hosts_(hosts), clock_(clock) {}

    /// Loads groups and labels from the store (after a start).
    void load();

    /// Creates a group. @throws InvalidField (bad name, unknown host), Conflict (exists, host in another group).
    GroupView create(const StoredGroup& spec);
    /// Adds or removes static members. `if_revision`: refuse (PreconditionFailed) unless current.
    GroupView add_hosts(const std::string& name, const std::vector<std::string>& hosts,
                        std::optional<std::int64_t> if_revision = std::nullopt);
    GroupView remove_hosts(const std::string& name, const std::vector<std::string>& hosts,
                           std::optional<std::int64_t> if_revision = std::nullopt);
    /// Deletes a group (its hosts stay in the host table).
    void remove(const std::string& name, std::optional<std::int64_t> if_revision = std::nullopt);
    /// Sets (value) or clears ("" value) labels of a host. @throws Conflict if it would move the host.
    std::map<std::string, std::string> label(const std::string& host, const std::map<std::string, std::string>& labels);

    std::vector<GroupView> list();
    /// @throws NotFound
    GroupView show(const std::string& name);
    /// The hosts an operation on the group targets. @throws InvalidField("group") if unknown or empty.
    std::vector<std::string> resolve(const std::string& name);

private:
    // REQUIRES (all below): mutex_ held.
    GroupView view_of(const StoredGroup& g, const std::vector<HostFacts>& hosts) const;
    StoredGroup& find(const std::string& name, std::optional<std::int64_t> if_revision);
    /// Refuses if, with `groups` and `labels`, a host would be in two groups.
    void check_one_group_per_host(const std::map<std::string, StoredGroup>& groups,
                                  const std::map<std::string, std::map<std::string, std::string>>& labels);
    std::vector<std::string> known_hosts(const std::vector<std::string>& hosts);

    Store& store_;
    HostCommands& hosts_;
    const core::Clock& clock_;
    std::mutex mutex_;
    std::map<std::string, StoredGroup> groups_;
    std::map<std::string, std::map<std::string, std::string>> labels_;
};

/// A change was asked for against a revision (If-Match) that is no longer current.
class PreconditionFailed : public Conflict {
public:
    using Conflict::Conflict;
};

}  // namespace patching::controller
