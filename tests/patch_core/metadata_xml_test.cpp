// SPDX-License-Identifier: Apache-2.0
#include <patch_core/errors.hpp>
#include <patch_core/metadata.hpp>

#include <catch2/catch.hpp>

#include "support/patch_forge.hpp"
#include "support/test_support.hpp"

#include <archive.h>
#include <archive_entry.h>

using patching::core::MetadataError;
using patching::core::parse_metadata_xml;
using patching::core::PatchMetadata;
using patching::core::to_metadata_xml;

namespace {

// metadata.xml from a reference-built patch, read through the outer and inner tar.
std::string reference_metadata_xml(const std::string& patch_name) {
    auto outer = patching::test::forge_read_outer(patching::test::fixtures_dir() / "stx" / patch_name);
    for (const auto& m : outer) {
        if (m.name != "metadata.tar") {
            continue;
        }
        struct archive* a = archive_read_new();
        archive_read_support_format_tar(a);
        archive_read_open_memory(a, m.content.data(), m.content.size());
        struct archive_entry* e = nullptr;
        std::string xml;
        if (archive_read_next_header(a, &e) == ARCHIVE_OK) {
            xml.resize(static_cast<size_t>(archive_entry_size(e)));
            archive_read_data(a, xml.data(), xml.size());
        }
        archive_read_free(a);
        return xml;
    }
    FAIL("no metadata.tar in " << patch_name);
    return {};
}

// The verified example of spec §1.3, for --id TEST_PATCH_0001 ... (release 21.12).
const char* const SPEC_EXAMPLE =
    "<?xml version=\"1.0\" ?>\n<patch>\n  <id>TEST_PATCH_0001</id>\n  <sw_version>21.12</sw_version>\n"
    "  <summary>Test summary</summary>\n  <description>Line1\nLine2</description>\n"
    "  <install_instructions/>\n  <warnings/>\n  <status>DEV</status>\n  <unremovable/>\n"
    "  <reboot_required>N</reboot_required>\n  <apply_active_release_only/>\n"
    "  <personality type=\"controller\">\n    <package>pkgA</package>\n  </personality>\n"
    "  <contents>\n    <rpm>pkgA-1.0-r2.tis.x86_64.rpm</rpm>\n    <rpm>pkgB-2.3-5.tis.noarch.rpm</rpm>\n"
    "  </contents>\n  <requires>\n    <req_patch_id>TEST_PATCH_0000</req_patch_id>\n  </requires>\n"
    "  <semantics>\n    <action>pre-apply</action>\n  </semantics>\n</patch>\n";

}  // namespace

TEST_CASE("the writer reproduces the spec's verified example byte for byte", "[core][metadata]") {
    PatchMetadata m;
    m.id = "TEST_PATCH_0001";
    m.sw_version = "21.12";
    m.summary = "Test summary";
    m.description = "Line1\nLine2";
    m.status = "DEV";
    m.reboot_required = "N";
    m.personalities["controller"] = {"pkgA"};
    // Given unsorted on purpose: the writer sorts like the reference.
    m.contents = {"pkgB-2.3-5.tis.noarch.rpm", "pkgA-1.0-r2.tis.x86_64.rpm"};
    m.required_patches = {"TEST_PATCH_0000"};
    m.semantics = {"pre-apply"};
    CHECK(to_metadata_xml(m) == SPEC_EXAMPLE);
}

TEST_CASE("reference metadata round-trips byte for byte", "[core][metadata]") {
    for (const char* name : {"FIX_22.12_PATCH_0001.patch", "FIX_22.12_PATCH_0002.patch", "FIX_22.12_PATCH_0003.patch"}) {
        INFO(name);
        std::string xml = reference_metadata_xml(name);
        REQUIRE(!xml.empty());
        PatchMetadata m = parse_metadata_xml(xml, name);
        CHECK(to_metadata_xml(m) == xml);
    }
}

TEST_CASE("reference fixture metadata parses to the documented values", "[core][metadata]") {
    PatchMetadata m1 = parse_metadata_xml(reference_metadata_xml("FIX_22.12_PATCH_0001.patch"), "0001");
    CHECK(m1.id == "FIX_22.12_PATCH_0001");
    CHECK(m1.sw_version == "22.12");
    CHECK(m1.status == "DEV");
    CHECK_FALSE(m1.is_reboot_required());
    CHECK(m1.personalities.at("controller") == std::vector<std::string>{"fixture-alpha", "fixture-beta"});
    CHECK(m1.personalities.size() == 6);  // beta is for all nodes
    CHECK(m1.contents == std::vector<std::string>{"fixture-alpha-1.0-2.noarch.rpm", "fixture-beta-1.0-2.noarch.rpm"});

    PatchMetadata m2 = parse_metadata_xml(reference_metadata_xml("FIX_22.12_PATCH_0002.patch"), "0002");
    CHECK(m2.is_reboot_required());
    CHECK(m2.status == "REL");
    CHECK(m2.required_patches == std::vector<std::string>{"FIX_22.12_PATCH_0001"});
    CHECK(m2.semantics == std::vector<std::string>{"pre-apply", "pre-remove"});
    CHECK(m2.personalities.at("worker") == std::vector<std::string>{"fixture-delta"});

    PatchMetadata m3 = parse_metadata_xml(reference_metadata_xml("FIX_22.12_PATCH_0003.patch"), "0003");
    CHECK(m3.is_unremovable());
    CHECK(m3.is_apply_active_release_only());
    CHECK(m3.description == "Line one & <two>\nLine \"three\"");
    CHECK(m3.warnings == "Restart alpha after install");
}

