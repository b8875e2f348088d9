// SPDX-License-Identifier: Apache-2.0
#include <patch_core/errors.hpp>
#include <patch_core/fs.hpp>
#include <patch_core/patch_file.hpp>
#include <patch_core/rpm/rpm_inspector.hpp>
#include <signing/digest.hpp>

#include <catch2/catch.hpp>

#include "support/patch_forge.hpp"
#include "support/test_support.hpp"

#include <cstring>
#include <filesystem>
#include <random>

using namespace patching;
using patching::test::fixtures_dir;
using patching::test::TempDir;

namespace {

signing::TrustStore fixture_trust() {
    return signing::TrustStore::from_certificates(
        {signing::Certificate::load_pem(fixtures_dir() / "keys" / "fixture-signing-cert.pem")});
}

signing::PrivateKey fixture_key() {
    return signing::PrivateKey::load_pem(fixtures_dir() / "keys" / "fixture-signing-key.pem");
}

core::VerifiedPatch read_checked(const std::filesystem::path& p) {
    rpm::RpmHeaderInspector inspector;
    core::ReadOptions options;
    options.inspector = &inspector;
    return core::read_patch(p, fixture_trust(), options);
}

std::filesystem::path fixture_rpm(const std::string& name) { return fixtures_dir() / "rpms" / name; }

core::SoftwareInput input_for(const std::filesystem::path& path) {
    return {path, path.filename().string(), std::filesystem::file_size(path)};
}

// Builds a patch from fixture RPMs with PatchWriter; returns its path.
std::filesystem::path write_test_patch(const std::filesystem::path& dir, std::int64_t mtime,
                                       bool with_semantics = false, const std::string& id = "TEST_22.12_PATCH_0001") {
    core::PatchMetadata m;
    m.id = id;
    m.sw_version = "22.12";
    m.status = "DEV";
    m.reboot_required = "N";
    m.personalities["controller"] = {"fixture-alpha"};
    m.contents = {"fixture-alpha-1.0-2.noarch.rpm", "fixture-delta-1.0-1.noarch.rpm"};
    std::vector<core::TarMember> scripts;
    if (with_semantics) {
        m.semantics = {"pre-apply"};
        scripts.push_back({"pre-apply/" + id, "#!/bin/sh\nexit 0\n", 0755});
    }
    std::filesystem::path out = dir / (id + ".patch");
    core::PatchWriter writer({out, fixture_key(), mtime, {}});
    writer.add_metadata_tar(core::make_inner_tar({{"metadata.xml", core::to_metadata_xml(m), 0644}}, mtime));
    writer.add_software_from_files({input_for(fixture_rpm("fixture-alpha-1.0-2.noarch.rpm")),
                                    input_for(fixture_rpm("fixture-delta-1.0-1.noarch.rpm"))});
    if (with_semantics) {
        writer.add_semantics_tar(core::make_inner_tar(scripts, mtime));
    }
    writer.commit();
    return out;
}

std::string member(const std::vector<test::ForgeMember>& members, const std::string& name) {
    for (const auto& m : members) {
        if (m.name == name) {
            return m.content;
        }
    }
    FAIL("no member " << name);
    return {};
}

}  // namespace

TEST_CASE("every reference-built fixture reads and verifies", "[core][patch][compat]") {
    for (const char* name : {"FIX_22.12_PATCH_0001", "FIX_22.12_PATCH_0002", "FIX_22.12_PATCH_0003"}) {
        INFO(name);
        core::VerifiedPatch p = read_checked(fixtures_dir() / "stx" / (std::string(name) + ".patch"));
        CHECK(p.metadata.id == name);
        CHECK(p.signature.ok());
        CHECK(p.signature.cert_class == signing::CertClass::FORMAL);
        CHECK(p.signature.scheme == signing::SignatureScheme::PSS);
        REQUIRE(p.signature.signer);
        CHECK(p.signature.signer->subject().find("fixture signing key") != std::string::npos);
        CHECK(p.software.size() == p.metadata.contents.size());
    }
    core::VerifiedPatch p2 = read_checked(fixtures_dir() / "stx" / "FIX_22.12_PATCH_0002.patch");
    CHECK(p2.has_semantics);
    REQUIRE(p2.semantics.size() == 2);
    CHECK(p2.semantics[0].action == "pre-apply");
    CHECK(p2.software[0].name == "fixture-delta-1.0-1.noarch.rpm");
}

