// SPDX-License-Identifier: Apache-2.0
#include "installer/plan.hpp"

#include <patch_core/evr.hpp>

#include <algorithm>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace patching::agent {

core::Evr evr_of(const RepoPackage& p) {
    return {p.epoch, p.version, p.release};
}

core::Evr evr_of(const rpm::InstalledPackage& p) {
    return {p.epoch, p.version, p.release};
}

namespace {

using Key = std::pair<std::string, std::string>;  // (name, arch)

/// Version order, with the location as tie-break so that two repo entries of one EVR (the
/// base feed and a patch carrying the same build) pick the same file every time.
bool is_better(const RepoPackage& a, const RepoPackage& b) {
    int c = core::label_compare(evr_of(a), evr_of(b));
    return c > 0 || (c == 0 && a.location < b.location);
}

std::string report_of(const rpm::InstalledPackage& p) {
    return report_version(p.epoch, p.version, p.release, p.arch);
}

bool is_source_arch(const std::string& arch) {
    return arch == "src" || arch == "nosrc";
}

const RepoPackage* pick_missing(
    const std::vector<const RepoPackage*>& candidates, const std::string& host_arch) {
    std::vector<std::string> preferred;
    if (!host_arch.empty()) {
        preferred.push_back(host_arch);
    }
    preferred.emplace_back("noarch");
    preferred.emplace_back();  // any arch
    for (const std::string& arch : preferred) {
        const RepoPackage* pick = nullptr;
        for (const RepoPackage* p : candidates) {
            if ((arch.empty() || p->arch == arch) && (pick == nullptr || is_better(*p, *pick))) {
                pick = p;
            }
        }
        if (pick != nullptr) {
            return pick;
        }
    }
    return nullptr;
}

/// The repository's packages, indexed once per plan.
struct RepoView {
    std::map<Key, const RepoPackage*> best;  ///< Highest version of each (name, arch).
    std::map<std::string, std::vector<const RepoPackage*>> by_name;
};

RepoView view_of(const RepoIndex& repo) {
    RepoView view;
    for (const RepoPackage& p : repo.packages) {
        if (is_source_arch(p.arch)) {
            continue;
        }
        auto [it, inserted] = view.best.emplace(Key{p.name, p.arch}, &p);
        if (!inserted && is_better(p, *it->second)) {
            it->second = &p;
        }
        view.by_name[p.name].push_back(&p);
    }
    return view;
}

/// Plans one installed (name, arch) against the repo; `package` is its highest copy.
void compare_installed(
    Plan& plan,
    const rpm::InstalledPackage& package,
    const RepoView& view,
    const std::set<std::string>& managed,
    bool is_duplicate) {
    auto target = view.best.find({package.name, package.arch});
    if (target == view.best.end()) {
        if (managed.contains(package.name + "." + package.arch)) {
            plan.installed.emplace(package.name, report_of(package));
            if (!is_duplicate) {
                plan.to_remove.push_back(package);
            }
        }
        return;
    }
    int order = core::label_compare(evr_of(package), evr_of(*target->second));
    if (order == 0) {
        return;
    }
    plan.installed.emplace(package.name, report_of(package));
    if (is_duplicate) {
        return;
    }
    (order < 0 ? plan.to_upgrade : plan.to_downgrade).push_back(*target->second);
}

void add_missing(
    Plan& plan,
    const RepoIndex& repo,
    const RepoView& view,
    const std::set<std::string>& installed_names,
    const std::vector<std::string>& subfunctions,
    const std::string& host_arch) {
    auto group = repo.groups.find(comps_group_id(subfunctions));
    if (group == repo.groups.end()) {
        return;
    }
    std::set<std::string> planned;
    for (const std::string& name : group->second) {
        auto candidates = view.by_name.find(name);
        if (installed_names.contains(name) || planned.contains(name) ||
            candidates == view.by_name.end()) {
            continue;
        }
        if (const RepoPackage* pick = pick_missing(candidates->second, host_arch)) {
            plan.missing.push_back(*pick);
            planned.insert(name);
        }
    }
    std::sort(plan.missing.begin(), plan.missing.end(), [](const auto& a, const auto& b) {
        return std::tie(a.name, a.arch) < std::tie(b.name, b.arch);
    });
}

}  // namespace

std::string comps_group_id(const std::vector<std::string>& subfunctions) {
    std::string id = "updates-";
    for (std::size_t i = 0; i < subfunctions.size(); ++i) {
        id += (i == 0 ? "" : "-") + subfunctions[i];
    }
    return id;
}

std::string report_version(
    const std::string& epoch,
    const std::string& version,
    const std::string& release,
    const std::string& arch) {
    bool zero_epoch = epoch.find_first_not_of('0') == std::string::npos;
    return (zero_epoch ? "" : epoch + ":") + version + "-" + release + "@" + arch;
}

std::string host_arch_of(const std::vector<rpm::InstalledPackage>& installed) {
    std::map<std::string, std::size_t> counts;
    for (const auto& p : installed) {
        if (!p.is_source && !p.arch.empty() && p.arch != "noarch") {
            ++counts[p.arch];
        }
    }
    std::string best;
    std::size_t best_count = 0;
    for (const auto& [arch, count] : counts) {
        if (count > best_count) {
            best = arch;
            best_count = count;
        }
    }
    return best;
}

Plan compute_plan(
    const std::vector<rpm::InstalledPackage>& installed,
    const RepoIndex& repo,
    const std::vector<std::string>& subfunctions,
    const std::set<std::string>& managed) {
    return compute_plan(installed, repo, subfunctions, managed, host_arch_of(installed));
}

Plan compute_plan(
    const std::vector<rpm::InstalledPackage>& installed,
    const RepoIndex& repo,
    const std::vector<std::string>& subfunctions,
    const std::set<std::string>& managed,
    const std::string& host_arch) {
    RepoView view = view_of(repo);
    std::vector<rpm::InstalledPackage> binary;
    std::copy_if(installed.begin(), installed.end(), std::back_inserter(binary), [](const auto& p) {
        return !p.is_source;
    });

    Plan plan;
    plan.duplicates = rpm::find_duplicates(binary);
    std::set<Key> duplicated;
    for (const auto& dup : plan.duplicates) {
        duplicated.insert({dup.name, dup.arch});
        auto& copies = plan.duplicated[dup.name][dup.arch];
        for (const auto& copy : dup.installed) {
            copies.push_back(report_of(copy));
        }
    }

    // Highest installed copy per (name, arch); a single copy for all but the duplicates.
    std::map<Key, const rpm::InstalledPackage*> newest;
    std::set<std::string> installed_names;
    for (const auto& p : binary) {
        installed_names.insert(p.name);
        auto [it, inserted] = newest.emplace(Key{p.name, p.arch}, &p);
        if (!inserted && core::label_compare(evr_of(p), evr_of(*it->second)) > 0) {
            it->second = &p;
        }
    }
    for (const auto& [key, package] : newest) {
        compare_installed(plan, *package, view, managed, duplicated.contains(key));
    }

    add_missing(plan, repo, view, installed_names, subfunctions, host_arch);
    for (const auto& p : plan.missing) {
        plan.missing_names.push_back(p.name);
    }
    for (const auto& p : plan.to_remove) {
        if (plan.to_remove_names.empty() || plan.to_remove_names.back() != p.name) {
            plan.to_remove_names.push_back(p.name);
        }
    }
    return plan;
}

}  // namespace patching::agent