TEST_CASE("reader semantics follow the reference", "[core][metadata]") {
    auto parse = [](const std::string& body) {
        return parse_metadata_xml("<?xml version=\"1.0\" ?>\n<patch><id>P_1</id>" + body + "</patch>", "t");
    };
    SECTION("reboot_required: only exact N means in-service") {
        CHECK_FALSE(parse("<reboot_required>N</reboot_required>").is_reboot_required());
        CHECK(parse("<reboot_required>n</reboot_required>").is_reboot_required());
        CHECK(parse("<reboot_required/>").is_reboot_required());
        CHECK(parse("").is_reboot_required());
    }
    SECTION("absent and empty optional fields differ") {
        CHECK_FALSE(parse("").summary.has_value());
        CHECK(parse("<summary/>").summary == std::string());
    }
    SECTION("sw_version defaults to unknown") { CHECK(parse("").sw_version == "unknown"); }
    SECTION("unremovable only for exact Y") {
        CHECK(parse("<unremovable>Y</unremovable>").is_unremovable());
        CHECK_FALSE(parse("<unremovable>yes</unremovable>").is_unremovable());
    }
    SECTION("unknown elements are ignored, as the reference does") {
        CHECK(parse("<future_field>x</future_field>").id == "P_1");
    }
}

TEST_CASE("hostile or malformed metadata is refused with a reason", "[core][metadata]") {
    auto fails_with = [](const std::string& xml, const std::string& fragment) {
        INFO(xml);
        CHECK_THROWS_AS(parse_metadata_xml(xml, "p.patch"), MetadataError);
        CHECK_THROWS_WITH(parse_metadata_xml(xml, "p.patch"), Catch::Contains(fragment));
    };
    fails_with("<patch><id>X</id>", "not well-formed");
    fails_with("<patch/>", "missing required element <id>");
    fails_with("<patch><id>A</id><id>B</id></patch>", "more than once");
    fails_with("<patch><id>../etc</id></patch>", "invalid <id>");
    fails_with("<patch><id>a/b</id></patch>", "invalid <id>");
    fails_with("<other><id>A</id></other>", "root element");
    fails_with("<!DOCTYPE patch [<!ENTITY a \"aaaa\">]><patch><id>A&a;</id></patch>", "DOCTYPE");
    fails_with("<!DOCTYPE patch [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><patch><id>&x;</id></patch>", "DOCTYPE");
    fails_with("<patch><id>A</id><summary>&foo;</summary></patch>", "undefined entity");
    fails_with("<patch><id>A</id><personality><package>p</package></personality></patch>", "without a type");
    fails_with("<patch><id>A</id><contents><rpm>notanrpm</rpm></contents></patch>", "not an RPM file name");
    fails_with("<patch><id>A</id><contents><rpm>../a-1-1.noarch.rpm</rpm></contents></patch>", "not an RPM file name");
    fails_with("<patch><id>A</id><contents><rpm>a-1-1.noarch.rpm</rpm><rpm>a-1-1.noarch.rpm</rpm></contents></patch>",
               "twice");
    fails_with("<patch><id>A</id><semantics><action>post-apply</action></semantics></patch>", "unknown semantic");
    fails_with("<patch><id>A</id><sw_version>1 2</sw_version></patch>", "invalid <sw_version>");
    fails_with("<patch><id>A</id><summary><b>x</b></summary></patch>", "must hold text");
    std::string huge = "<patch><id>A</id><description>" + std::string(5U << 20U, 'x') + "</description></patch>";
    fails_with(huge, "limit");
}

TEST_CASE("metadata text with terminal control characters is refused, as patch-build refuses to write it",
          "[core][metadata][hostile]") {
    auto with_summary = [](const std::string& text) {
        return "<?xml version=\"1.0\" ?>\n<patch><id>P_1</id><summary>" + text + "</summary></patch>";
    };
    // Character references are how XML carries them: pugixml decodes &#x1b; to ESC.
    CHECK_THROWS_WITH(parse_metadata_xml(with_summary("&#x1b;]0;owned&#x7;&#x1b;[2J"), "p.patch"),
                      Catch::Contains("<summary> contains a control character (byte 27)"));
    CHECK_THROWS_WITH(parse_metadata_xml(with_summary("csi \xC2\x9B" "31m"), "p.patch"),
                      Catch::Contains("U+009B"));
    CHECK_THROWS_WITH(parse_metadata_xml(with_summary("\xff\xfe"), "p.patch"), Catch::Contains("not valid UTF-8"));
    const std::string fine = "tab\there, line\nbreak, caf\xC3\xA9 \xE2\x80\x99";
    CHECK(parse_metadata_xml(with_summary(fine), "p.patch").summary == fine);
    CHECK_FALSE(patching::core::metadata_text_problem(fine));
    CHECK(patching::core::metadata_text_problem("\x1b[31m"));
}
