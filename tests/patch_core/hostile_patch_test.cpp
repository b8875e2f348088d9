// SPDX-License-Identifier: Apache-2.0
// Hostile .patch files: each one is built from a reference-built fixture, mutated, and (unless
// the test is about the signature) re-signed validly with the fixture key, so every rejection
// proves a structural check rather than the signature check.
#include "support/patch_forge.hpp"
#include "support/test_support.hpp"

#include <patch_core/errors.hpp>
#include <patch_core/patch_file.hpp>
#include <patch_core/rpm/rpm_inspector.hpp>
#include <signing/trust_store.hpp>

#include <zlib.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace core = patching::core;
namespace signing = patching::signing;
using patching::test::fixtures_dir;
using patching::test::forge_gzip;
using patching::test::forge_gzip_with_zeros;
using patching::test::forge_md5_signature;
using patching::test::forge_pax_record;
using patching::test::forge_pss_signature;
using patching::test::forge_raw_entry;
using patching::test::forge_raw_finish;
using patching::test::forge_read_outer;
using patching::test::forge_read_tar;
using patching::test::forge_tar;
using patching::test::ForgeMember;
using patching::test::ForgeTarFormat;
using patching::test::RawHeader;
using patching::test::read_file;
using patching::test::TempDir;
using patching::test::write_file;

const std::string ID1 = "FIX_22.12_PATCH_0001";
const std::string ID2 = "FIX_22.12_PATCH_0002";
const std::string ALPHA = "fixture-alpha-1.0-2.noarch.rpm";
const std::string BETA = "fixture-beta-1.0-2.noarch.rpm";

fs::path key_pem() {
    return fixtures_dir() / "keys" / "fixture-signing-key.pem";
}
fs::path untrusted_key_pem() {
    return fixtures_dir() / "keys" / "untrusted-key.pem";
}

const signing::TrustStore& fixture_trust() {
    static const signing::TrustStore trust = signing::TrustStore::from_certificates(
        {signing::Certificate::load_pem(fixtures_dir() / "keys" / "fixture-signing-cert.pem")});
    return trust;
}

ForgeMember file(const std::string& name, const std::string& content, unsigned mode = 0644) {
    return ForgeMember{name, content, '0', {}, mode};
}

ForgeMember special(const std::string& name, char type, const std::string& target = {}) {
    return ForgeMember{name, {}, type, target, 0644};
}

RawHeader raw(const std::string& name, std::uint64_t size, char type = '0') {
    RawHeader h;
    h.name = name;
    h.size = size;
    h.type = type;
    return h;
}

/// Recomputes the checksum of the header block at the start of `tar` after it was edited.
void set_header_checksum(std::string& tar) {
    tar.replace(148, 8, 8, ' ');
    unsigned sum = 0;
    for (size_t i = 0; i < 512; ++i) {
        sum += static_cast<unsigned char>(tar[i]);
    }
    std::string digits(6, '0');
    for (size_t i = 6; i > 0; --i, sum >>= 3U) {
        digits[i - 1] = static_cast<char>('0' + (sum & 7U));
    }
    tar.replace(148, 7, digits + '\0');
}

/// An outer or inner tar written header by header, exactly as the members say.
std::string raw_tar(const std::vector<ForgeMember>& members) {
    std::string body;
    for (const auto& m : members) {
        bool data = m.type == '0';
        RawHeader h = raw(m.name, data ? m.content.size() : 0, m.type);
        h.link_target = m.link_target;
        h.mode = m.mode;
        body += forge_raw_entry(h, data ? m.content : std::string());
    }
    return forge_raw_finish(body);
}

std::string rpm_bytes(const std::string& name) {
    return read_file(fixtures_dir() / "rpms" / name);
}

void replace_once(std::string& text, const std::string& from, const std::string& to) {
    size_t pos = text.find(from);
    REQUIRE(pos != std::string::npos);
    text.replace(pos, from.size(), to);
}

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char ch) {
        return static_cast<char>(std::tolower(ch));
    });
    return text;
}

/// The exception's message starts with "<file>: " and contains `fragment` (in any case).
class MessageContains : public Catch::MatcherBase<std::exception> {
public:
    MessageContains(std::string prefix, std::string fragment)
        : prefix_(std::move(prefix)), fragment_(std::move(fragment)) {}
    bool match(const std::exception& e) const override {
        std::string msg = e.what();
        return msg.rfind(prefix_, 0) == 0 && lower(msg).find(lower(fragment_)) != std::string::npos;
    }
    std::string describe() const override {
        return "has a message starting with \"" + prefix_ + "\" and containing \"" + fragment_ +
               "\" (in any case)";
    }

private:
    std::string prefix_;
    std::string fragment_;
};

/// A patch taken apart into its members, ready to be mutated, re-signed and written back.
class HostilePatch {
public:
    explicit HostilePatch(const std::string& id = ID1) : id_(id) {
        outer = forge_read_outer(fixtures_dir() / "stx" / (id + ".patch"));
        software = forge_read_tar(member("software.tar"));
        auto meta = forge_read_tar(member("metadata.tar"));
        REQUIRE(meta.size() == 1);
        metadata_xml = meta[0].content;
        if (has("semantics.tar")) {
            semantics = forge_read_tar(member("semantics.tar"));
        }
    }

    // --- outer members -------------------------------------------------------------------------
    bool has(const std::string& name) const {
        return std::any_of(
            outer.begin(), outer.end(), [&](const auto& m) { return m.name == name; });
    }
    ForgeMember& entry(const std::string& name) {
        auto it =
            std::find_if(outer.begin(), outer.end(), [&](const auto& m) { return m.name == name; });
        REQUIRE(it != outer.end());
        return *it;
    }
    std::string& member(const std::string& name) { return entry(name).content; }
    void drop(const std::string& name) {
        REQUIRE(has(name));
        outer.erase(
            std::remove_if(
                outer.begin(), outer.end(), [&](const auto& m) { return m.name == name; }),
            outer.end());
    }
    void insert_before(const std::string& name, ForgeMember m) {
        auto it =
            std::find_if(outer.begin(), outer.end(), [&](const auto& x) { return x.name == name; });
        REQUIRE(it != outer.end());
        outer.insert(it, std::move(m));
    }

    // --- inner tars ----------------------------------------------------------------------------
    void set_metadata_xml(const std::string& xml, ForgeTarFormat format = ForgeTarFormat::USTAR) {
        metadata_xml = xml;
        member("metadata.tar") = forge_tar({file("metadata.xml", xml)}, format);
    }
    void edit_metadata(const std::string& from, const std::string& to) {
        std::string xml = metadata_xml;
        replace_once(xml, from, to);
        set_metadata_xml(xml);
    }
    void set_software(
        const std::vector<ForgeMember>& members, ForgeTarFormat format = ForgeTarFormat::USTAR) {
        member("software.tar") = forge_tar(members, format);
    }
    void set_semantics(
        const std::vector<ForgeMember>& members, ForgeTarFormat format = ForgeTarFormat::USTAR) {
        member("semantics.tar") = forge_tar(members, format);
    }

