// SPDX-License-Identifier: Apache-2.0
#include <patch_core/errors.hpp>
#include <patch_core/metadata.hpp>
#include <patch_core/patch_id.hpp>

#include "text.hpp"

#include <pugixml.hpp>

#include <algorithm>
#include <set>

namespace patching::core {

namespace {

using detail::append_xml_escaped;

void append_text_element(
    std::string& out, int depth, std::string_view tag, std::string_view text) {
    out.append(static_cast<size_t>(depth) * 2, ' ');
    out += '<';
    out += tag;
    if (text.empty()) {
        out += "/>\n";
        return;
    }
    out += '>';
    append_xml_escaped(out, text);
    out += "</";
    out += tag;
    out += ">\n";
}

void append_list_element(
    std::string& out, std::string_view tag, std::string_view item_tag,
    std::vector<std::string> items) {
    if (items.empty()) {
        append_text_element(out, 1, tag, "");
        return;
    }
    std::sort(items.begin(), items.end());
    out += "  <";
    out += tag;
    out += ">\n";
    for (const auto& item : items) {
        append_text_element(out, 2, item_tag, item);
    }
    out += "  </";
    out += tag;
    out += ">\n";
}

}  // namespace

std::optional<std::string> metadata_text_problem(std::string_view text) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = p + text.size();
    while (p < end) {
        unsigned char c = *p;
        int extra = 0;
        if (c < 0x80) {
            if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
                return "contains a control character (byte " + std::to_string(c) + "); only tab and newline are allowed";
            }
        } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
            extra = 1;
            // U+0080..U+009F (C1 controls, CSI among them) are control characters too.
            if (c == 0xC2 && p + 1 < end && p[1] < 0xA0) {
                static const char hex[] = "0123456789ABCDEF";
                return std::string("contains a control character (U+00") + hex[p[1] >> 4U] + hex[p[1] & 0xFU] +
                       "); only tab and newline are allowed";
            }
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2;
        } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
            extra = 3;
        } else {
            return std::string("is not valid UTF-8");
        }
        ++p;
        for (int i = 0; i < extra; ++i, ++p) {
            if (p >= end || (*p & 0xC0) != 0x80) {
                return std::string("is not valid UTF-8");
            }
        }
    }
    return std::nullopt;
}

std::string to_metadata_xml(const PatchMetadata& m) {
    std::string out = "<?xml version=\"1.0\" ?>\n<patch>\n";
    append_text_element(out, 1, "id", m.id);
    append_text_element(out, 1, "sw_version", m.sw_version);
    append_text_element(out, 1, "summary", m.summary.value_or(""));
    append_text_element(out, 1, "description", m.description.value_or(""));
    append_text_element(out, 1, "install_instructions", m.install_instructions.value_or(""));
    append_text_element(out, 1, "warnings", m.warnings.value_or(""));
    append_text_element(out, 1, "status", m.status.value_or(""));
    append_text_element(out, 1, "unremovable", m.unremovable.value_or(""));
    append_text_element(out, 1, "reboot_required", m.reboot_required.value_or(""));
    append_text_element(
        out, 1, "apply_active_release_only", m.apply_active_release_only.value_or(""));
    // std::map iterates sorted by type, as the reference sorts personalities.
    for (const auto& [type, packages] : m.personalities) {
        if (packages.empty()) {
            continue;
        }
        out += "  <personality type=\"";
        append_xml_escaped(out, type);
        out += "\">\n";
        std::vector<std::string> sorted = packages;
        std::sort(sorted.begin(), sorted.end());
        for (const auto& pkg : sorted) {
            append_text_element(out, 2, "package", pkg);
        }
        out += "  </personality>\n";
    }
    append_list_element(out, "contents", "rpm", m.contents);
    append_list_element(out, "requires", "req_patch_id", m.required_patches);
    append_list_element(out, "semantics", "action", m.semantics);
    out += "</patch>\n";
    return out;
}

namespace {

// Undefined entity references would be silently kept as text by pugixml; a well-formed
// document can only contain the five predefined ones and character references.
std::optional<std::string> bad_entity_reference(std::string_view xml) {
    for (size_t pos = xml.find('&'); pos != std::string_view::npos; pos = xml.find('&', pos + 1)) {
        std::string_view rest = xml.substr(pos + 1);
        static constexpr std::string_view predefined[] = {"amp;", "lt;", "gt;", "quot;", "apos;"};
        bool ok = std::any_of(std::begin(predefined), std::end(predefined), [&](auto p) {
            return rest.substr(0, p.size()) == p;
        });
        if (!ok && !rest.empty() && rest[0] == '#') {
            size_t end = rest.find(';');
            ok = end != std::string_view::npos && end > 1 && end < 12;
        }
        if (!ok) {
            return std::string(rest.substr(0, std::min<size_t>(rest.size(), 16)));
        }
    }
    return std::nullopt;
}

class MetadataParser {
public:
    MetadataParser(const std::string& source, const MetadataLimits& limits)
        : source_(source), limits_(limits) {}

    [[noreturn]] void fail(const std::string& what) const {
        throw MetadataError(source_ + ": metadata.xml: " + escape_unprintable(what));
    }

