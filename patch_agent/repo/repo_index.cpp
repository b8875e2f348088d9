// SPDX-License-Identifier: Apache-2.0
#include "repo/repo_index.hpp"

#include "net/http_client.hpp"

#include <common/text.hpp>

#include <patch_core/errors.hpp>
#include <signing/digest.hpp>

#include <pugixml.hpp>
#define ZLIB_CONST
#include <zlib.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <utility>

namespace patching::agent {

namespace {

using core::escape_unprintable;

[[noreturn]] void fail(const std::string& label, const std::string& what) {
    throw core::Error(escape_unprintable(label) + ": " + what);
}

std::string_view local_name(const pugi::xml_node& node) {
    std::string_view name = node.name();
    auto colon = name.rfind(':');
    return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

/// First child element with local name `name`; an empty node if there is none.
pugi::xml_node child(const pugi::xml_node& parent, std::string_view name) {
    for (pugi::xml_node node : parent.children()) {
        if (node.type() == pugi::node_element && local_name(node) == name) {
            return node;
        }
    }
    return {};
}

std::string text_of(const pugi::xml_node& node) {
    return std::string(common::trim(node.text().get()));
}

pugi::xml_node load(
    pugi::xml_document& doc,
    std::string_view xml,
    const std::string& label,
    std::string_view root,
    std::string_view what) {
    // pugixml resolves no external entities and no DTD, so hostile XML cannot reach files or
    // expand entities; its size is bounded by the callers.
    pugi::xml_parse_result parsed = doc.load_buffer(xml.data(), xml.size());
    if (!parsed) {
        fail(
            label, std::string(what) + " is not well-formed XML (" + parsed.description() +
                       " at byte " + std::to_string(parsed.offset) +
                       "): the file is truncated or corrupt; check the repository on the server");
    }
    pugi::xml_node element = doc.document_element();
    if (local_name(element) != root) {
        fail(
            label, std::string(what) + " has root element <" + escape_unprintable(element.name()) +
                       ">, expected <" + std::string(root) +
                       ">: check that the URL names a repository");
    }
    return element;
}

/// Printable ASCII without spaces or '/': what rpm accepts in names, versions and arches, and
/// safe to put in file names and messages.
bool is_token(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        auto byte = static_cast<unsigned char>(c);
        return byte > 0x20 && byte < 0x7f && c != '/';
    });
}

/// A location joined to the repository's base URL must stay inside the repository.
void check_location(std::string_view href, const std::string& label, const std::string& what) {
    bool bad = href.empty() || href.front() == '/' || href.find("://") != std::string_view::npos ||
               href.find('\\') != std::string_view::npos ||
               std::any_of(href.begin(), href.end(), [](char c) {
                   auto byte = static_cast<unsigned char>(c);
                   return byte < 0x20 || byte == 0x7f;
               });
    std::string_view rest = href;
    while (!bad && !rest.empty()) {
        auto slash = rest.find('/');
        std::string_view segment = rest.substr(0, slash);
        bad = segment == ".." || segment == ".";
        rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    }
    if (bad) {
        fail(
            label, what + " has location \"" + escape_unprintable(href) +
                       "\", which is not a relative path inside the repository");
    }
}

std::size_t digest_length(const std::string& type) {
    static const std::map<std::string, std::size_t, std::less<>> LENGTHS = {
        {"md5", 32}, {"sha1", 40}, {"sha224", 56}, {"sha256", 64}, {"sha384", 96}, {"sha512", 128}};
    auto it = LENGTHS.find(type);
    return it == LENGTHS.end() ? 0 : it->second;
}

/// Reads a <checksum type="...">hex</checksum> element into normalised (type, digest).
std::pair<std::string, std::string> read_checksum(
    const pugi::xml_node& element, const std::string& label, const std::string& what) {
    if (!element) {
        fail(label, what + " has no <checksum>");
    }
    std::string type = common::ascii_lower(element.attribute("type").as_string());
    if (type == "sha") {
        type = "sha1";  // yum's historical name
    }
    std::string digest = common::ascii_lower(text_of(element));
    std::size_t expected = digest_length(type);
    if (expected == 0) {
        fail(
            label, what + " has checksum type \"" + escape_unprintable(type) +
                       "\", which is not one of md5, sha1, sha224, sha256, sha384, sha512");
    }
    if (digest.size() != expected ||
        digest.find_first_not_of("0123456789abcdef") != std::string::npos) {
        fail(
            label, what + " has a malformed " + type + " checksum \"" +
                       escape_unprintable(digest.substr(0, 200)) + "\"");
    }
    return {type, digest};
}

struct InflateEnd {
    void operator()(z_stream* stream) const noexcept { inflateEnd(stream); }
};

std::string gunzip(std::string_view data, const std::string& label, std::uint64_t max_bytes) {
    z_stream stream{};
    if (inflateInit2(&stream, MAX_WBITS + 16) != Z_OK) {
        fail(label, "cannot initialise zlib (out of memory?)");
    }
    std::unique_ptr<z_stream, InflateEnd> guard(&stream);
    std::string out;
    std::array<unsigned char, 64 * 1024> buffer{};
    std::size_t fed = 0;
    for (;;) {
        if (stream.avail_in == 0 && fed < data.size()) {
            // avail_in is 32 bits wide: feed huge inputs in slices.
            std::size_t slice = std::min<std::size_t>(data.size() - fed, 1U << 30U);
            stream.next_in = reinterpret_cast<const Bytef*>(data.data() + fed);
            stream.avail_in = static_cast<uInt>(slice);
            fed += slice;
        }
        stream.next_out = buffer.data();
        stream.avail_out = static_cast<uInt>(buffer.size());
        int rc = inflate(&stream, Z_NO_FLUSH);
        std::size_t produced = buffer.size() - stream.avail_out;
        if (produced > max_bytes - out.size()) {
            fail(
                label, "uncompressed data is larger than " + std::to_string(max_bytes) +
                           " bytes (the metadata size limit)");
        }
        out.append(reinterpret_cast<const char*>(buffer.data()), produced);
        bool input_done = stream.avail_in == 0 && fed == data.size();
        if (rc == Z_STREAM_END) {
            if (input_done) {
                return out;
            }
            // Concatenated gzip members (pigz, cat a.gz b.gz) decode as one stream.
            inflateReset(&stream);
            continue;
        }
        if (rc == Z_BUF_ERROR && input_done) {
            fail(label, "gzip data is truncated");
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            fail(
                label,
                std::string("gzip data is corrupt (") +
                    (stream.msg != nullptr ? stream.msg : "zlib error " + std::to_string(rc)) +
                    ")");
        }
    }
}

/// `raw` as XML text, by the file name's compression suffix.
std::string decompress(
    std::string raw,
    std::string_view location,
    const std::string& label,
    const RepoLimits& limits) {
    if (location.ends_with(".gz")) {
        return gunzip(raw, label, limits.max_metadata_bytes);
    }
    for (std::string_view suffix : {".zst", ".xz", ".bz2", ".zck"}) {
        if (location.ends_with(suffix)) {
            fail(
                label, "is compressed as " + std::string(suffix) +
                           ", which the agent cannot read; publish the repository with "
                           "createrepo_c --compress-type=gz");
        }
    }
    return raw;
}

void verify_checksum(std::string_view data, const RepomdEntry& entry, const std::string& url) {
    if (entry.checksum_type != "sha256") {
        fail(
            url, "repomd.xml gives a " + entry.checksum_type +
                     " checksum; the agent verifies sha256 only (createrepo_c's default): "
                     "publish with createrepo_c --checksum=sha256");
    }
    signing::Sha256 sha;
    sha.update(std::as_bytes(std::span(data.data(), data.size())));
    std::string actual = signing::to_hex(sha.finish());
    if (actual != entry.checksum) {
        fail(
            url, "checksum mismatch: repomd.xml says sha256 " + entry.checksum + ", the file has " +
                     actual +
                     "; the repository is corrupt or was republished while it was read, "
                     "retry, and if it persists check the repository on the server");
    }
}

/// GETs `url`; nullopt on 404 when `missing_ok`. Bounded by the client's and the repo limits.
std::optional<std::string> fetch(
    HttpClient& http, const std::string& url, const RepoLimits& limits, bool missing_ok) {
    HttpResult result = http.get(url, limits.request_timeout);
    if (result.status == 404 && missing_ok) {
        return std::nullopt;
    }
    if (result.status != 200) {
        fail(
            url, result.status == 404
                     ? "not found (status 404): check that the repository for this release is "
                       "published there"
                     : "HTTP status " + std::to_string(result.status) + ": check the server's log");
    }
    if (result.body.size() > limits.max_metadata_bytes) {
        fail(
            url, "is larger than " + std::to_string(limits.max_metadata_bytes) +
                     " bytes (the metadata size limit)");
    }
    return std::move(result.body);
}

}  // namespace

