// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace patching::core {

/// The personalities the reference knows, in its sorted order. `--all-nodes` means all of them.
inline const std::vector<std::string>& known_personalities() {
    static const std::vector<std::string> all = {
        "controller", "controller-worker", "controller-worker-lowlatency",
        "storage",    "worker",            "worker-lowlatency"};
    return all;
}

/// Contents of metadata.xml (spec §1.3). Optional text elements are nullopt when absent, which
/// the reference distinguishes from present-but-empty.
struct PatchMetadata {
    std::string id;
    std::string sw_version;
    std::optional<std::string> summary;
    std::optional<std::string> description;
    std::optional<std::string> install_instructions;
    std::optional<std::string> warnings;
    std::optional<std::string> status;  ///< DEV, REL or OBS in practice; free text.
    std::optional<std::string> unremovable;
    std::optional<std::string> reboot_required;  ///< Raw element text; see is_reboot_required().
    std::optional<std::string> apply_active_release_only;
    /// personality type -> package names (RPM %{NAME}).
    std::map<std::string, std::vector<std::string>> personalities;
    std::vector<std::string> contents;          ///< RPM basenames in software.tar.
    std::vector<std::string> required_patches;  ///< <requires><req_patch_id>.
    std::vector<std::string> semantics;         ///< "pre-apply" / "pre-remove".

    /// Only the exact value "Y" means unremovable (reference rule).
    bool is_unremovable() const { return unremovable.value_or("") == "Y"; }
    /// Only the exact value "N" means in-service; missing or empty means reboot required.
    bool is_reboot_required() const { return reboot_required.value_or("") != "N"; }
    bool is_apply_active_release_only() const {
        return apply_active_release_only.value_or("") == "Y";
    }
    bool operator==(const PatchMetadata&) const = default;
};

/// Serialises metadata exactly as the reference's patch_build writes it (minidom
/// toprettyxml(indent="  ") of the lxml tree): fixed element order, sorted lists, self-closing
/// empty elements, text verbatim with & < > " escaped, every line ending in "\n".
std::string to_metadata_xml(const PatchMetadata& metadata);

/// Why `text` may not be a metadata text field (summary, description, install instructions,
/// warnings, status), or nullopt: it must be valid UTF-8 without control characters other than
/// tab and newline. patch-build refuses to write such text and the reader refuses to accept it,
/// so an escape sequence in a signed patch never reaches an operator's terminal.
std::optional<std::string> metadata_text_problem(std::string_view text);

/// Limits for untrusted metadata.xml.
struct MetadataLimits {
    size_t max_bytes = 4U << 20U;
    size_t max_list_entries = 100000;  ///< per list (contents, packages, requires)
};

/// Parses metadata.xml with the reference's semantics (§1.3 reader column), but refuses what
/// the reference let through: DOCTYPE/entity declarations, undefined entity references, a
/// missing <id>, repeated scalar elements, a personality without type, unparsable RPM names
/// in <contents>, invalid IDs and releases.
/// @throws MetadataError naming the problem; `source` (e.g. the patch file) prefixes it.
PatchMetadata parse_metadata_xml(
    std::string_view xml, const std::string& source, const MetadataLimits& limits = {});

}  // namespace patching::core