    // --- signatures ----------------------------------------------------------------------------
    std::vector<std::string> inner_tars() {
        std::vector<std::string> tars;
        for (const auto& m : outer) {
            if (m.name == "metadata.tar" || m.name == "software.tar" || m.name == "semantics.tar") {
                tars.push_back(m.content);
            }
        }
        return tars;
    }
    /// Recomputes `signature` only (anyone can: it is keyless).
    void sign_md5() {
        if (has("signature")) {
            member("signature") = forge_md5_signature(inner_tars());
        }
    }
    /// Recomputes both, signing with `key` (the trusted fixture key by default).
    void sign(const fs::path& key = key_pem()) {
        sign_md5();
        if (has("signature.v2")) {
            member("signature.v2") = forge_pss_signature(inner_tars(), key);
        }
    }

    // --- files ---------------------------------------------------------------------------------
    fs::path write(
        const std::string& file_name = {}, ForgeTarFormat format = ForgeTarFormat::USTAR) {
        return write_raw(forge_gzip(forge_tar(outer, format), 9), file_name);
    }
    fs::path write_raw(const std::string& bytes, const std::string& file_name = {}) {
        fs::path path = dir / (file_name.empty() ? id_ + ".patch" : file_name);
        write_file(path, bytes);
        return path;
    }

    core::VerifiedPatch read(const fs::path& path, const core::ReadLimits& limits = {}) const {
        patching::rpm::RpmHeaderInspector inspector;
        core::ReadOptions options;
        options.limits = limits;
        options.inspector = &inspector;
        return core::read_patch(path, fixture_trust(), options);
    }

    /// The file is refused with a PatchFileError naming it and holding `fragment`, and nothing
    /// but the input is left in the directory.
    void expect_reject(
        const fs::path& path, const std::string& fragment, const core::ReadLimits& limits = {}) {
        REQUIRE_THROWS_MATCHES(
            read(path, limits), core::PatchFileError,
            MessageContains(path.string() + ": ", fragment));
        expect_only(path);
    }
    void expect_reject(const std::string& fragment) { expect_reject(write(), fragment); }

    void expect_only(const fs::path& path) const {
        std::vector<fs::path> left;
        for (const auto& e : fs::directory_iterator(dir.path())) {
            left.push_back(e.path());
        }
        CHECK(left == std::vector<fs::path>{path});
    }

    core::VerifiedPatch expect_accept(const fs::path& path, const core::ReadLimits& limits = {}) {
        std::optional<core::VerifiedPatch> result;
        REQUIRE_NOTHROW(result.emplace(read(path, limits)));
        CHECK(result->metadata.id == id_);
        CHECK(result->signature.ok());
        return std::move(*result);
    }
    core::VerifiedPatch expect_accept() { return expect_accept(write()); }

    const std::string& id() const { return id_; }

    TempDir dir;
    std::vector<ForgeMember> outer;
    std::vector<ForgeMember> software;
    std::vector<ForgeMember> semantics;
    std::string metadata_xml;

private:
    std::string id_;
};

struct Hostile0001 : HostilePatch {
    Hostile0001() : HostilePatch(ID1) {}
};
struct Hostile0002 : HostilePatch {
    Hostile0002() : HostilePatch(ID2) {}
};

const char* const TRAVERSAL = "absolute path or path traversal";

}  // namespace

// =============================================================================================
// Controls: the reference-built patches, and the forge itself.

TEST_CASE("hostile: the reference-built fixtures verify", "[hostile]") {
    for (const char* id :
         {"FIX_22.12_PATCH_0001", "FIX_22.12_PATCH_0002", "FIX_22.12_PATCH_0003"}) {
        CAPTURE(id);
        HostilePatch p(id);
        fs::path path = fixtures_dir() / "stx" / (std::string(id) + ".patch");
        core::VerifiedPatch v = p.read(path);
        CHECK(v.metadata.id == id);
        CHECK(v.signature.ok());
        CHECK(v.software.size() == v.metadata.contents.size());
    }
}

TEST_CASE_METHOD(Hostile0001, "hostile: a re-forged unmodified patch verifies", "[hostile]") {
    SECTION("original signatures kept") {
        core::VerifiedPatch v = expect_accept();
        CHECK(v.software.size() == 2);
    }
    SECTION("re-signed by the forge") {
        std::string before = member("signature");
        sign();
        CHECK(member("signature") == before);  // same inner bytes, same MD5 text
        expect_accept();
    }
    SECTION("inner tars rebuilt by the forge from the parsed members") {
        set_software(software);
        set_metadata_xml(metadata_xml);
        sign();
        core::VerifiedPatch v = expect_accept();
        REQUIRE(v.software.size() == 2);
        CHECK(v.software[0].name == ALPHA);
        CHECK(v.software[1].name == BETA);
    }
}

TEST_CASE_METHOD(Hostile0002, "hostile: a re-forged patch with semantics verifies", "[hostile]") {
    set_software(software);
    set_semantics(semantics);
    sign();
    core::VerifiedPatch v = expect_accept();
    CHECK(v.has_semantics);
    CHECK(v.semantics.size() == 2);
}

TEST_CASE_METHOD(
    Hostile0002, "hostile: GNU, PAX and ustar inner and outer tars are all accepted", "[hostile]") {
    auto inner = GENERATE(ForgeTarFormat::USTAR, ForgeTarFormat::GNU, ForgeTarFormat::PAX);
    auto outer_format = GENERATE(ForgeTarFormat::USTAR, ForgeTarFormat::GNU, ForgeTarFormat::PAX);
    CAPTURE(static_cast<int>(inner), static_cast<int>(outer_format));
    set_metadata_xml(metadata_xml, inner);
    set_software(software, inner);
    set_semantics(semantics, inner);
    sign();
    expect_accept(write({}, outer_format));
}

TEST_CASE("hostile: the forge's streamed gzip decompresses to what it claims", "[hostile]") {
    TempDir dir;
    fs::path path = dir / "zeros.gz";
    const std::string head = "head bytes";
    const std::uint64_t zeros = (3U << 20U) + 12345;
    forge_gzip_with_zeros(path, head, zeros, 9);
    std::string gz = read_file(path);
    z_stream z{};
    REQUIRE(inflateInit2(&z, 31) == Z_OK);
    z.next_in = reinterpret_cast<Bytef*>(gz.data());
    z.avail_in = static_cast<uInt>(gz.size());
    std::string out(head.size() + zeros + 100, 'x');
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    int rc = inflate(&z, Z_FINISH);  // Z_STREAM_END only if the CRC and length check
    inflateEnd(&z);
    REQUIRE(rc == Z_STREAM_END);
    REQUIRE(z.total_out == head.size() + zeros);
    CHECK(out.compare(0, head.size(), head) == 0);
    CHECK(out.find_first_not_of('\0', head.size()) == head.size() + zeros);
    CHECK(z.avail_in == 0);
}