Repomd parse_repomd(std::string_view xml, const std::string& label) {
    pugi::xml_document doc;
    pugi::xml_node root = load(doc, xml, label, "repomd", "repomd.xml");
    Repomd repomd;
    repomd.revision = text_of(child(root, "revision"));
    for (pugi::xml_node data : root.children()) {
        if (data.type() != pugi::node_element || local_name(data) != "data") {
            continue;
        }
        std::string type = data.attribute("type").as_string();
        std::string what = "repomd.xml entry \"" + escape_unprintable(type) + "\"";
        if (type.empty()) {
            fail(label, "repomd.xml has a <data> element without a type");
        }
        pugi::xml_node location = child(data, "location");
        if (!location.attribute("href")) {
            fail(label, what + " has no <location href>");
        }
        if (location.attribute("xml:base")) {
            fail(label, what + " has a location xml:base, which the agent does not follow");
        }
        RepomdEntry entry;
        entry.location = location.attribute("href").as_string();
        check_location(entry.location, label, what);
        std::tie(entry.checksum_type, entry.checksum) =
            read_checksum(child(data, "checksum"), label, what);
        if (!repomd.data.emplace(type, std::move(entry)).second) {
            fail(label, what + " appears twice");
        }
    }
    return repomd;
}

std::vector<RepoPackage> parse_primary(
    std::string_view xml, const std::string& label, const RepoLimits& limits) {
    pugi::xml_document doc;
    pugi::xml_node root = load(doc, xml, label, "metadata", "primary.xml");
    std::vector<RepoPackage> packages;
    std::size_t index = 0;
    for (pugi::xml_node node : root.children()) {
        if (node.type() != pugi::node_element || local_name(node) != "package") {
            continue;
        }
        ++index;
        if (std::string_view(node.attribute("type").as_string("rpm")) != "rpm") {
            continue;
        }
        RepoPackage package;
        package.name = text_of(child(node, "name"));
        package.arch = text_of(child(node, "arch"));
        std::string what =
            "package #" + std::to_string(index) + " (\"" + escape_unprintable(package.name) + "\")";
        if (!is_token(package.name) || !is_token(package.arch)) {
            fail(label, what + " has a missing or malformed <name> or <arch>");
        }
        if (package.arch == "src" || package.arch == "nosrc") {
            continue;
        }
        if (packages.size() == limits.max_packages) {
            fail(
                label, "lists more than " + std::to_string(limits.max_packages) +
                           " packages (the package limit)");
        }
        pugi::xml_node version = child(node, "version");
        package.epoch = version.attribute("epoch").as_string();
        package.version = version.attribute("ver").as_string();
        package.release = version.attribute("rel").as_string();
        if (!package.epoch.empty() &&
            package.epoch.find_first_not_of("0123456789") != std::string::npos) {
            fail(
                label,
                what + " has a non-numeric epoch \"" + escape_unprintable(package.epoch) + "\"");
        }
        if (package.epoch.find_first_not_of('0') == std::string::npos) {
            package.epoch.clear();
        }
        if (!is_token(package.version) || !is_token(package.release)) {
            fail(label, what + " has a missing or malformed <version ver rel>");
        }
        pugi::xml_node location = child(node, "location");
        if (!location.attribute("href")) {
            fail(label, what + " has no <location href>");
        }
        if (location.attribute("xml:base")) {
            fail(label, what + " has a location xml:base, which the agent does not follow");
        }
        package.location = location.attribute("href").as_string();
        check_location(package.location, label, what);
        std::tie(package.checksum_type, package.checksum) =
            read_checksum(child(node, "checksum"), label, what);
        std::string size = child(node, "size").attribute("package").as_string();
        auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), package.size);
        if (size.empty() || ec != std::errc() || end != size.data() + size.size()) {
            fail(label, what + " has a missing or malformed <size package>");
        }
        packages.push_back(std::move(package));
    }
    return packages;
}

