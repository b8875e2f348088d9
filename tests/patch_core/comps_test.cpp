// SPDX-License-Identifier: Apache-2.0
#include <patch_core/comps.hpp>

#include <catch2/catch.hpp>

using namespace patching::core;

namespace {

PatchInfo comps_patch(
    const std::string& id, RepoState repostate,
    std::map<std::string, std::vector<std::string>> personalities,
    const std::string& sw_version = "22.12") {
    PatchInfo p;
    p.id = id;
    p.sw_version = sw_version;
    p.repostate = repostate;
    p.personalities = std::move(personalities);
    return p;
}

}  // namespace

TEST_CASE("comps.xml matches the reference byte for byte", "[comps]") {
    std::map<std::string, PatchInfo> patches;
    patches["P1"] =
        comps_patch("P1", RepoState::APPLIED, {{"worker", {"pkgA"}}, {"storage", {"pkgA"}}});
    patches["P2"] = comps_patch(
        "P2", RepoState::COMMITTED, {{"worker", {"pkgB", "pkg&<x>\"", "pkgB"}}});
    patches["P3"] = comps_patch("P3", RepoState::AVAILABLE, {{"controller", {"pkgC"}}});
    patches["P4"] = comps_patch("P4", RepoState::APPLIED, {{"compute", {"pkgZ"}}}, "21.12");
    patches["P5"] = comps_patch("P5", RepoState::APPLIED, {{"lonely", {}}});

    // Produced by the reference's gen_release_groups_xml code (ElementTree + minidom).
    const std::string expected =
        "<?xml version=\"1.0\" ?>\n"
        "<comps>\n"
        "  <group>\n"
        "    <id>updates-controller</id>\n"
        "    <default>false</default>\n"
        "    <uservisible>true</uservisible>\n"
        "    <display_order>1024</display_order>\n"
        "    <name>updates-controller</name>\n"
        "    <description>Patches for controller</description>\n"
        "    <packagelist/>\n"
        "  </group>\n"
        "  <group>\n"
        "    <id>updates-storage</id>\n"
        "    <default>false</default>\n"
        "    <uservisible>true</uservisible>\n"
        "    <display_order>1024</display_order>\n"
        "    <name>updates-storage</name>\n"
        "    <description>Patches for storage</description>\n"
        "    <packagelist>\n"
        "      <packagereq type=\"mandatory\">pkgA</packagereq>\n"
        "    </packagelist>\n"
        "  </group>\n"
        "  <group>\n"
        "    <id>updates-worker</id>\n"
        "    <default>false</default>\n"
        "    <uservisible>true</uservisible>\n"
        "    <display_order>1024</display_order>\n"
        "    <name>updates-worker</name>\n"
        "    <description>Patches for worker</description>\n"
        "    <packagelist>\n"
        "      <packagereq type=\"mandatory\">pkgA</packagereq>\n"
        "      <packagereq type=\"mandatory\">pkg&amp;&lt;x&gt;&quot;</packagereq>\n"
        "      <packagereq type=\"mandatory\">pkgB</packagereq>\n"
        "    </packagelist>\n"
        "  </group>\n"
        "</comps>\n";
    CHECK(make_comps_xml(patches, "22.12") == expected);
}

TEST_CASE("comps.xml repeats a package listed by several patches", "[comps]") {
    std::map<std::string, PatchInfo> patches;
    patches["B"] = comps_patch("B", RepoState::APPLIED, {{"worker", {"pkgA"}}});
    patches["A"] = comps_patch("A", RepoState::APPLIED, {{"worker", {"pkgZ", "pkgA"}}});
    CHECK(make_comps_xml(patches, "22.12") ==
          "<?xml version=\"1.0\" ?>\n"
          "<comps>\n"
          "  <group>\n"
          "    <id>updates-worker</id>\n"
          "    <default>false</default>\n"
          "    <uservisible>true</uservisible>\n"
          "    <display_order>1024</display_order>\n"
          "    <name>updates-worker</name>\n"
          "    <description>Patches for worker</description>\n"
          "    <packagelist>\n"
          "      <packagereq type=\"mandatory\">pkgA</packagereq>\n"
          "      <packagereq type=\"mandatory\">pkgZ</packagereq>\n"
          "      <packagereq type=\"mandatory\">pkgA</packagereq>\n"
          "    </packagelist>\n"
          "  </group>\n"
          "</comps>\n");
}

TEST_CASE("comps.xml without groups", "[comps]") {
    std::map<std::string, PatchInfo> patches;
    CHECK(make_comps_xml(patches, "22.12") == "<?xml version=\"1.0\" ?>\n<comps/>\n");
    patches["P4"] = comps_patch("P4", RepoState::APPLIED, {{"worker", {"pkgZ"}}}, "21.12");
    patches["P5"] = comps_patch("P5", RepoState::APPLIED, {{"worker", {}}});
    CHECK(make_comps_xml(patches, "22.12") == "<?xml version=\"1.0\" ?>\n<comps/>\n");
}

TEST_CASE("the boot helper's empty comps.xml", "[comps]") {
    CHECK(boot_comps_xml() == "<comps>\n</comps>\n\n");
}