TEST_CASE("hostile: every file in fixtures/bad is refused", "[hostile]") {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(fixtures_dir() / "bad")) {
        files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    REQUIRE(files.size() >= 9);
    for (const auto& src : files) {
        CAPTURE(src);
        TempDir dir;
        fs::path path = dir / src.filename().string();
        fs::copy_file(src, path);
        patching::rpm::RpmHeaderInspector inspector;
        core::ReadOptions options;
        options.inspector = &inspector;
        CHECK_THROWS_MATCHES(
            core::read_patch(path, fixture_trust(), options), core::PatchFileError,
            MessageContains(path.string() + ": ", ""));
        CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);
    }
}

TEST_CASE("hostile: fixtures/bad files are refused for their own reason", "[hostile]") {
    struct Case {
        const char* file;
        const char* fragment;
    };
    auto c = GENERATE(values<Case>({
        {"bad-md5.patch", "integrity check failed"},
        {"malformed-xml-validly-signed.patch", "not well-formed XML"},
        {"not-gzip.patch", "not a patch file"},
        {"path-traversal-validly-signed.patch", "path traversal"},
        {"tampered-signed-content.patch", "signature check failed"},
        {"truncated.patch", "truncated"},
        {"unlisted-member-validly-signed.patch", "does not list"},
        {"unsigned.patch", "not signed"},
        {"zeroed-signature.patch", "signature check failed"},
    }));
    CAPTURE(c.file);
    Hostile0001 p;
    fs::path path = p.dir / c.file;
    fs::copy_file(fixtures_dir() / "bad" / c.file, path);
    core::ReadOptions options;
    patching::rpm::RpmHeaderInspector inspector;
    options.inspector = &inspector;
    options.require_matching_file_name = false;
    REQUIRE_THROWS_MATCHES(
        core::read_patch(path, fixture_trust(), options), core::PatchFileError,
        MessageContains(path.string() + ": ", c.fragment));
    p.expect_only(path);
}

// =============================================================================================
// software.tar members

TEST_CASE_METHOD(Hostile0001, "hostile: software.tar member names that escape", "[hostile]") {
    std::string alpha = software[0].content;
    std::string name = GENERATE(
        as<std::string>{}, "../x.rpm", "../../escaped-fixture-alpha-1.0-2.noarch.rpm", "/abs.rpm",
        "/tmp/fixture-alpha-1.0-2.noarch.rpm", "sub/dir.rpm", ".", "..",
        "./fixture-alpha-1.0-2.noarch.rpm", "x\n.rpm");
    CAPTURE(name);
    software[0].name = name;
    set_software(software);
    sign();
    expect_reject(TRAVERSAL);
}

TEST_CASE_METHOD(Hostile0001, "hostile: traversal hidden in long-name records", "[hostile]") {
    std::string long_evil = "../" + std::string(120, 'a') + "-1.0-1.noarch.rpm";
    SECTION("GNU 'L' long name written by libarchive") {
        software.push_back(file(long_evil, rpm_bytes(ALPHA)));
        set_software(software, ForgeTarFormat::GNU);
        REQUIRE(member("software.tar").find("././@LongLink") != std::string::npos);
    }
    SECTION("PAX path= record written by libarchive") {
        software.push_back(file(long_evil, rpm_bytes(ALPHA)));
        set_software(software, ForgeTarFormat::PAX);
        REQUIRE(member("software.tar").find(" path=../") != std::string::npos);
    }
    SECTION("PAX path=../evil.rpm over an innocent, listed ustar name") {
        std::string rec = forge_pax_record("path", "../evil.rpm");
        std::string body = forge_raw_entry(raw("././@PaxHeader", rec.size(), 'x'), rec);
        body += forge_raw_entry(raw(ALPHA, software[0].content.size()), software[0].content);
        body += forge_raw_entry(raw(BETA, software[1].content.size()), software[1].content);
        member("software.tar") = forge_raw_finish(body);
    }
    SECTION("GNU 'L' record ../evil.rpm over an innocent, listed name") {
        std::string longname = std::string("../evil.rpm") + '\0';
        std::string body = forge_raw_entry(raw("././@LongLink", longname.size(), 'L'), longname);
        body += forge_raw_entry(raw(ALPHA, software[0].content.size()), software[0].content);
        body += forge_raw_entry(raw(BETA, software[1].content.size()), software[1].content);
        member("software.tar") = forge_raw_finish(body);
    }
    SECTION("ustar prefix field \"..\"") {
        RawHeader h = raw(ALPHA, software[0].content.size());
        h.prefix = "..";
        std::string body = forge_raw_entry(h, software[0].content);
        body += forge_raw_entry(raw(BETA, software[1].content.size()), software[1].content);
        member("software.tar") = forge_raw_finish(body);
    }
    sign();
    expect_reject(TRAVERSAL);
}

TEST_CASE_METHOD(
    Hostile0001, "hostile: software.tar members that are not regular files", "[hostile]") {
    struct Case {
        char type;
        const char* target;
        const char* fragment;
    };
    auto c = GENERATE(values<Case>({
        {'2', "/etc/passwd", "is a symbolic link"},
        {'1', "fixture-beta-1.0-2.noarch.rpm", "is a hard link"},
        {'1', "/etc/shadow", "is a hard link"},
        {'3', "", "is a device node"},
        {'4', "", "is a device node"},
        {'6', "", "is a FIFO"},
        {'5', "", "is a directory"},
    }));
    CAPTURE(c.type);
    // Replace alpha in place, keep beta first so a hard link has a real target.
    software = {software[1], special(ALPHA, c.type, c.target)};
    set_software(software);
    sign();
    expect_reject(c.fragment);
}

TEST_CASE_METHOD(Hostile0001, "hostile: a GNU sparse member in software.tar", "[hostile]") {
    // Old GNU sparse ('S'): two 512-byte data runs of an 8 KiB file, the map in the header.
    std::string data(1024, 's');
    std::string entry = forge_raw_entry(raw(ALPHA, data.size(), 'S'), data);
    auto put = [&](size_t off, const std::string& value) {
        entry.replace(off, value.size(), value);
    };
    put(257, std::string("ustar  \0", 8));  // GNU magic
    put(386, "00000000000");                // sparse[0].offset = 0
    put(398, "00000001000");                // sparse[0].numbytes = 512
    put(410, "00000010000");                // sparse[1].offset = 4096
    put(422, "00000001000");                // sparse[1].numbytes = 512
    put(483, "00000020000");                // realsize = 8192
    set_header_checksum(entry);
    std::string body =
        entry + forge_raw_entry(raw(BETA, software[1].content.size()), software[1].content);
    member("software.tar") = forge_raw_finish(body);
    sign();
    expect_reject("software.tar member \"" + ALPHA + "\" is a sparse file");
}

TEST_CASE_METHOD(Hostile0001, "hostile: a directory member in software.tar", "[hostile]") {
    software.insert(software.begin(), special("sub", '5'));
    set_software(software);
    sign();
    expect_reject("is a directory");
}

TEST_CASE_METHOD(Hostile0001, "hostile: duplicate software.tar member", "[hostile]") {
    SECTION("same bytes twice") {
        software.push_back(software[0]);
    }
    SECTION("second copy with other bytes") {
        software.push_back(file(ALPHA, rpm_bytes("fixture-alpha-1.0-3.noarch.rpm")));
    }
    set_software(software);
    sign();
    expect_reject("twice");
}