    std::optional<std::string> scalar(pugi::xml_node root, const char* tag) {
        pugi::xml_node node = root.child(tag);
        if (!node) {
            return std::nullopt;
        }
        if (node.next_sibling(tag)) {
            fail(std::string("element <") + tag + "> appears more than once");
        }
        if (node.first_child() && node.first_child().type() == pugi::node_element) {
            fail(std::string("element <") + tag + "> must hold text, not elements");
        }
        return std::string(node.text().get());
    }

    std::vector<std::string> list(pugi::xml_node root, const char* tag, const char* item) {
        std::vector<std::string> out;
        pugi::xml_node node = root.child(tag);
        if (!node) {
            return out;
        }
        if (node.next_sibling(tag)) {
            fail(std::string("element <") + tag + "> appears more than once");
        }
        for (pugi::xml_node child : node.children(item)) {
            if (out.size() >= limits_.max_list_entries) {
                fail(std::string("more than ") + std::to_string(limits_.max_list_entries) +
                     " <" + item + "> entries");
            }
            out.emplace_back(child.text().get());
        }
        return out;
    }

    PatchMetadata parse(std::string_view xml) {
        if (xml.size() > limits_.max_bytes) {
            fail("is " + std::to_string(xml.size()) + " bytes, more than the limit of " +
                 std::to_string(limits_.max_bytes));
        }
        pugi::xml_document doc;
        unsigned options = pugi::parse_default | pugi::parse_doctype | pugi::parse_pi;
        pugi::xml_parse_result result =
            doc.load_buffer(xml.data(), xml.size(), options, pugi::encoding_utf8);
        if (!result) {
            fail(std::string("not well-formed XML: ") + result.description() + " at byte " +
                 std::to_string(result.offset));
        }
        for (pugi::xml_node node : doc.children()) {
            if (node.type() == pugi::node_doctype) {
                fail("DOCTYPE declarations are not allowed (entity expansion risk)");
            }
        }
        if (auto bad = bad_entity_reference(xml)) {
            fail("undefined entity reference &" + *bad);
        }
        pugi::xml_node root = doc.document_element();
        if (std::string_view(root.name()) != "patch") {
            fail(std::string("root element is <") + root.name() + ">, expected <patch>");
        }

        PatchMetadata m;
        auto id = scalar(root, "id");
        if (!id) {
            fail("missing required element <id>");
        }
        if (auto problem = patch_id_problem(*id)) {
            fail("invalid <id> \"" + *id + "\": " + *problem);
        }
        m.id = *id;
        m.sw_version = scalar(root, "sw_version").value_or("unknown");
        if (auto problem = release_problem(m.sw_version)) {
            fail("invalid <sw_version> \"" + m.sw_version + "\": " + *problem);
        }
        m.summary = scalar(root, "summary");
        m.description = scalar(root, "description");
        m.install_instructions = scalar(root, "install_instructions");
        m.warnings = scalar(root, "warnings");
        m.status = scalar(root, "status");
        m.unremovable = scalar(root, "unremovable");
        m.reboot_required = scalar(root, "reboot_required");
        m.apply_active_release_only = scalar(root, "apply_active_release_only");
        // The text rules patch-build applies to what it writes.
        for (const auto& [name, value] : {std::pair{"summary", &m.summary}, std::pair{"description", &m.description},
                                          std::pair{"install_instructions", &m.install_instructions},
                                          std::pair{"warnings", &m.warnings}, std::pair{"status", &m.status}}) {
            if (*value) {
                if (auto problem = metadata_text_problem(**value)) {
                    fail(std::string("<") + name + "> " + *problem);
                }
            }
        }

        for (pugi::xml_node node : root.children("personality")) {
            pugi::xml_attribute type = node.attribute("type");
            if (!type || std::string_view(type.value()).empty()) {
                fail("<personality> without a type attribute");
            }
            auto& packages = m.personalities[type.value()];
            for (pugi::xml_node pkg : node.children("package")) {
                packages.emplace_back(pkg.text().get());
            }
        }
        m.contents = list(root, "contents", "rpm");
        std::set<std::string_view> seen;
        for (const auto& rpm : m.contents) {
            if (!is_safe_basename(rpm) || !parse_rpm_filename(rpm)) {
                fail("<contents> entry \"" + rpm + "\" is not an RPM file name (N-V-R.A.rpm)");
            }
            if (!seen.insert(rpm).second) {
                fail("<contents> lists \"" + rpm + "\" twice");
            }
        }
        m.required_patches = list(root, "requires", "req_patch_id");
        for (const auto& req : m.required_patches) {
            if (auto problem = patch_id_problem(req)) {
                fail("invalid <req_patch_id> \"" + req + "\": " + *problem);
            }
        }
        m.semantics = list(root, "semantics", "action");
        for (const auto& action : m.semantics) {
            if (action != "pre-apply" && action != "pre-remove") {
                fail("unknown semantic action \"" + action + "\" (pre-apply or pre-remove)");
            }
        }
        return m;
    }

private:
    const std::string& source_;
    const MetadataLimits& limits_;
};

}  // namespace

PatchMetadata parse_metadata_xml(
    std::string_view xml, const std::string& source, const MetadataLimits& limits) {
    return MetadataParser(source, limits).parse(xml);
}

}  // namespace patching::core
