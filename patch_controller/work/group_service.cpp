// SPDX-License-Identifier: Apache-2.0
#include "work/group_service.hpp"

#include <patch_core/errors.hpp>

#include <algorithm>
#include <set>

namespace patching::controller {

namespace {

bool valid_name(const std::string& name) {
    return !name.empty() && name.size() <= 64 &&
           name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") ==
               std::string::npos;
}

bool matches_rule(const StoredGroup& g, const HostFacts& h, const std::map<std::string, std::string>& labels) {
    if (g.rule_personality.empty() && g.rule_labels.empty()) {
        return false;
    }
    if (!g.rule_personality.empty() && g.rule_personality != h.personality) {
        return false;
    }
    for (const auto& [k, v] : g.rule_labels) {
        auto it = labels.find(k);
        if (it == labels.end() || it->second != v) {
            return false;
        }
    }
    return true;
}

const std::map<std::string, std::string>& labels_of(
    const std::map<std::string, std::map<std::string, std::string>>& labels, const std::string& host) {
    static const std::map<std::string, std::string> none;
    auto it = labels.find(host);
    return it == labels.end() ? none : it->second;
}

std::set<std::string> members_of(const StoredGroup& g, const std::vector<HostFacts>& hosts,
                                 const std::map<std::string, std::map<std::string, std::string>>& labels) {
    std::set<std::string> out(g.members.begin(), g.members.end());
    for (const auto& h : hosts) {
        if (matches_rule(g, h, labels_of(labels, h.hostname))) {
            out.insert(h.hostname);
        }
    }
    return out;
}

}  // namespace

void GroupService::load() {
    std::lock_guard lock(mutex_);
    groups_.clear();
    for (auto& g : store_.work_queries().load_groups()) {
        groups_[g.name] = std::move(g);
    }
    labels_ = store_.work_queries().load_host_labels();
}

GroupView GroupService::view_of(const StoredGroup& g, const std::vector<HostFacts>& hosts) const {
    const auto members = members_of(g, hosts, labels_);
    return {g, std::vector<std::string>(members.begin(), members.end())};
}

StoredGroup& GroupService::find(const std::string& name, std::optional<std::int64_t> if_revision) {
    auto it = groups_.find(name);
    if (it == groups_.end()) {
        throw NotFound("no group '" + core::escape_unprintable(name) + "' (sw-manager group list shows them)");
    }
    if (if_revision && *if_revision != it->second.revision) {
        throw PreconditionFailed("group " + name + " has changed (revision " + std::to_string(it->second.revision) +
                                 ", not " + std::to_string(*if_revision) + "): read it again and retry");
    }
    return it->second;
}

void GroupService::check_one_group_per_host(
    const std::map<std::string, StoredGroup>& groups,
    const std::map<std::string, std::map<std::string, std::string>>& labels) {
    const auto hosts = hosts_.all_hosts();
    std::map<std::string, std::string> owner;
    for (const auto& [name, g] : groups) {
        for (const auto& host : members_of(g, hosts, labels)) {
            auto [it, fresh] = owner.emplace(host, name);
            if (!fresh) {
                throw Conflict("host " + host + " would be in two groups, " + it->second + " and " + name +
                               "; a host is in at most one group: remove it from one of them first");
            }
        }
    }
}

std::vector<std::string> GroupService::known_hosts(const std::vector<std::string>& hosts) {
    std::vector<std::string> out;
    for (const auto& h : hosts) {
        const HostFacts f = hosts_.facts(h);
        if (!f.known) {
            throw InvalidField("hosts", "unknown host '" + core::escape_unprintable(h) +
                                            "': it is not in the host table (sw-patch query-hosts lists them)");
        }
        out.push_back(f.hostname);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

GroupView GroupService::create(const StoredGroup& spec) {
    if (!valid_name(spec.name)) {
        throw InvalidField("name", "group name '" + core::escape_unprintable(spec.name) +
                                       "' must be 1 to 64 letters, digits, '-', '_' or '.'");
    }
    std::lock_guard lock(mutex_);
    if (groups_.contains(spec.name)) {
        throw Conflict("group " + spec.name + " already exists");
    }
    StoredGroup g = spec;
    g.members = known_hosts(spec.members);
    g.created_at = clock_.now_seconds();
    g.revision = 1;
    auto next = groups_;
    next[g.name] = g;
    check_one_group_per_host(next, labels_);
    store_.write([&](WriteTransaction& tx) { tx.work().put_group(g); });
    groups_ = std::move(next);
    return view_of(g, hosts_.all_hosts());
}

GroupView GroupService::add_hosts(const std::string& name, const std::vector<std::string>& hosts,
                                  std::optional<std::int64_t> if_revision) {
    std::lock_guard lock(mutex_);
    StoredGroup g = find(name, if_revision);
    if (hosts.empty()) {
        throw InvalidField("hosts", "no hosts given to add to group " + name);
    }
    for (const auto& h : known_hosts(hosts)) {
        g.members.push_back(h);
    }
    std::sort(g.members.begin(), g.members.end());
    g.members.erase(std::unique(g.members.begin(), g.members.end()), g.members.end());
    ++g.revision;
    auto next = groups_;
    next[name] = g;
    check_one_group_per_host(next, labels_);
    store_.write([&](WriteTransaction& tx) { tx.work().put_group(g); });
    groups_ = std::move(next);
    return view_of(g, hosts_.all_hosts());
}

GroupView GroupService::remove_hosts(const std::string& name, const std::vector<std::string>& hosts,
                                     std::optional<std::int64_t> if_revision) {
    std::lock_guard lock(mutex_);
    StoredGroup g = find(name, if_revision);
    for (const auto& h : hosts) {
        if (std::find(g.members.begin(), g.members.end(), h) == g.members.end()) {
            throw InvalidField("hosts", "host '" + core::escape_unprintable(h) + "' is not a static member of group " +
                                            name);
        }
    }
    std::erase_if(g.members, [&](const std::string& m) { return std::find(hosts.begin(), hosts.end(), m) != hosts.end(); });
    ++g.revision;
    store_.write([&](WriteTransaction& tx) { tx.work().put_group(g); });
    groups_[name] = g;
    return view_of(g, hosts_.all_hosts());
}

void GroupService::remove(const std::string& name, std::optional<std::int64_t> if_revision) {
    std::lock_guard lock(mutex_);
    find(name, if_revision);
    store_.write([&](WriteTransaction& tx) { tx.work().delete_group(name); });
    groups_.erase(name);
}

std::map<std::string, std::string> GroupService::label(const std::string& host,
                                                       const std::map<std::string, std::string>& changes) {
    std::lock_guard lock(mutex_);
    const std::string name = known_hosts({host}).front();
    auto labels = labels_;
    auto& mine = labels[name];
    for (const auto& [k, v] : changes) {
        if (!valid_name(k) || v.size() > 128) {
            throw InvalidField("labels", "label '" + core::escape_unprintable(k) +
                                             "' must be 1 to 64 letters, digits, '-', '_' or '.', with a value of "
                                             "at most 128 characters");
        }
        if (v.empty()) {
            mine.erase(k);
        } else {
            mine[k] = v;
        }
    }
    const auto hosts = hosts_.all_hosts();
    // A label change that would move the host from one group to another is refused, not applied.
    std::string before;
    std::string after;
    for (const auto& [gname, g] : groups_) {
        if (members_of(g, hosts, labels_).contains(name)) {
            before = gname;
        }
        if (members_of(g, hosts, labels).contains(name)) {
            after = gname;
        }
    }
    if (!before.empty() && before != after) {
        throw Conflict("labelling host " + name + " would move it out of group " + before +
                       (after.empty() ? std::string() : " into group " + after) +
                       "; remove it from " + before + " first if that is intended");
    }
    check_one_group_per_host(groups_, labels);
    const auto result = mine;
    store_.write([&](WriteTransaction& tx) { tx.work().set_host_labels(name, result); });
    labels_ = std::move(labels);
    return result;
}

std::vector<GroupView> GroupService::list() {
    std::lock_guard lock(mutex_);
    const auto hosts = hosts_.all_hosts();
    std::vector<GroupView> out;
    for (const auto& [name, g] : groups_) {
        out.push_back(view_of(g, hosts));
    }
    return out;
}

GroupView GroupService::show(const std::string& name) {
    std::lock_guard lock(mutex_);
    return view_of(find(name, std::nullopt), hosts_.all_hosts());
}

std::vector<std::string> GroupService::resolve(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto it = groups_.find(name);
    if (it == groups_.end()) {
        throw InvalidField("group", "unknown group '" + core::escape_unprintable(name) +
                                        "' (sw-manager group list shows them)");
    }
    GroupView v = view_of(it->second, hosts_.all_hosts());
    if (v.hosts.empty()) {
        throw InvalidField("group", "group " + name + " has no hosts: add hosts (sw-manager group add-hosts " + name +
                                        " H1,H2) or target hosts directly");
    }
    return v.hosts;
}

}  // namespace patching::controller