TEST_CASE_METHOD(Hostile0001, "hostile: software.tar and <contents> disagree", "[hostile]") {
    SECTION("a member <contents> does not list") {
        software.push_back(
            file("fixture-gamma-1.0-1.noarch.rpm", rpm_bytes("fixture-gamma-1.0-1.noarch.rpm")));
        set_software(software);
        sign();
        expect_reject("which metadata.xml <contents> does not list");
    }
    SECTION("a <contents> entry software.tar does not hold") {
        set_software({software[0]});
        sign();
        expect_reject("\"" + BETA + "\" in <contents>, but software.tar does not hold it");
    }
    SECTION("software.tar is an empty archive") {
        set_software({});
        sign();
        expect_reject("software.tar does not hold it");
    }
}

TEST_CASE_METHOD(
    Hostile0001, "hostile: software.tar members that are not the RPM they claim", "[hostile]") {
    SECTION("not an RPM") {
        software[0].content = "#!/bin/sh\nrm -rf /\n";
    }
    SECTION("RPM truncated to 100 bytes") {
        software[0].content.resize(100);
    }
    SECTION("empty member") {
        software[0].content.clear();
    }
    SECTION("RPM lead with garbage after it") {
        software[0].content.resize(96);
        software[0].content += std::string(20000, '\x5a');
    }
    set_software(software);
    sign();
    expect_reject("\"" + ALPHA + "\" is not a valid RPM");
}

TEST_CASE_METHOD(
    Hostile0001, "hostile: an RPM whose file name disagrees with its header", "[hostile]") {
    SECTION("release renamed in software.tar and metadata") {
        const std::string fake = "fixture-alpha-1.0-9.noarch.rpm";
        software[0].name = fake;
        set_software(software);
        edit_metadata("<rpm>" + ALPHA + "</rpm>", "<rpm>" + fake + "</rpm>");
        sign();
        expect_reject("\"" + fake + "\" holds package");
    }
    SECTION("another package's bytes under a listed name") {
        software[0].content = rpm_bytes("fixture-gamma-1.0-1.noarch.rpm");
        set_software(software);
        sign();
        expect_reject("whose file name would be fixture-gamma-1.0-1.noarch.rpm");
    }
    SECTION("a binary RPM named as a source RPM") {
        const std::string fake = "fixture-alpha-1.0-2.src.rpm";
        software[0].name = fake;
        set_software(software);
        edit_metadata("<rpm>" + ALPHA + "</rpm>", "<rpm>" + fake + "</rpm>");
        sign();
        expect_reject("whose file name would be " + ALPHA);
    }
}

TEST_CASE_METHOD(Hostile0001, "hostile: software.tar that is not a tar", "[hostile]") {
    SECTION("random bytes") {
        member("software.tar") = std::string(10240, '\x7f');
    }
    SECTION("empty") {
        member("software.tar").clear();
    }
    SECTION("a header whose size runs past the end") {
        member("software.tar") = forge_raw_entry(raw(ALPHA, 1U << 20U), software[0].content);
    }
    sign();
    expect_reject("software.tar");
}

TEST_CASE_METHOD(Hostile0001, "hostile: software.tar limits", "[hostile]") {
    core::ReadLimits limits;
    std::string fragment;
    SECTION("max_rpms") {
        limits.max_rpms = 1;
        fragment = "software.tar holds more than 1 members";
    }
    SECTION("max_rpm_bytes") {
        limits.max_rpm_bytes = 1000;
        fragment = "is larger than 1000 bytes";
    }
    SECTION("max_software_tar") {
        limits.max_software_tar = 10240;
        fragment = "software.tar is 20480 bytes, more than the limit of 10240";
    }
    expect_reject(write(), fragment, limits);
}

// =============================================================================================
// The splice attack (spec 9.1 item 4) and data after the end of software.tar

TEST_CASE_METHOD(Hostile0002, "hostile: semantics.tar spliced onto software.tar", "[hostile]") {
    std::string spliced = member("software.tar") + member("semantics.tar");
    member("software.tar") = spliced;
    drop("semantics.tar");
    SECTION("keeping the reference signature.v2: it still verifies over the same bytes") {
        // metadata.tar || software.tar || semantics.tar == metadata.tar || software.tar'
        sign_md5();
        expect_reject("software.tar has data after its end-of-archive marker");
    }
    SECTION("keeping <semantics>, re-signed") {
        sign();
        expect_reject("data after its end-of-archive marker");
    }
    SECTION("<semantics> edited out of metadata.xml, re-signed") {
        edit_metadata(
            "  <semantics>\n    <action>pre-apply</action>\n    <action>pre-remove</action>\n"
            "  </semantics>\n",
            "  <semantics/>\n");
        sign();
        expect_reject("data after its end-of-archive marker");
    }
}

TEST_CASE_METHOD(
    Hostile0002, "hostile: dropping semantics.tar is detected even without a splice", "[hostile]") {
    drop("semantics.tar");
    sign();
    expect_reject("<semantics> declares 2 check script(s) but semantics.tar holds 0");
}

TEST_CASE_METHOD(
    Hostile0001, "hostile: bytes after software.tar's end-of-archive marker", "[hostile]") {
    std::string& sw = member("software.tar");
    SECTION("non-zero garbage appended") {
        sw += std::string(10240, 'A');
    }
    SECTION("one non-zero byte appended") {
        sw += std::string(10239, '\0') + "x";
    }
    SECTION("one non-zero byte inside the original record padding") {
        REQUIRE(sw[sw.size() - 1] == '\0');
        sw[sw.size() - 1] = '\x01';
    }
    SECTION("a non-zero byte in the second end-of-archive block") {
        set_software(software);  // ustar: alpha and beta take 7168 bytes each, then the marker
        REQUIRE(member("software.tar").substr(14336).find_first_not_of('\0') == std::string::npos);
        member("software.tar")[14336 + 700] = '\x01';
    }
    SECTION("a whole tar appended") {
        sw += forge_tar({file("evil.sh", "#!/bin/sh\n")});
    }
    SECTION("garbage several MiB later, past the reader's buffers") {
        sw += std::string(3U << 20U, '\0') + "x";
    }
    SECTION("garbage at the last byte of the first 1 MiB chunk") {
        sw.resize(2U << 20U, '\0');
        sw[(1U << 20U) - 1] = 'x';
    }
    SECTION("garbage at the first byte of the second 1 MiB chunk") {
        sw.resize(2U << 20U, '\0');
        sw[1U << 20U] = 'x';
    }
    sign();
    expect_reject("software.tar has data after its end-of-archive marker");
}

