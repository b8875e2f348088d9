// SPDX-License-Identifier: Apache-2.0
// Drives the real patch-build binary the way release engineers do.
#include <catch2/catch.hpp>

#include "support/patch_forge.hpp"
#include "support/test_support.hpp"

#include <archive.h>
#include <archive_entry.h>

using patching::test::fixtures_dir;
using patching::test::run_command;
using patching::test::TempDir;

namespace {

std::string tool() { return (patching::test::binary_dir() / "patch_build" / "patch-build").string(); }
std::string key() { return (fixtures_dir() / "keys" / "fixture-signing-key.pem").string(); }
std::string cert() { return (fixtures_dir() / "keys" / "fixture-signing-cert.pem").string(); }
std::string rpm(const std::string& name) { return (fixtures_dir() / "rpms" / name).string(); }

std::string inner_file(const std::string& tar, const std::string& name) {
    struct archive* a = archive_read_new();
    archive_read_support_format_tar(a);
    archive_read_open_memory(a, tar.data(), tar.size());
    struct archive_entry* e = nullptr;
    std::string out;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        if (name == archive_entry_pathname(e)) {
            out.resize(static_cast<size_t>(archive_entry_size(e)));
            archive_read_data(a, out.data(), out.size());
        }
    }
    archive_read_free(a);
    return out;
}

std::string outer_member(const std::filesystem::path& patch, const std::string& name) {
    for (const auto& m : patching::test::forge_read_outer(patch)) {
        if (m.name == name) {
            return m.content;
        }
    }
    return {};
}

}  // namespace

TEST_CASE("patch-build reproduces the reference fixtures' metadata byte for byte", "[build][cli][compat]") {
    TempDir dir;
    TempDir scripts;
    patching::test::write_file(scripts / "check.sh", "#!/bin/sh\n# semantic check: always passes\nexit 0\n");
    struct Case {
        std::string id;
        std::string args;
    };
    std::vector<Case> cases = {
        {"FIX_22.12_PATCH_0001",
         "--summary 'Fix alpha and beta' --desc 'First fixture patch' --status DEV --reboot-required N "
         "--controller " + rpm("fixture-alpha-1.0-2.noarch.rpm") + " --all-nodes " + rpm("fixture-beta-1.0-2.noarch.rpm")},
        {"FIX_22.12_PATCH_0002",
         "--summary 'Add delta to workers' --desc 'Second fixture patch' --status REL --reboot-required Y "
         "--req FIX_22.12_PATCH_0001 --pre-apply " + (scripts / "check.sh").string() + " --pre-remove " +
             (scripts / "check.sh").string() + " --worker " + rpm("fixture-delta-1.0-1.noarch.rpm")},
        {"FIX_22.12_PATCH_0003",
         "--summary 'Alpha again' --desc $'Line one & <two>\\nLine \"three\"' --inst 'No action needed' "
         "--warn 'Restart alpha after install' --status REL --unremovable --reboot-required N "
         "--apply-active-release-only --req FIX_22.12_PATCH_0001 --controller " + rpm("fixture-alpha-1.0-3.noarch.rpm")},
    };
    for (const auto& c : cases) {
        INFO(c.id);
        std::string output;
        // Through bash, for $'...' quoting of the newline in --desc.
        patching::test::write_file(scripts / "build.sh", tool() + " --id " + c.id + " --release 22.12 " + c.args +
                                                             " --sign-key " + key() + " --cert " + cert() + " -o " +
                                                             dir.path().string() + "\n");
        int rc = run_command("bash " + (scripts / "build.sh").string(), &output);
        INFO(output);
        REQUIRE(rc == 0);
        CHECK(output.find("Patch is " + (dir / (c.id + ".patch")).string()) != std::string::npos);
        std::filesystem::path ours = dir / (c.id + ".patch");
        std::filesystem::path ref = fixtures_dir() / "stx" / (c.id + ".patch");
        CHECK(inner_file(outer_member(ours, "metadata.tar"), "metadata.xml") ==
              inner_file(outer_member(ref, "metadata.tar"), "metadata.xml"));
        CHECK(outer_member(ours, "semantics.tar").empty() == outer_member(ref, "semantics.tar").empty());
        // The RPM bytes inside are the originals.
        CHECK(inner_file(outer_member(ours, "software.tar"), "fixture-alpha-1.0-3.noarch.rpm") ==
              inner_file(outer_member(ref, "software.tar"), "fixture-alpha-1.0-3.noarch.rpm"));
        REQUIRE(run_command(tool() + " verify --cert " + cert() + " " + ours.string(), &output) == 0);
    }
}

