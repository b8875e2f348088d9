// SPDX-License-Identifier: Apache-2.0
#include "support/rpm_factory.hpp"

#include <patch_core/rpm/transaction.hpp>

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <string>

namespace fs = std::filesystem;

namespace patching::test {

namespace {

std::string octal(unsigned mode) {
    std::array<char, 8> buf{};
    std::snprintf(buf.data(), buf.size(), "%04o", mode & 07777U);
    return buf.data();
}

std::string scriptlet(const char* section, const std::string& body) {
    return body.empty() ? std::string() : std::string(section) + "\n" + body + "\n";
}

}  // namespace

bool have_rpmbuild() {
    if (run_command("command -v rpmbuild") != 0) {
        skip_test("rpmbuild is not installed (scripts/install-deps.sh installs it)");
        return false;
    }
    return true;
}

std::optional<fs::path> build_rpm(const fs::path& work, const RpmSpec& spec) {
    if (!have_rpmbuild()) {
        return std::nullopt;
    }
    const std::string nvr = spec.name + "-" + spec.version + "-" + spec.release;
    // File contents go through source files, not the spec, so they need no quoting.
    const fs::path sources = work / "sources" / (nvr + "." + spec.arch);
    fs::create_directories(sources);
    std::vector<RpmFileSpec> files = spec.files;
    files.push_back(
        {"/usr/share/patch-fixtures/" + spec.name + ".dat",
         spec.name + " " + spec.version + "-" + spec.release + "\n", 0644});
    std::string install;
    std::string listing;
    for (size_t i = 0; i < files.size(); ++i) {
        const fs::path source = sources / std::to_string(i);
        write_file(source, files[i].contents);
        install += "install -D -m " + octal(files[i].mode) + " '" + source.string() +
                   "' '%{buildroot}" + files[i].path + "'\n";
        listing += files[i].path + "\n";
    }
    const fs::path spec_file = work / (nvr + "." + spec.arch + ".spec");
    write_file(
        spec_file,
        // No debuginfo and no distribution post-processing: the packages are tiny fixtures.
        "%global debug_package %{nil}\n%global __os_install_post %{nil}\n"
        "Name: " +
            spec.name + "\nVersion: " + spec.version + "\nRelease: " + spec.release +
            "\nSummary: test package\nLicense: Apache-2.0\nBuildArch: " + spec.arch + "\n" +
            spec.preamble +
            "\n%description\nBuilt by the tests' rpm_factory.\n"
            "%install\n" +
            install + "%files\n" + listing + scriptlet("%pre", spec.pre) +
            scriptlet("%post", spec.post) + scriptlet("%preun", spec.preun) +
            scriptlet("%postun", spec.postun));
    std::string output;
    const int rc = run_command(
        "rpmbuild -bb --quiet --define '_topdir " + (work / "rpmbuild").string() + "' " +
            spec_file.string(),
        &output);
    INFO(output);
    REQUIRE(rc == 0);
    const fs::path rpm = work / "rpmbuild" / "RPMS" / spec.arch / (nvr + "." + spec.arch + ".rpm");
    REQUIRE(fs::exists(rpm));
    return rpm;
}

bool prepare_scriptlet_root(const fs::path& root, const fs::path& work) {
    const fs::path busybox = "/bin/busybox";
    if (!fs::exists(busybox)) {
        skip_test("/bin/busybox (Debian package busybox-static) is needed as the root's /bin/sh");
        return false;
    }
    auto shell = build_rpm(work, RpmSpec("fixture-shell").add_preamble("Provides: /bin/sh"));
    if (!shell) {
        return false;
    }
    fs::create_directories(root / "bin");
    fs::create_directories(root / "var" / "tmp");
    fs::create_directories(root / "var" / "run");
    fs::copy_file(busybox, root / "bin" / "busybox", fs::copy_options::overwrite_existing);
    if (!fs::is_symlink(root / "bin" / "sh")) {
        fs::create_symlink("busybox", root / "bin" / "sh");
    }
    patching::rpm::Transaction tx(root);
    tx.add_install(*shell);
    const patching::rpm::TransactionResult result = tx.run();
    std::string problems;
    for (const auto& p : result.problems) {
        problems += p + "\n";
    }
    INFO(problems);
    REQUIRE(result.ok);
    return true;
}

}  // namespace patching::test