TEST_CASE_METHOD(
    Hostile0001, "hostile: garbage right after an end marker near a chunk boundary", "[hostile]") {
    // A third member sized so that the end-of-archive marker sits just before the 1 MiB boundary
    // of the reader's chunks: the garbage is then in the chunk before the one being read.
    size_t used = 7168 + 7168 + 512;
    size_t end = (1U << 20U) - 512 * GENERATE(1U, 2U, 3U);
    std::string filler(end - used, 'f');
    software.push_back(file("fixture-gamma-1.0-1.noarch.rpm", filler));
    set_software(software);
    std::string& sw = member("software.tar");
    REQUIRE(sw.substr(end).find_first_not_of('\0') == std::string::npos);
    size_t at = end + GENERATE(0U, 511U, 512U, 1023U, 1024U, 4096U);
    CAPTURE(end, at);
    REQUIRE(at < sw.size());
    sw[at] = 'x';
    sign();
    if (at < end + 512) {
        // The first block after the last member is not a zero block: it is a damaged header.
        expect_reject("software.tar is corrupt: Damaged tar archive");
    } else {
        expect_reject("software.tar has data after its end-of-archive marker");
    }
}

TEST_CASE_METHOD(
    Hostile0001, "hostile: zero padding after software.tar's end is accepted", "[hostile]") {
    std::string& sw = member("software.tar");
    size_t extra = GENERATE(512U, 10240U, 20480U, (1U << 20U) - 20480U, 3U << 20U);
    CAPTURE(extra);
    sw.append(extra, '\0');
    sign();
    core::VerifiedPatch v = expect_accept();
    CHECK(v.software_tar_size == 20480 + extra);
}

TEST_CASE_METHOD(Hostile0001, "hostile: software.tar cut short", "[hostile]") {
    set_software(software);  // ustar: alpha and beta take 7168 bytes each, then the marker
    std::string& sw = member("software.tar");
    REQUIRE(sw.substr(14336).find_first_not_of('\0') == std::string::npos);
    SECTION("right after the last member (no end marker): accepted, as Python's tarfile does") {
        sw.resize(14336);
        sign();
        CHECK(expect_accept().software.size() == 2);
    }
    SECTION("inside the last member's data") {
        sw.resize(14000);
        sign();
        expect_reject("\"" + BETA + "\" is corrupt: Truncated tar archive");
    }
    SECTION("inside the last member's header") {
        sw.resize(7168 + 300);
        sign();
        expect_reject("software.tar");
    }
}

// =============================================================================================
// metadata.tar and metadata.xml

TEST_CASE_METHOD(Hostile0001, "hostile: metadata.tar layout", "[hostile]") {
    SECTION("two members") {
        member("metadata.tar") =
            forge_tar({file("metadata.xml", metadata_xml), file("extra.txt", "x")});
        sign();
        expect_reject("metadata.tar must hold exactly one member, metadata.xml");
    }
    SECTION("metadata.xml twice") {
        member("metadata.tar") =
            forge_tar({file("metadata.xml", metadata_xml), file("metadata.xml", metadata_xml)});
        sign();
        expect_reject("metadata.tar holds member \"metadata.xml\" twice");
    }
    SECTION("wrong member name") {
        member("metadata.tar") = forge_tar({file("meta.xml", metadata_xml)});
        sign();
        expect_reject("metadata.tar must hold exactly one member, metadata.xml");
    }
    SECTION("traversal in the member name") {
        member("metadata.tar") = forge_tar({file("../metadata.xml", metadata_xml)});
        sign();
        expect_reject("metadata.tar must hold exactly one member, metadata.xml");
    }
    SECTION("metadata.xml as a symbolic link") {
        member("metadata.tar") = forge_tar({special("metadata.xml", '2', "/etc/passwd")});
        sign();
        expect_reject("metadata.tar member \"metadata.xml\" is a symbolic link");
    }
    SECTION("metadata.xml as a hard link") {
        member("metadata.tar") =
            forge_tar({file("a", metadata_xml), special("metadata.xml", '1', "a")});
        sign();
        expect_reject("metadata.tar member \"metadata.xml\" is a hard link");
    }
    SECTION("empty archive") {
        member("metadata.tar") = forge_tar({});
        sign();
        expect_reject("metadata.tar must hold exactly one member, metadata.xml");
    }
    SECTION("not a tar") {
        member("metadata.tar") = metadata_xml;
        sign();
        expect_reject("metadata.tar");
    }
    SECTION("data after the end-of-archive marker") {
        member("metadata.tar") += "<evil/>";
        sign();
        expect_reject("metadata.tar has data after its end-of-archive marker");
    }
    SECTION("metadata.xml over 4 MiB") {
        std::string xml = metadata_xml;
        replace_once(
            xml, "<warnings/>", "<warnings>" + std::string(5U << 20U, 'w') + "</warnings>");
        set_metadata_xml(xml);
        sign();
        expect_reject("metadata.tar member \"metadata.xml\" is larger than 4194304 bytes");
    }
    SECTION("metadata.tar over max_small_tar") {
        core::ReadLimits limits;
        limits.max_small_tar = 4096;
        expect_reject(write(), "metadata.tar is 10240 bytes, more than the limit of 4096", limits);
    }
}

TEST_CASE_METHOD(Hostile0001, "hostile: hostile or invalid metadata.xml", "[hostile]") {
    struct Case {
        const char* name;
        std::string from;
        std::string to;
        std::string fragment;
    };
    const std::string head = "<?xml version=\"1.0\" ?>\n";
    auto c = GENERATE_COPY(values<Case>({
        {"billion laughs", head,
         head + "<!DOCTYPE patch [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b "
                "\"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
                "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d "
                "\"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">]>\n",
         "DOCTYPE"},
        {"external entity", head,
         head + "<!DOCTYPE patch [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n", "DOCTYPE"},
        {"external DTD", head, head + "<!DOCTYPE patch SYSTEM \"http://example.invalid/p.dtd\">\n",
         "DOCTYPE"},
        {"undefined entity", "<summary>Fix alpha and beta</summary>", "<summary>&foo;</summary>",
         "undefined entity reference &foo;"},
        {"entity used in the id", "<id>FIX_22.12_PATCH_0001</id>", "<id>&xxe;</id>",
         "undefined entity"},
        {"missing id", "  <id>FIX_22.12_PATCH_0001</id>\n", "", "missing required element <id>"},
        {"id with a slash", "<id>FIX_22.12_PATCH_0001</id>", "<id>FIX/22.12_PATCH_0001</id>",
         "invalid <id>"},
        {"id with ..", "<id>FIX_22.12_PATCH_0001</id>", "<id>FIX..PATCH_0001</id>", "invalid <id>"},
        {"id traversal", "<id>FIX_22.12_PATCH_0001</id>", "<id>../../etc/cron.d/x</id>",
         "invalid <id>"},
        {"empty id", "<id>FIX_22.12_PATCH_0001</id>", "<id></id>", "invalid <id>"},
        {"duplicate id", "<id>FIX_22.12_PATCH_0001</id>",
         "<id>FIX_22.12_PATCH_0001</id><id>FIX_22.12_PATCH_0009</id>",
         "<id> appears more than once"},
        {"id holding an element", "<id>FIX_22.12_PATCH_0001</id>",
         "<id><b>FIX_22.12_PATCH_0001</b></id>", "must hold text"},
        {"bad sw_version", "<sw_version>22.12</sw_version>", "<sw_version>../22.12</sw_version>",
         "invalid <sw_version>"},
        {"personality without type", "<personality type=\"storage\">", "<personality>",
         "<personality> without a type attribute"},
        {"personality with empty type", "<personality type=\"storage\">", "<personality type=\"\">",
         "without a type attribute"},
        {"contents entry not an RPM name", "<rpm>fixture-beta-1.0-2.noarch.rpm</rpm>",
         "<rpm>beta.txt</rpm>", "is not an RPM file name"},
        {"contents entry with traversal", "<rpm>fixture-beta-1.0-2.noarch.rpm</rpm>",
         "<rpm>../fixture-beta-1.0-2.noarch.rpm</rpm>", "is not an RPM file name"},
        {"contents entry twice", "<rpm>fixture-beta-1.0-2.noarch.rpm</rpm>",
         "<rpm>fixture-beta-1.0-2.noarch.rpm</rpm><rpm>fixture-beta-1.0-2.noarch.rpm</rpm>",
         "twice"},
        {"bad req_patch_id", "<requires/>",
         "<requires><req_patch_id>../x</req_patch_id></requires>", "invalid <req_patch_id>"},
        {"unknown semantic action", "<semantics/>",
         "<semantics><action>post-apply</action></semantics>",
         "unknown semantic action \"post-apply\""},
        {"root element not <patch>", "<patch>\n", "<notpatch>\n", "root element is <notpatch>"},
        {"unclosed element", "</patch>\n", "", "not well-formed XML"},
    }));
    CAPTURE(c.name);
    std::string xml = metadata_xml;
    if (c.name == std::string("root element not <patch>")) {
        replace_once(xml, "</patch>\n", "</notpatch>\n");
    }
    replace_once(xml, c.from, c.to);
    set_metadata_xml(xml);
    sign();
    expect_reject(c.fragment);
}