TEST_CASE("a fixture signed by a key we do not trust is refused", "[core][patch]") {
    auto untrusted = signing::TrustStore::from_certificates(
        {signing::Certificate::load_pem(fixtures_dir() / "keys" / "untrusted-cert.pem")});
    CHECK_THROWS_WITH(core::read_patch(fixtures_dir() / "stx" / "FIX_22.12_PATCH_0001.patch", untrusted),
                      Catch::Contains("signature check failed"));
}

TEST_CASE("a patch we write has the reference's layout, checksums and PSS parameters", "[core][patch][compat]") {
    TempDir dir;
    std::filesystem::path out = write_test_patch(dir.path(), 1700000000, true);
    auto members = test::forge_read_outer(out);
    std::vector<std::string> names;
    for (const auto& m : members) {
        names.push_back(m.name);
        CHECK(m.type == '0');
    }
    CHECK(names == std::vector<std::string>{"metadata.tar", "software.tar", "semantics.tar", "signature", "signature.v2"});

    const std::string metadata_tar = member(members, "metadata.tar");
    const std::string software_tar = member(members, "software.tar");
    const std::string semantics_tar = member(members, "semantics.tar");
    for (const auto* inner : {&metadata_tar, &software_tar, &semantics_tar}) {
        CHECK(inner->size() % 10240 == 0);  // Python tarfile's record padding
        CHECK(inner->substr(257, 6) == std::string("ustar\0", 6));
    }

    // signature: "%x" of the MD5 XOR, recomputed independently.
    std::string sig = member(members, "signature");
    CHECK(sig == test::forge_md5_signature({metadata_tar, software_tar, semantics_tar}));
    CHECK(sig.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(sig.size() <= 32);

    // signature.v2: RSA-PSS SHA-256, MGF1-SHA-256, salt exactly 32, over the concatenation;
    // checked with the openssl CLI, which enforces the salt length when told.
    std::string v2 = member(members, "signature.v2");
    CHECK(v2.size() == 256);
    test::write_file(dir / "message", metadata_tar + software_tar + semantics_tar);
    test::write_file(dir / "sig", v2);
    std::string cert = (fixtures_dir() / "keys" / "fixture-signing-cert.pem").string();
    REQUIRE(test::run_command("openssl x509 -in " + cert + " -pubkey -noout > " + (dir / "pub.pem").string()) == 0);
    std::string output;
    int rc = test::run_command("openssl dgst -sha256 -verify " + (dir / "pub.pem").string() +
                                   " -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -sigopt rsa_mgf1_md:sha256"
                                   " -signature " + (dir / "sig").string() + " " + (dir / "message").string(),
                               &output);
    INFO(output);
    CHECK(rc == 0);
    // A different salt length must not verify: proves the salt really is 32.
    rc = test::run_command("openssl dgst -sha256 -verify " + (dir / "pub.pem").string() +
                               " -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:20 -signature " +
                               (dir / "sig").string() + " " + (dir / "message").string(),
                           &output);
    CHECK(rc != 0);

    // gzip header as Python writes it: FNAME = file name, OS = 255.
    std::string raw = test::read_file(out);
    CHECK(static_cast<unsigned char>(raw[0]) == 0x1f);
    CHECK(static_cast<unsigned char>(raw[1]) == 0x8b);
    CHECK(raw[2] == 8);
    CHECK(raw[3] == 8);  // FNAME only
    CHECK(static_cast<unsigned char>(raw[9]) == 0xff);
    CHECK(raw.substr(10, out.filename().string().size() + 1) == out.filename().string() + std::string(1, '\0'));

    core::VerifiedPatch p = read_checked(out);
    CHECK(p.metadata.semantics == std::vector<std::string>{"pre-apply"});
    CHECK(p.semantics.at(0).content == "#!/bin/sh\nexit 0\n");
}

TEST_CASE("the patch readable by the system's own gzip and tar", "[core][patch][compat]") {
    TempDir dir;
    std::filesystem::path out = write_test_patch(dir.path(), 1700000000);
    std::string listing;
    REQUIRE(test::run_command("gzip -t " + out.string() + " && tar tzf " + out.string(), &listing) == 0);
    CHECK(listing == "metadata.tar\nsoftware.tar\nsignature\nsignature.v2\n");
}

TEST_CASE("identical inputs and SOURCE_DATE_EPOCH give identical inner tars", "[core][patch]") {
    TempDir a;
    TempDir b;
    auto ma = test::forge_read_outer(write_test_patch(a.path(), 1600000000, true));
    auto mb = test::forge_read_outer(write_test_patch(b.path(), 1600000000, true));
    for (const char* name : {"metadata.tar", "software.tar", "semantics.tar", "signature"}) {
        INFO(name);
        CHECK(member(ma, name) == member(mb, name));
    }
    TempDir c;
    auto mc = test::forge_read_outer(write_test_patch(c.path(), 1600000001, true));
    CHECK(member(ma, "metadata.tar") != member(mc, "metadata.tar"));  // mtime really is used
}

TEST_CASE("incompressible content is stored, not inflated", "[core][patch]") {
    TempDir dir;
    std::filesystem::path rpm = dir / "rand-1.0-1.noarch.rpm";
    std::string data(8U << 20U, '\0');
    std::mt19937_64 rng(42);
    for (size_t i = 0; i + 8 <= data.size(); i += 8) {
        std::uint64_t v = rng();
        std::memcpy(data.data() + i, &v, 8);
    }
    test::write_file(rpm, data);
    core::PatchMetadata m;
    m.id = "RAND_1";
    m.sw_version = "1";
    m.contents = {rpm.filename().string()};
    std::filesystem::path out = dir / "RAND_1.patch";
    core::PatchWriter writer({out, fixture_key(), 0, {}});
    writer.add_metadata_tar(core::make_inner_tar({{"metadata.xml", core::to_metadata_xml(m), 0644}}, 0));
    writer.add_software_from_files({input_for(rpm)});
    writer.commit();
    double ratio = static_cast<double>(std::filesystem::file_size(out)) / static_cast<double>(data.size());
    CHECK(ratio < 1.005);
    core::VerifiedPatch p = core::read_patch(out, fixture_trust());  // no RPM inspector: random bytes
    // 512-byte header + data + 1024-byte end marker, padded to 10240-byte records.
    CHECK(p.software_tar_size == (8U * 1024 * 1024 + 512 + 1024 + 10239) / 10240 * 10240);
}

TEST_CASE("a failed write leaves no file behind", "[core][patch]") {
    TempDir dir;
    core::PatchMetadata m;
    m.id = "GONE_1";
    m.sw_version = "1";
    {
        core::PatchWriter writer({dir / "GONE_1.patch", fixture_key(), 0, {}});
        writer.add_metadata_tar(core::make_inner_tar({{"metadata.xml", core::to_metadata_xml(m), 0644}}, 0));
        CHECK_THROWS_AS(writer.add_software_from_files({{dir / "missing.rpm", "missing.rpm", 10}}), core::SystemError);
    }
    CHECK(std::filesystem::is_empty(dir.path()));
}

TEST_CASE("signature text parses like Python int(text, 16)", "[core][patch]") {
    signing::Md5Digest ff;
    ff.fill(0xff);
    CHECK(core::parse_md5_signature_text("ffffffffffffffffffffffffffffffff") == ff);
    CHECK(core::parse_md5_signature_text("  0xFFFF_FFFF_FFFF_FFFF_FFFF_FFFF_FFFF_FFFF\n") == ff);
    auto small = core::parse_md5_signature_text("1");
    REQUIRE(small);
    CHECK((*small)[15] == 1);
    CHECK((*small)[0] == 0);
    CHECK_FALSE(core::parse_md5_signature_text(""));
    CHECK_FALSE(core::parse_md5_signature_text("zz"));
    CHECK_FALSE(core::parse_md5_signature_text("1__2"));
    CHECK_FALSE(core::parse_md5_signature_text("_1"));
    CHECK_FALSE(core::parse_md5_signature_text("1ffffffffffffffffffffffffffffffff"));  // 129 bits
    CHECK(core::md5_signature_text({}) == "ffffffffffffffffffffffffffffffff");
    signing::Md5Digest almost = ff;
    almost[0] = 0x0f;
    CHECK(core::md5_signature_text({ff, almost}) == std::string(31, 'f'));  // 0x0fff... unpadded
    signing::Md5Digest lead{};
    lead[15] = 0xff;
    lead[0] = 0xff;
    CHECK(core::md5_signature_text({lead}) == "ffffffffffffffffffffffffffff00");  // unpadded
}
