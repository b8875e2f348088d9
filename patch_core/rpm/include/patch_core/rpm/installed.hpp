// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <patch_core/rpm/package.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace patching::rpm {

/// A package recorded in an rpmdb.
struct InstalledPackage : PackageInfo {
    std::int64_t install_time = 0;  ///< RPMTAG_INSTALLTIME, seconds since the epoch; 0 if absent.
    /// The rpmdb's number for this header (headerGetInstance): tells apart two copies of the
    /// same package, for Transaction::add_erase_instance. Valid until the rpmdb changes.
    unsigned db_instance = 0;
};

/// Where the rpmdb of `root` lives: `root` joined with rpm's configured %_dbpath (/var/lib/rpm on
/// RPM-based hosts; Debian's rpm package configures ~/.rpmdb instead, so on a Debian build host
/// it is <root>/root/.rpmdb). The directory may not exist.
/// @throws RpmError if `root` is not absolute or rpm's configuration cannot be read.
std::filesystem::path rpmdb_directory(const std::filesystem::path& root);

/// Every package in the rpmdb of `root` (an absolute directory; "/" for the host itself), sorted
/// by name, then arch, then install time. A root without an rpmdb yet has no packages: the
/// database is neither created nor written here. The gpg-pubkey pseudo-packages that record
/// imported signing keys are left out, as dnf leaves them out.
/// Thread-safe, but librpm's logging is process-global, so calls are serialised with every other
/// librpm call of this module.
/// @throws RpmError if `root` is not absolute, or if the rpmdb exists but cannot be read (the
/// message carries librpm's own explanation).
std::vector<InstalledPackage> list_installed(const std::filesystem::path& root);

/// A (name, arch) pair installed more than once: a state that needs manual recovery before the
/// agent may install anything (the reference refuses to go on).
struct DuplicatePackage {
    std::string name;
    std::string arch;
    std::vector<InstalledPackage> installed;  ///< Every copy, in the order of the input list.
};

/// The (name, arch) pairs that occur more than once in `installed`, sorted by name and arch.
/// Pure: no librpm call.
std::vector<DuplicatePackage> find_duplicates(const std::vector<InstalledPackage>& installed);

}  // namespace patching::rpm
