// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <patch_core/patch_state.hpp>

#include <map>
#include <string>
#include <string_view>

namespace patching::core {

/// The comps.xml of one release's patch repo, byte for byte as the reference's
/// gen_release_groups_xml() writes it (spec §3.3; minidom toprettyxml(indent="  ") style: first
/// line `<?xml version="1.0" ?>`, 2-space indent, every line ending in "\n", `& < > "`
/// escaped). Root <comps> holds one <group> per personality type T, sorted, for which some
/// patch of `sw_version` (any repostate) lists at least one package; its children are
/// <id>updates-T</id>, <default>false</default>, <uservisible>true</uservisible>,
/// <display_order>1024</display_order>, <name>updates-T</name>,
/// <description>Patches for T</description> and <packagelist>, which holds
/// `<packagereq type="mandatory">NAME</packagereq>` for the Applied and Committed patches by
/// sorted patch ID, then sorted name. A name repeats when several patches list it, but not
/// within one patch (the reference keyed a patch's names in a dict). An empty list is
/// `<packagelist/>`; no group at all gives `<comps/>`.
std::string make_comps_xml(
    const std::map<std::string, PatchInfo>& patches, std::string_view sw_version);

/// "<comps>\n</comps>\n\n": what the boot-time helper /etc/init.d/sw-patch-controller writes when
/// the running release's repo is missing (spec §3.2). The init-release operation writes
/// make_comps_xml() instead.
std::string boot_comps_xml();

}  // namespace patching::core
