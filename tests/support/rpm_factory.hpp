// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace patching::test {

/// One file a test package owns.
struct RpmFileSpec {
    std::string path;      ///< Absolute path on the installed host, e.g. "/usr/bin/tool".
    std::string contents;  ///< Written as-is.
    unsigned mode = 0644;
};

/// What build_rpm() makes. Every package also owns /usr/share/patch-fixtures/<name>.dat, whose
/// content is "<name> <version>-<release>\n", so that upgrades replace a shared file and tests
/// can tell which version's copy is on disk.
/// Built with the chained setters (GCC 12 warns about designated initializers that leave
/// members out): RpmSpec("foo").set_version("1.0", "2").add_preamble("Requires: bar").
struct RpmSpec {
    explicit RpmSpec(std::string package_name) : name(std::move(package_name)) {}

    RpmSpec& set_version(std::string v, std::string r) {
        version = std::move(v);
        release = std::move(r);
        return *this;
    }
    RpmSpec& set_arch(std::string a) {
        arch = std::move(a);
        return *this;
    }
    /// One spec preamble line ("Requires: x", "Provides: y").
    RpmSpec& add_preamble(const std::string& line) {
        preamble += line + "\n";
        return *this;
    }
    RpmSpec& add_file(std::string path, std::string contents, unsigned mode = 0644) {
        files.push_back({std::move(path), std::move(contents), mode});
        return *this;
    }
    RpmSpec& set_pre(std::string body) {
        pre = std::move(body);
        return *this;
    }
    RpmSpec& set_post(std::string body) {
        post = std::move(body);
        return *this;
    }
    RpmSpec& set_preun(std::string body) {
        preun = std::move(body);
        return *this;
    }
    RpmSpec& set_postun(std::string body) {
        postun = std::move(body);
        return *this;
    }

    std::string name;
    std::string version = "1.0";
    std::string release = "1";
    std::string arch = "noarch";
    std::string preamble;  ///< Extra spec preamble lines, each ending in "\n".
    std::vector<RpmFileSpec> files;
    /// Scriptlet bodies (shell); empty = no such scriptlet. A package with %pre or %post
    /// requires /bin/sh (rpmbuild adds that), see prepare_scriptlet_root().
    std::string pre;
    std::string post;
    std::string preun;
    std::string postun;
};

/// Whether rpmbuild is installed; WARNs (the test should then return early) if not.
bool have_rpmbuild();

/// Builds `spec` with rpmbuild under `work` (its own _topdir there) and returns the path of the
/// binary RPM, "<work>/rpmbuild/RPMS/<arch>/<N>-<V>-<R>.<arch>.rpm". Returns nullopt after a
/// WARN when rpmbuild is missing; a failing rpmbuild fails the test (REQUIRE) with its output.
std::optional<std::filesystem::path> build_rpm(
    const std::filesystem::path& work, const RpmSpec& spec);

/// Makes `root` able to run scriptlets chroot()ed into it: a static /bin/busybox as /bin/sh
/// (its applets run without links), /var/tmp (where librpm writes scriptlet files), /var/run,
/// and a package "fixture-shell" that provides /bin/sh installed with patching::rpm::Transaction
/// (rpmbuild makes packages with %pre/%post require their interpreter). Packages are built
/// under `work`. Returns false after a WARN when /bin/busybox (Debian busybox-static) or
/// rpmbuild is missing.
bool prepare_scriptlet_root(const std::filesystem::path& root, const std::filesystem::path& work);

}  // namespace patching::test
