// SPDX-License-Identifier: Apache-2.0
#include <patch_core/rpm/installed.hpp>

#include "rpm_handles.hpp"

#include <fcntl.h>

#include <algorithm>
#include <map>
#include <tuple>

namespace patching::rpm {

namespace detail {

void require_absolute_root(const std::filesystem::path& root) {
    if (!root.is_absolute()) {
        throw RpmError("the install root must be an absolute path, not \"" + root.string() + "\"");
    }
}

bool rpmdb_exists(const std::filesystem::path& root) {
    std::error_code ec;
    std::filesystem::directory_iterator it(rpmdb_directory(root), ec);
    return !ec && it != std::filesystem::directory_iterator();
}

}  // namespace detail

std::filesystem::path rpmdb_directory(const std::filesystem::path& root) {
    detail::require_absolute_root(root);
    init_librpm();
    detail::CStringPtr dbpath(rpmGetPath("%{_dbpath}", nullptr));
    if (!dbpath || dbpath.get()[0] != '/') {
        throw RpmError(
            "rpm's %_dbpath is not an absolute path: \"" + std::string(dbpath ? dbpath.get() : "") +
            "\"");
    }
    return root / std::filesystem::path(dbpath.get()).relative_path();
}

std::vector<InstalledPackage> list_installed(const std::filesystem::path& root) {
    detail::require_absolute_root(root);
    init_librpm();
    std::vector<InstalledPackage> packages;
    // Opening a missing database read-only is an error in librpm; an empty root simply has
    // nothing installed.
    if (!detail::rpmdb_exists(root)) {
        return packages;
    }
    detail::TsPtr ts(rpmtsCreate());
    detail::RpmLogCapture log;
    if (rpmtsSetRootDir(ts.get(), root.c_str()) != 0 || rpmtsOpenDB(ts.get(), O_RDONLY) != 0) {
        throw RpmError("cannot read the rpmdb of " + root.string() + ": " + log.messages());
    }
    detail::MatchIteratorPtr mi(rpmtsInitIterator(ts.get(), RPMDBI_PACKAGES, nullptr, 0));
    if (!mi) {
        throw RpmError("cannot read the rpmdb of " + root.string() + ": " + log.messages());
    }
    while (Header h = rpmdbNextIterator(mi.get())) {
        PackageInfo info = detail::package_info(h);
        if (info.name == "gpg-pubkey") {
            continue;
        }
        InstalledPackage installed{std::move(info)};
        installed.install_time = static_cast<std::int64_t>(headerGetNumber(h, RPMTAG_INSTALLTIME));
        installed.db_instance = headerGetInstance(h);
        packages.push_back(std::move(installed));
    }
    std::stable_sort(packages.begin(), packages.end(), [](const auto& a, const auto& b) {
        return std::tie(a.name, a.arch, a.install_time) < std::tie(b.name, b.arch, b.install_time);
    });
    return packages;
}

std::vector<DuplicatePackage> find_duplicates(const std::vector<InstalledPackage>& installed) {
    std::map<std::pair<std::string, std::string>, std::vector<InstalledPackage>> by_key;
    for (const auto& p : installed) {
        by_key[{p.name, p.arch}].push_back(p);
    }
    std::vector<DuplicatePackage> duplicates;
    for (auto& [key, copies] : by_key) {
        if (copies.size() > 1) {
            duplicates.push_back({key.first, key.second, std::move(copies)});
        }
    }
    return duplicates;
}

}  // namespace patching::rpm