std::map<std::string, std::vector<std::string>> parse_comps(
    std::string_view xml, const std::string& label) {
    pugi::xml_document doc;
    pugi::xml_node root = load(doc, xml, label, "comps", "comps.xml");
    std::map<std::string, std::vector<std::string>> groups;
    for (pugi::xml_node group : root.children()) {
        if (group.type() != pugi::node_element || local_name(group) != "group") {
            continue;
        }
        std::string id = text_of(child(group, "id"));
        if (!is_token(id)) {
            fail(
                label, "comps.xml has a <group> with a missing or malformed <id> \"" +
                           escape_unprintable(id) + "\"");
        }
        // A group defined twice is merged, as dnf merges groups across comps files.
        std::vector<std::string>& names = groups[id];
        std::set<std::string> seen(names.begin(), names.end());
        for (pugi::xml_node req : child(group, "packagelist").children()) {
            if (req.type() != pugi::node_element || local_name(req) != "packagereq") {
                continue;
            }
            std::string name = text_of(req);
            if (!is_token(name)) {
                fail(
                    label, "comps.xml group \"" + id + "\" has a malformed <packagereq> \"" +
                               escape_unprintable(name) + "\"");
            }
            if (seen.insert(name).second) {
                names.push_back(std::move(name));
            }
        }
    }
    return groups;
}