TEST_CASE_METHOD(Hostile0001, "hostile: metadata.xml that is not text", "[hostile]") {
    SECTION("binary garbage") {
        std::string garbage;
        for (int i = 0; i < 4096; ++i) {
            garbage += static_cast<char>((i * 131 + 7) & 0xff);
        }
        set_metadata_xml(garbage);
    }
    SECTION("invalid UTF-8 in the id") {
        std::string xml = metadata_xml;
        replace_once(xml, "<id>FIX_22.12_PATCH_0001</id>", "<id>FIX_22.12_PATCH_0001\xff\xfe</id>");
        set_metadata_xml(xml);
    }
    SECTION("empty") {
        set_metadata_xml("");
    }
    SECTION("NUL bytes") {
        set_metadata_xml(std::string("<patch>\0<id>x</id></patch>", 26));
    }
    sign();
    expect_reject("metadata.xml");
}

TEST_CASE_METHOD(Hostile0001, "hostile: the file name must match the patch ID", "[hostile]") {
    SECTION("renamed file") {
        fs::path path = write("OTHER.patch");
        expect_reject(path, "does not match the patch ID " + ID1);
    }
    SECTION("<id> changed inside a validly signed patch") {
        edit_metadata("<id>FIX_22.12_PATCH_0001</id>", "<id>FIX_22.12_PATCH_0009</id>");
        sign();
        expect_reject("does not match the patch ID FIX_22.12_PATCH_0009");
    }
}

// =============================================================================================
// semantics.tar

TEST_CASE_METHOD(Hostile0002, "hostile: semantics.tar members", "[hostile]") {
    std::string script = semantics[0].content;
    std::string name = GENERATE_COPY(
        as<std::string>{}, "post-apply/" + ID2, "pre-apply/OTHER_PATCH",
        "pre-apply/../../../etc/cron.d/x", "../pre-apply/" + ID2, "/pre-apply/" + ID2, "pre-apply",
        ID2, "pre-apply/" + ID2 + "/x", "./pre-apply/" + ID2);
    CAPTURE(name);
    semantics[0].name = name;
    set_semantics(semantics);
    sign();
    expect_reject("semantics.tar member \"" + name + "\" is not pre-apply/" + ID2);
}

TEST_CASE_METHOD(Hostile0002, "hostile: semantics.tar member types and layout", "[hostile]") {
    std::string fragment;
    SECTION("symbolic link") {
        semantics[0] = special("pre-apply/" + ID2, '2', "/bin/sh");
        fragment = "semantics.tar member \"pre-apply/" + ID2 + "\" is a symbolic link";
    }
    SECTION("hard link") {
        semantics[1] = special("pre-remove/" + ID2, '1', "pre-apply/" + ID2);
        fragment = "semantics.tar member \"pre-remove/" + ID2 + "\" is a hard link";
    }
    SECTION("directory entry") {
        semantics.insert(semantics.begin(), special("pre-apply", '5'));
        fragment = "semantics.tar member \"pre-apply";
    }
    SECTION("device") {
        semantics[0] = special("pre-apply/" + ID2, '3');
        fragment = "semantics.tar member \"pre-apply/" + ID2 + "\" is a device node";
    }
    SECTION("duplicate script") {
        semantics.push_back(file("pre-apply/" + ID2, "#!/bin/sh\nexit 1\n", 0755));
        fragment = "semantics.tar holds member \"pre-apply/" + ID2 + "\" twice";
    }
    set_semantics(semantics);
    sign();
    expect_reject(fragment);
}

TEST_CASE_METHOD(Hostile0002, "hostile: semantics.tar and <semantics> disagree", "[hostile]") {
    SECTION("<semantics> declares scripts, semantics.tar absent") {
        drop("semantics.tar");
    }
    SECTION("semantics.tar present, metadata declares none") {
        edit_metadata(
            "  <semantics>\n    <action>pre-apply</action>\n    <action>pre-remove</action>\n"
            "  </semantics>\n",
            "  <semantics/>\n");
    }
    SECTION("only one of the two declared scripts present") {
        set_semantics({semantics[0]});
    }
    SECTION("semantics.tar empty") {
        set_semantics({});
    }
    SECTION("semantics.tar added to a patch that declares none") {
        // 0002 without its declaration and without the tar, then a tar added back.
        edit_metadata(
            "  <semantics>\n    <action>pre-apply</action>\n    <action>pre-remove</action>\n"
            "  </semantics>\n",
            "  <semantics>\n    <action>pre-apply</action>\n  </semantics>\n");
        set_semantics({semantics[1]});
    }
    sign();
    expect_reject("a stripped or spliced patch");
}

TEST_CASE_METHOD(Hostile0002, "hostile: semantics.tar limits and trailing data", "[hostile]") {
    SECTION("data after the end-of-archive marker") {
        member("semantics.tar") += "#!/bin/sh\n";
        sign();
        expect_reject("semantics.tar has data after its end-of-archive marker");
    }
    SECTION("a script over max_script_bytes") {
        semantics[0].content.resize(5U << 20U, '#');
        set_semantics(semantics);
        sign();
        expect_reject("is larger than 4194304 bytes");
    }
    SECTION("not a tar") {
        member("semantics.tar") = "#!/bin/sh\nexit 0\n";
        sign();
        expect_reject("semantics.tar");
    }
}

