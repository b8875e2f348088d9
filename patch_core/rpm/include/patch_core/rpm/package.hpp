// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <patch_core/errors.hpp>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string>

namespace patching::rpm {

/// An RPM header could not be read or librpm failed; the message names the file.
class RpmError : public core::Error {
    using core::Error::Error;
};

/// Identity of a binary RPM, read from its header by librpm.
struct PackageInfo {
    std::string name;
    std::string epoch;  ///< Empty when the package has no epoch.
    std::string version;
    std::string release;
    std::string arch;
    bool is_source = false;

    /// "N-V-R.A.rpm", the file name the reference expects in <contents>.
    std::string file_name() const { return name + "-" + version + "-" + release + "." + arch + ".rpm"; }
    /// "N-[E:]V-R.A", for messages.
    std::string nevra() const {
        return name + "-" + (epoch.empty() ? "" : epoch + ":") + version + "-" + release + "." + arch;
    }
};

/// Reads rpm's configuration once per process (rpmReadConfigFiles). Thread-safe; every other
/// function here calls it. Call it from main() before starting threads if rpm's global state
/// must not be touched later.
void init_librpm();

/// Reads the header of an RPM file (lead, signature header, header; header digests checked,
/// signatures and payload not). @throws RpmError naming `path` if it is not a valid RPM.
PackageInfo read_package_file(const std::filesystem::path& path);

/// Outcome of trying to read an RPM header from the first bytes of a package.
struct PrefixResult {
    std::optional<PackageInfo> info;
    std::string error;  ///< librpm's explanation when `info` is empty.
};

/// Tries to read the header from `prefix`, the first bytes of a package, without touching the
/// disk (the bytes go through an in-memory file). A prefix that ends inside the header fails
/// like a corrupt package does; callers retry with a longer prefix.
PrefixResult read_package_prefix(std::span<const std::byte> prefix, const std::string& label);

}  // namespace patching::rpm