RepoIndex fetch_repo_index(
    HttpClient& http, const std::string& base_url, const RepoLimits& limits) {
    return fetch_repo_index(http, base_url, limits, nullptr);
}

RepoIndex fetch_repo_index(
    HttpClient& http, const std::string& base_url, const RepoLimits& limits, const RepoIndex* previous) {
    std::string base = base_url;
    while (base.ends_with('/')) {
        base.pop_back();
    }
    std::string repomd_url = base + "/repodata/repomd.xml";
    Repomd repomd = parse_repomd(*fetch(http, repomd_url, limits, false), repomd_url);

    RepoIndex index;
    index.revision = repomd.revision;
    auto primary = repomd.data.find("primary");
    if (primary == repomd.data.end()) {
        fail(
            repomd_url, "repomd.xml lists no primary metadata: check the repository on the server");
    }
    auto group_entry = repomd.data.find("group");
    if (group_entry == repomd.data.end()) {
        group_entry = repomd.data.find("group_gz");
    }
    if (previous != nullptr && group_entry != repomd.data.end() && !previous->primary_checksum.empty() &&
        previous->primary_checksum == primary->second.checksum &&
        previous->group_checksum == group_entry->second.checksum) {
        RepoIndex same = *previous;
        same.revision = repomd.revision;
        return same;
    }
    index.primary_checksum = primary->second.checksum;
    std::string primary_url = base + "/" + primary->second.location;
    std::string raw = *fetch(http, primary_url, limits, false);
    verify_checksum(raw, primary->second, primary_url);
    index.packages = parse_primary(
        decompress(std::move(raw), primary->second.location, primary_url, limits), primary_url,
        limits);

    auto group = repomd.data.find("group");
    if (group == repomd.data.end()) {
        group = repomd.data.find("group_gz");
    }
    if (group != repomd.data.end()) {
        index.group_checksum = group->second.checksum;
        std::string group_url = base + "/" + group->second.location;
        std::string group_raw = *fetch(http, group_url, limits, false);
        verify_checksum(group_raw, group->second, group_url);
        index.groups = parse_comps(
            decompress(std::move(group_raw), group->second.location, group_url, limits), group_url);
    } else {
        std::string comps_url = base + "/comps.xml";
        if (auto comps = fetch(http, comps_url, limits, true)) {
            index.groups = parse_comps(*comps, comps_url);
        }
    }
    return index;
}

}  // namespace patching::agent