// =============================================================================================
// The outer archive

TEST_CASE_METHOD(Hostile0001, "hostile: outer member set and order", "[hostile]") {
    std::string fragment;
    SECTION("unknown extra member") {
        insert_before("signature", file("extra.txt", "hello"));
        fragment = "unexpected member \"extra.txt\"";
    }
    SECTION("a member named ./metadata.tar") {
        entry("metadata.tar").name = "./metadata.tar";
        fragment = "unexpected member \"./metadata.tar\"";
    }
    SECTION("a member named /signature") {
        entry("signature").name = "/signature";
        fragment = "unexpected member \"/signature\"";
    }
    SECTION("a member named ../software.tar") {
        entry("software.tar").name = "../software.tar";
        fragment = "unexpected member \"../software.tar\"";
    }
    SECTION("duplicate metadata.tar") {
        insert_before("software.tar", entry("metadata.tar"));
        fragment = "member \"metadata.tar\" appears twice";
    }
    SECTION("duplicate signature.v2") {
        outer.push_back(entry("signature.v2"));
        fragment = "member \"signature.v2\" appears twice";
    }
    SECTION("software.tar before metadata.tar") {
        std::swap(outer[0], outer[1]);
        fragment = "member \"software.tar\" comes before metadata.tar";
    }
    SECTION("signature before software.tar") {
        std::swap(outer[1], outer[2]);
        fragment = "member \"software.tar\" is out of order";
    }
    SECTION("signature.v2 before signature") {
        std::swap(outer[2], outer[3]);
        fragment = "member \"signature\" is out of order";
    }
    SECTION("missing software.tar") {
        drop("software.tar");
        fragment = "not a complete patch: missing software.tar";
    }
    SECTION("missing metadata.tar") {
        drop("metadata.tar");
        fragment = "metadata.tar";
    }
    SECTION("missing signature") {
        drop("signature");
        fragment = "missing the integrity file \"signature\"";
    }
    SECTION("missing signature.v2") {
        drop("signature.v2");
        fragment = "the patch is not signed";
    }
    SECTION("only signatures") {
        drop("metadata.tar");
        drop("software.tar");
        fragment = "not a complete patch: missing metadata.tar";
    }
    sign();
    expect_reject(fragment);
}

TEST_CASE_METHOD(Hostile0001, "hostile: outer members that are not regular files", "[hostile]") {
    struct Case {
        const char* name;
        char type;
        const char* target;
        const char* fragment;
    };
    auto c = GENERATE(values<Case>({
        {"signature", '2', "/etc/passwd", "member \"signature\" is a symbolic link"},
        {"signature.v2", '2', "/etc/passwd", "member \"signature.v2\" is a symbolic link"},
        {"signature.v2", '1', "signature", "member \"signature.v2\" is a hard link"},
        {"metadata.tar", '5', "", "member \"metadata.tar\" is a directory"},
        {"software.tar", '2', "/dev/zero", "member \"software.tar\" is a symbolic link"},
        {"software.tar", '4', "", "member \"software.tar\" is a device node"},
        {"software.tar", '6', "", "member \"software.tar\" is a FIFO"},
    }));
    CAPTURE(c.name, c.type);
    entry(c.name) = special(c.name, c.type, c.target);
    // Written by hand: libarchive would add a '/' to a directory's name.
    expect_reject(write_raw(forge_gzip(raw_tar(outer), 9)), c.fragment);
}

TEST_CASE_METHOD(Hostile0001, "hostile: the integrity file", "[hostile]") {
    std::string sig = member("signature");
    SECTION("not hexadecimal") {
        member("signature") = "zz";
        expect_reject("the \"signature\" member is not a hexadecimal checksum");
    }
    SECTION("empty") {
        member("signature") = "";
        expect_reject("not a hexadecimal checksum");
    }
    SECTION("more than 128 bits") {
        member("signature") = "1" + sig;
        expect_reject("integrity check failed");
    }
    SECTION("wrong value") {
        member("signature") = "0123456789abcdef";
        expect_reject(
            "integrity check failed: the content does not match its \"signature\" checksum");
    }
    SECTION("content changed after signing") {
        member("metadata.tar")[600] = static_cast<char>(member("metadata.tar")[600] ^ 1);
        expect_reject("integrity check failed");
    }
    SECTION("over max_signature_bytes") {
        member("signature") = std::string(2000, '0') + sig;
        expect_reject(write(), "signature is 2032 bytes, more than the limit of 1024");
    }
}

TEST_CASE_METHOD(
    Hostile0001, "hostile: integrity text is parsed as Python int(x, 16)", "[hostile]") {
    std::string sig = member("signature");
    std::string text = GENERATE_COPY(
        as<std::string>{}, "0x" + sig, "  0x" + sig + "\n", "\t" + sig + " \n", "0X" + sig,
        "0x_" + sig, "0000" + sig, sig.substr(0, 4) + "_" + sig.substr(4), [&] {
            std::string upper = sig;
            std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char ch) {
                return static_cast<char>(std::toupper(ch));
            });
            return upper;
        }());
    CAPTURE(text);
    member("signature") = text;
    expect_accept();
}

TEST_CASE_METHOD(Hostile0001, "hostile: integrity text Python would refuse", "[hostile]") {
    std::string sig = member("signature");
    std::string text = GENERATE_COPY(
        as<std::string>{}, "0x", "0x__" + sig, sig + "_", "_" + sig,
        sig.substr(0, 4) + "__" + sig.substr(4), "0x0x" + sig, "-" + sig,
        sig.substr(0, 4) + " " + sig.substr(4), sig + "g");
    CAPTURE(text);
    member("signature") = text;
    expect_reject("not a hexadecimal checksum");
}

TEST_CASE_METHOD(Hostile0001, "hostile: the RSA signature", "[hostile]") {
    SECTION("wrong length") {
        member("signature.v2").pop_back();
        expect_reject("signature check failed");
    }
    SECTION("empty") {
        member("signature.v2").clear();
        expect_reject("signature check failed");
    }
    SECTION("all zeros") {
        member("signature.v2") = std::string(256, '\0');
        expect_reject("signature check failed");
    }
    SECTION("one bit flipped") {
        member("signature.v2")[100] = static_cast<char>(member("signature.v2")[100] ^ 0x10);
        expect_reject("signature check failed");
    }
    SECTION("signed by an untrusted key") {
        sign(untrusted_key_pem());
        expect_reject("signature check failed");
    }
    SECTION("over 1024 bytes") {
        member("signature.v2") += std::string(2000, 'x');
        expect_reject("signature.v2 is 2256 bytes, more than the limit of 1024");
    }
    SECTION("content re-hashed (MD5) but not re-signed") {
        edit_metadata("<status>DEV</status>", "<status>REL</status>");
        sign_md5();
        expect_reject("signature check failed");
    }
    SECTION("hostile content is not looked at before the signature") {
        software[0].name = "../x.rpm";
        set_software(software);
        sign(untrusted_key_pem());
        expect_reject("signature check failed");
    }
}