TEST_CASE("patch-build usage errors exit non-zero with the reference's messages", "[build][cli]") {
    TempDir dir;
    std::string output;
    CHECK(run_command(tool() + " --release 22.12 " + rpm("fixture-alpha-1.0-2.noarch.rpm"), &output) != 0);
    CHECK(output.find("The --id argument is mandatory.") != std::string::npos);
    CHECK(run_command(tool() + " --id X_1 --release 22.12 --sign-key " + key() + " -o " + dir.path().string(), &output) == 1);
    CHECK(output.find("Cannot generate empty patch") != std::string::npos);
    CHECK(run_command(tool() + " --id X_1 --release 22.12 --reboot-required maybe --sign-key " + key() + " " +
                          rpm("fixture-alpha-1.0-2.noarch.rpm") + " -o " + dir.path().string(),
                      &output) == 1);
    CHECK(output.find("The --reboot-required option requires either Y or N as argument.") != std::string::npos);
    CHECK(run_command(tool() + " --no-such-option", &output) == 2);
    CHECK(std::filesystem::is_empty(dir.path()));
}

TEST_CASE("query, modify and re-sign work on a built patch", "[build][cli]") {
    TempDir dir;
    std::string output;
    std::string patch = (dir / "Q_22.12_PATCH_0001.patch").string();
    REQUIRE(run_command(tool() + " --id Q_22.12_PATCH_0001 --release 22.12 --status DEV --summary 'Sum' --sign-key " + key() +
                            " --worker " + rpm("fixture-delta-1.0-1.noarch.rpm") + " -o " + dir.path().string(),
                        &output) == 0);
    REQUIRE(run_command(tool() + " query --cert " + cert() + " --file " + patch, &output) == 0);
    CHECK(output.find("id: 'Q_22.12_PATCH_0001'\nsw_version: '22.12'\nstatus: 'DEV'\ncert: 'formal'\n"
                      "reboot_required: 'Y'\n") == 0);
    REQUIRE(run_command(tool() + " query --cert " + cert() + " --file " + patch + " --field summary", &output) == 0);
    CHECK(output == "Sum\n");

    std::string software_before = outer_member(patch, "software.tar");
    REQUIRE(run_command(tool() + " modify --released --sign-key " + key() + " --cert " + cert() + " --file " + patch,
                        &output) == 0);
    CHECK(output.find("status DEV -> REL") != std::string::npos);
    REQUIRE(run_command(tool() + " query --cert " + cert() + " --file " + patch + " --field status", &output) == 0);
    CHECK(output == "REL\n");
    CHECK(outer_member(patch, "software.tar") == software_before);

    // Re-sign with a fresh key: the old certificate no longer verifies it, the new one does.
    REQUIRE(run_command("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + (dir / "k.pem").string() +
                            " && openssl req -new -x509 -key " + (dir / "k.pem").string() + " -subj /CN=new -days 30 -out " +
                            (dir / "c.pem").string(),
                        &output) == 0);
    REQUIRE(run_command(tool() + " sign --sign-key " + (dir / "k.pem").string() + " --cert " + cert() + " --file " + patch,
                        &output) == 0);
    CHECK(run_command(tool() + " verify --cert " + cert() + " " + patch, &output) == 1);
    CHECK(output.find("signature check failed") != std::string::npos);
    CHECK(run_command(tool() + " verify --cert " + (dir / "c.pem").string() + " " + patch, &output) == 0);
    CHECK(outer_member(patch, "software.tar") == software_before);
    // Re-signing an untrusted patch needs an explicit opt-in.
    CHECK(run_command(tool() + " sign --sign-key " + key() + " --cert " + cert() + " --file " + patch, &output) == 1);
    CHECK(run_command(tool() + " sign --no-verify-old --sign-key " + key() + " --file " + patch, &output) == 0);
    CHECK(run_command(tool() + " verify --cert " + cert() + " " + patch, &output) == 0);
}
