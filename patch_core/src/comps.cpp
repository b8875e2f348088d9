// SPDX-License-Identifier: Apache-2.0
#include <patch_core/comps.hpp>

#include "text.hpp"

#include <set>
#include <vector>

namespace patching::core {

namespace {

using detail::append_xml_escaped;

void append_text_element(std::string& out, std::string_view tag, std::string_view text) {
    out += "    <";
    out += tag;
    out += '>';
    append_xml_escaped(out, text);
    out += "</";
    out += tag;
    out += ">\n";
}

}  // namespace

std::string make_comps_xml(
    const std::map<std::string, PatchInfo>& patches, std::string_view sw_version) {
    // type -> patch ID -> package names, as the reference's groups[sw_version].
    std::map<std::string, std::map<std::string, std::set<std::string>>> groups;
    for (const auto& [id, patch] : patches) {
        if (patch.sw_version != sw_version) {
            continue;
        }
        for (const auto& [type, packages] : patch.personalities) {
            if (!packages.empty()) {
                groups[type][id].insert(packages.begin(), packages.end());
            }
        }
    }
    std::string out = "<?xml version=\"1.0\" ?>\n";
    if (groups.empty()) {
        return out + "<comps/>\n";
    }
    out += "<comps>\n";
    for (const auto& [type, by_patch] : groups) {
        out += "  <group>\n";
        append_text_element(out, "id", "updates-" + type);
        append_text_element(out, "default", "false");
        append_text_element(out, "uservisible", "true");
        append_text_element(out, "display_order", "1024");
        append_text_element(out, "name", "updates-" + type);
        append_text_element(out, "description", "Patches for " + type);
        std::string list;
        for (const auto& [id, names] : by_patch) {
            const RepoState state = patches.at(id).repostate;
            if (state != RepoState::APPLIED && state != RepoState::COMMITTED) {
                continue;
            }
            for (const auto& name : names) {
                if (name.empty()) {
                    list += "      <packagereq type=\"mandatory\"/>\n";
                    continue;
                }
                list += "      <packagereq type=\"mandatory\">";
                append_xml_escaped(list, name);
                list += "</packagereq>\n";
            }
        }
        if (list.empty()) {
            out += "    <packagelist/>\n";
        } else {
            out += "    <packagelist>\n" + list + "    </packagelist>\n";
        }
        out += "  </group>\n";
    }
    out += "</comps>\n";
    return out;
}

std::string boot_comps_xml() { return "<comps>\n</comps>\n\n"; }

}  // namespace patching::core
