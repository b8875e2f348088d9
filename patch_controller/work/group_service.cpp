// SPDX-License-Identifier: Apache-2.0
#include "work/group_service.hpp"

#include <common/log.hpp>
#include <patch_core/patch_id.hpp>
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
    if (!g.sw_version.empty() && g.sw_version != h.sw_version) {
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

std::string describe(const std::map<std::string, std::string>& labels) {
    std::string out;
    for (const auto& [k, v] : labels) {
        out += (out.empty() ? "" : ",") + k + "=" + v;
    }
    return out.empty() ? "(none)" : out;
}

void check_label_names(const std::map<std::string, std::string>& labels) {
    for (const auto& [k, v] : labels) {
        if (!valid_name(k) || v.size() > 128) {
            throw InvalidField("labels", "label '" + core::escape_unprintable(k) +
                                             "' must be 1 to 64 letters, digits, '-', '_' or '.', with a value of "
                                             "at most 128 characters");
        }
    }
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
    reported_ = store_.work_queries().load_reported_labels();
    held_.clear();
}

GroupService::LabelMap GroupService::effective(const LabelMap& set, const LabelMap& reported) {
    LabelMap out = reported;
    for (const auto& [host, labels] : set) {
        for (const auto& [k, v] : labels) {
            out[host][k] = v;
        }
    }
    return out;
}

GroupView GroupService::view_of(const StoredGroup& g, const std::vector<HostFacts>& hosts) const {
    const auto members = members_of(g, hosts, effective(labels_, reported_));
    return {g, std::vector<std::string>(members.begin(), members.end())};
}

std::string GroupService::group_of(const std::string& host, const std::vector<HostFacts>& hosts,
                                   const LabelMap& labels) const {
    for (const auto& [name, g] : groups_) {
        if (members_of(g, hosts, labels).contains(host)) {
            return name;
        }
    }
    return "";
}

HostLabelsView GroupService::labels_view(const std::string& host) const {
    auto get = [&](const LabelMap& m) {
        auto it = m.find(host);
        return it == m.end() ? std::map<std::string, std::string>() : it->second;
    };
    HostLabelsView v{host, get(labels_), get(reported_), get(held_), get(reported_)};
    for (const auto& [k, value] : v.set) {
        v.effective[k] = value;
    }
    return v;
}

GroupView GroupService::save(const StoredGroup& g) {
    if (!g.sw_version.empty()) {
        if (auto problem = core::release_problem(g.sw_version)) {
            throw InvalidField("sw_version", "sw_version: " + *problem);
        }
    }
    check_release(g);
    auto next = groups_;
    next[g.name] = g;
    check_one_group_per_host(next, effective(labels_, reported_));
    store_.write([&](WriteTransaction& tx) { tx.work().put_group(g); });
    groups_ = std::move(next);
    return view_of(g, hosts_.all_hosts());
}

void GroupService::check_release(const StoredGroup& g) {
    if (g.sw_version.empty()) {
        return;
    }
    for (const auto& m : g.members) {
        const HostFacts f = hosts_.facts(m);
        if (f.known && !f.sw_version.empty() && f.sw_version != g.sw_version) {
            throw Conflict("host " + m + " runs release " + f.sw_version + " but group " + g.name +
                           " is for release " + g.sw_version + ": leave it out, or change the group's sw_version");
        }
    }
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
    return save(g);
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
    return save(g);
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

GroupView GroupService::update(const std::string& name, const GroupChanges& changes,
                              std::optional<std::int64_t> if_revision) {
    std::lock_guard lock(mutex_);
    StoredGroup g = find(name, if_revision);
    if (changes.description) {
        g.description = *changes.description;
    }
    if (changes.sw_version) {
        g.sw_version = *changes.sw_version;
    }
    if (changes.rule_personality) {
        g.rule_personality = *changes.rule_personality;
    }
    if (changes.rule_labels) {
        check_label_names(*changes.rule_labels);
        g.rule_labels = *changes.rule_labels;
    }
    ++g.revision;
    return save(g);
}

HostLabelsView GroupService::label(const std::string& host, const std::map<std::string, std::string>& changes) {
    std::lock_guard lock(mutex_);
    const std::string name = known_hosts({host}).front();
    check_label_names(changes);
    auto labels = labels_;
    auto& mine = labels[name];
    for (const auto& [k, v] : changes) {
        if (v.empty()) {
            mine.erase(k);
        } else {
            mine[k] = v;
        }
    }
    if (mine.empty()) {
        labels.erase(name);
    }
    const auto hosts = hosts_.all_hosts();
    // A label change that would move the host from one group to another is refused, not applied.
    const std::string before = group_of(name, hosts, effective(labels_, reported_));
    const std::string after = group_of(name, hosts, effective(labels, reported_));
    if (!before.empty() && before != after) {
        throw Conflict("labelling host " + name + " would move it out of group " + before +
                       (after.empty() ? std::string() : " into group " + after) +
                       "; remove it from " + before + " first if that is intended");
    }
    check_one_group_per_host(groups_, effective(labels, reported_));
    const auto result = labels.contains(name) ? labels.at(name) : std::map<std::string, std::string>();
    store_.write([&](WriteTransaction& tx) { tx.work().set_host_labels(name, result); });
    labels_ = std::move(labels);
    return labels_view(name);
}

void GroupService::reported(const std::string& host, const std::map<std::string, std::string>& labels) {
    std::lock_guard lock(mutex_);
    auto applied = reported_.find(host);
    const bool same = applied == reported_.end() ? labels.empty() : applied->second == labels;
    if (same) {
        held_.erase(host);  // the agent went back to what is in effect
        return;
    }
    if (auto held = held_.find(host); held != held_.end() && held->second == labels) {
        return;  // held already, and said so
    }
    auto next = reported_;
    if (labels.empty()) {
        next.erase(host);
    } else {
        next[host] = labels;
    }
    const auto hosts = hosts_.all_hosts();
    const std::string before = group_of(host, hosts, effective(labels_, reported_));
    std::string problem;
    std::string after;
    try {
        check_one_group_per_host(groups_, effective(labels_, next));
        after = group_of(host, hosts, effective(labels_, next));
        if (!before.empty() && before != after) {
            problem = "they would move it out of group " + before + (after.empty() ? "" : " into group " + after);
        }
    } catch (const Conflict& e) {
        problem = e.what();
    }
    if (!problem.empty()) {
        held_[host] = labels;
        common::log::warning("host " + host + " reports labels " + describe(labels) + " that are held back: " +
                             problem + ". Accept them with: sw-manager group label " + host +
                             " --accept-reported (or change the groups)");
        return;
    }
    store_.write([&](WriteTransaction& tx) { tx.work().set_reported_labels(host, labels); });
    reported_ = std::move(next);
    held_.erase(host);
    if (before != after) {
        common::log::info("host " + host + " reports labels " + describe(labels) + ": it joins group " + after);
    }
}

HostLabelsView GroupService::accept_reported(const std::string& host) {
    std::lock_guard lock(mutex_);
    const std::string name = known_hosts({host}).front();
    auto held = held_.find(name);
    if (held == held_.end()) {
        throw InvalidField("host", "host " + name + " has no reported labels held back (sw-manager group labels " +
                                       name + " shows its labels)");
    }
    auto next = reported_;
    if (held->second.empty()) {
        next.erase(name);
    } else {
        next[name] = held->second;
    }
    check_one_group_per_host(groups_, effective(labels_, next));
    const auto labels = held->second;
    store_.write([&](WriteTransaction& tx) { tx.work().set_reported_labels(name, labels); });
    reported_ = std::move(next);
    held_.erase(name);
    return labels_view(name);
}

HostLabelsView GroupService::labels(const std::string& host) {
    std::lock_guard lock(mutex_);
    return labels_view(known_hosts({host}).front());
}

std::vector<HostLabelsView> GroupService::all_labels() {
    std::lock_guard lock(mutex_);
    std::set<std::string> hosts;
    for (const LabelMap* m : {&labels_, &reported_, &held_}) {
        for (const auto& [h, l] : *m) {
            hosts.insert(h);
        }
    }
    std::vector<HostLabelsView> out;
    for (const auto& h : hosts) {
        out.push_back(labels_view(h));
    }
    return out;
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
    if (!it->second.sw_version.empty()) {
        for (const auto& h : v.hosts) {
            const HostFacts f = hosts_.facts(h);
            if (f.sw_version != it->second.sw_version) {
                throw InvalidField("group", "host " + h + " of group " + name + " runs release " +
                                                (f.sw_version.empty() ? std::string("(not reported yet)") : f.sw_version) +
                                                ", not the group's " + it->second.sw_version +
                                                ": remove it from the group or upgrade it first");
            }
        }
    }
    if (v.hosts.empty()) {
        throw InvalidField("group", "group " + name + " has no hosts: add hosts (sw-manager group add-hosts " + name +
                                        " H1,H2) or target hosts directly");
    }
    return v.hosts;
}

}  // namespace patching::controller