TEST_CASE_METHOD(
    Hostile0001, "hostile: files that are not gzip-compressed tar archives", "[hostile]") {
    std::string tar = forge_tar(outer);
    std::string gz = forge_gzip(tar, 9);
    std::string bytes;
    std::string fragment;
    SECTION("plain tar") {
        bytes = tar;
        fragment = "not gzip-compressed";
    }
    SECTION("gzip of garbage") {
        bytes = forge_gzip(std::string(50000, 'g'), 9);
        fragment = "not a patch file";
    }
    SECTION("gzip of nothing") {
        bytes = forge_gzip("", 9);
        fragment = "not a patch file";
    }
    SECTION("empty file") {
        fragment = "not a patch file";
    }
    SECTION("garbage") {
        bytes = "this is not a patch\n";
        fragment = "not a patch file";
    }
    SECTION("gzip truncated to its header") {
        bytes = gz.substr(0, 10);
        fragment = "not a patch file";
    }
    SECTION("gzip truncated in the middle") {
        bytes = gz.substr(0, gz.size() / 2);
        fragment = "truncated";
    }
    SECTION("deflate stream corrupted") {
        bytes = gz;
        for (size_t i = 200; i < 260; ++i) {
            bytes[i] = static_cast<char>(~bytes[i]);
        }
        fragment = "";  // any clear refusal; libarchive words it
    }
    SECTION("outer tar cut after signature (no signature.v2, no end marker)") {
        size_t cut = tar.find("signature.v2");
        REQUIRE(cut != std::string::npos);
        bytes = forge_gzip(tar.substr(0, cut), 9);
        fragment = "";
    }
    expect_reject(write_raw(bytes), fragment);
}

TEST_CASE_METHOD(Hostile0001, "hostile: gzip framing variants a reader must accept", "[hostile]") {
    std::string tar = forge_tar(outer);
    std::string bytes;
    SECTION("two concatenated gzip members") {
        bytes = forge_gzip(tar.substr(0, 5000), 9) + forge_gzip(tar.substr(5000), 1);
    }
    SECTION("stored (level 0)") {
        bytes = forge_gzip(tar, 0);
    }
    SECTION("extra zero records after the outer end marker") {
        bytes = forge_gzip(tar + std::string(20480, '\0'), 9);
    }
    expect_accept(write_raw(bytes));
}

TEST_CASE_METHOD(Hostile0001, "hostile: a patch path that is not a regular file", "[hostile]") {
    fs::path path = dir / (ID1 + ".patch");
    fs::create_directory(path);
    REQUIRE_THROWS_MATCHES(
        read(path), core::PatchFileError,
        MessageContains(path.string() + ": ", "not a regular file"));
    CHECK_THROWS_AS(read(dir / "missing.patch"), core::Error);
}

TEST_CASE_METHOD(
    Hostile0001, "hostile: structural checks do not depend on signature checking", "[hostile]") {
    // verify_signature = false is the re-signing path: it must still refuse hostile content.
    software[0].name = "../x.rpm";
    set_software(software);
    SECTION("signed by an untrusted key") {
        sign(untrusted_key_pem());
    }
    SECTION("no signature.v2 at all") {
        drop("signature.v2");
        sign_md5();
    }
    fs::path path = write();
    patching::rpm::RpmHeaderInspector inspector;
    core::ReadOptions options;
    options.inspector = &inspector;
    options.verify_signature = false;
    REQUIRE_THROWS_MATCHES(
        core::read_patch(path, fixture_trust(), options), core::PatchFileError,
        MessageContains(path.string() + ": ", TRAVERSAL));
    expect_only(path);
}

TEST_CASE_METHOD(
    Hostile0001, "hostile: the MD5 check still applies without signature checking", "[hostile]") {
    edit_metadata("<status>DEV</status>", "<status>REL</status>");
    fs::path path = write();
    patching::rpm::RpmHeaderInspector inspector;
    core::ReadOptions options;
    options.inspector = &inspector;
    options.verify_signature = false;
    REQUIRE_THROWS_MATCHES(
        core::read_patch(path, fixture_trust(), options), core::PatchFileError,
        MessageContains(path.string() + ": ", "integrity check failed"));
}

// =============================================================================================
// Resource limits and decompression bombs

TEST_CASE_METHOD(Hostile0001, "hostile: max_patch_bytes on a good patch", "[hostile]") {
    fs::path path = write();
    core::ReadLimits limits;
    limits.max_patch_bytes = 16U << 10U;
    expect_reject(path, "expands to more than 16384 bytes", limits);
    limits.max_patch_bytes = 1U << 20U;  // the patch is ~40 KiB uncompressed: fine
    expect_accept(path, limits);
}

TEST_CASE_METHOD(
    Hostile0001, "hostile: a 2 GiB decompression bomb is refused quickly", "[hostile]") {
    const std::uint64_t bomb = 2ULL << 30U;
    // metadata.tar as a normal first member, then software.tar declaring 2 GiB of zeros.
    std::string head =
        forge_raw_entry(raw("metadata.tar", member("metadata.tar").size()), member("metadata.tar"));
    head += forge_raw_entry(raw("software.tar", bomb));
    fs::path path = dir / (ID1 + ".patch");
    forge_gzip_with_zeros(path, head, bomb + 1024, 9);
    CHECK(fs::file_size(path) < (bomb / 500));

    core::ReadLimits limits;
    std::string fragment = "decompression bomb";
    SECTION("compression ratio guard (default limits)") {
        limits.ratio_grace = 64U << 20U;
        fragment = "compression ratio exceeds 200:1";
    }
    SECTION("max_patch_bytes guard") {
        limits.max_compression_ratio = 1e9;
        limits.max_patch_bytes = 1U << 20U;
        fragment = "expands to more than 1048576 bytes";
    }
    auto start = std::chrono::steady_clock::now();
    expect_reject(path, fragment, limits);
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(seconds < 10.0);
    REQUIRE_THROWS_WITH(read(path, limits), Catch::Contains("decompression bomb"));
}

TEST_CASE_METHOD(
    Hostile0001, "hostile: a huge declared metadata.tar is refused before reading", "[hostile]") {
    const std::uint64_t big = 2ULL << 30U;
    std::string head = forge_raw_entry(raw("metadata.tar", big));
    fs::path path = dir / (ID1 + ".patch");
    forge_gzip_with_zeros(path, head, 1U << 20U, 9);  // the data is not even there
    auto start = std::chrono::steady_clock::now();
    expect_reject(path, "metadata.tar is 2147483648 bytes, more than the limit of 16777216");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
}

TEST_CASE_METHOD(Hostile0001, "hostile: a size field that lies (truncated member)", "[hostile]") {
    // software.tar claims 1 MiB but the archive ends after 20 KiB.
    std::string body =
        forge_raw_entry(raw("metadata.tar", member("metadata.tar").size()), member("metadata.tar"));
    body += forge_raw_entry(raw("software.tar", 1U << 20U), member("software.tar"));
    expect_reject(write_raw(forge_gzip(body, 9)), "truncated");
}
