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

/// A host's labels: those an operator set, those its agent reports (in effect), those its agent
/// reports that are held back (they would move it between groups), and the ones in effect
/// (reported overlaid by set).
struct HostLabelsView {
    std::string host;
    std::map<std::string, std::string> set;
    std::map<std::string, std::string> reported;
    std::map<std::string, std::string> held;
    std::map<std::string, std::string> effective;
};

/// What a group update changes (unset fields stay).
struct GroupChanges {
    std::optional<std::string> description;
    std::optional<std::string> sw_version;
    std::optional<std::string> rule_personality;
    std::optional<std::map<std::string, std::string>> rule_labels;
};

/// Host groups (fleet-ops-spec §5): static members and a rule (personality, labels), and
/// optionally the one release its hosts must run. A host is in at most one group: a change
/// that would put a host in two groups is refused naming the host and both groups.
/// Labels: an operator's label change that would move a host to another group is refused; an
/// agent's reported labels that would move its host (out of its group, or into two) are held
/// back and logged, never applied silently, until an operator accepts them
/// (accept_reported()); reported labels that only bring a host into a group take effect.
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
    /// Changes a group's description, release or rule. @throws InvalidField, Conflict (a host would be
    /// in two groups, or a static member runs another release), PreconditionFailed.
    GroupView update(const std::string& name, const GroupChanges& changes,
                     std::optional<std::int64_t> if_revision = std::nullopt);
    /// Sets (value) or clears ("" value) labels of a host. @throws Conflict if it would move the host.
    HostLabelsView label(const std::string& host, const std::map<std::string, std::string>& labels);
    /// The labels an agent reports for its host (every report): applied, or held back if they
    /// would move the host (logged once per change).
    void reported(const std::string& host, const std::map<std::string, std::string>& labels);
    /// Applies the held reported labels of `host` (the operator agrees to the move).
    /// @throws NotFound (unknown host), InvalidField (nothing held), Conflict (two groups).
    HostLabelsView accept_reported(const std::string& host);
    /// One host's labels. @throws InvalidField (unknown host).
    HostLabelsView labels(const std::string& host);
    /// Every host with labels of any kind, by name.
    std::vector<HostLabelsView> all_labels();

    std::vector<GroupView> list();
    /// @throws NotFound
    GroupView show(const std::string& name);
    /// The hosts an operation on the group targets. @throws InvalidField("group") if unknown or empty.
    std::vector<std::string> resolve(const std::string& name);

private:
    using LabelMap = std::map<std::string, std::map<std::string, std::string>>;
    // REQUIRES (all below): mutex_ held.
    GroupView view_of(const StoredGroup& g, const std::vector<HostFacts>& hosts) const;
    /// Reported labels overlaid by set ones, for every host that has any.
    static LabelMap effective(const LabelMap& set, const LabelMap& reported);
    /// The group `host` is in with these labels ("" = none).
    std::string group_of(const std::string& host, const std::vector<HostFacts>& hosts, const LabelMap& labels) const;
    HostLabelsView labels_view(const std::string& host) const;
    /// Stores `g` (new or changed) unless a static member runs another release or a host would be
    /// in two groups (both refused), and returns its view.
    GroupView save(const StoredGroup& g);
    /// Refuses static members that run another release than the group's.
    void check_release(const StoredGroup& g);
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
    LabelMap labels_;    ///< Set by operators.
    LabelMap reported_;  ///< Reported by agents, in effect.
    LabelMap held_;      ///< Reported by agents, held back (would move the host); not stored.
};

/// A change was asked for against a revision (If-Match) that is no longer current.
class PreconditionFailed : public Conflict {
public:
    using Conflict::Conflict;
};

}  // namespace patching::controller
