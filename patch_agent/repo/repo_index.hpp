// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "net/http_client.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace patching::agent {


/// One binary package of a release's repository (primary.xml <package type="rpm">).
struct RepoPackage {
    std::string name;
    std::string epoch;  ///< Empty when the epoch is 0 or absent.
    std::string version;
    std::string release;
    std::string arch;
    std::string location;       ///< <location href>, relative to the repository base URL.
    std::string checksum_type;  ///< "sha256" (createrepo_c's default), "sha512", "sha1" or "md5".
    std::string checksum;       ///< Lower-case hex digest of the whole file.
    std::uint64_t size = 0;     ///< <size package>.

    /// "[E:]V-R".
    std::string evr() const { return (epoch.empty() ? "" : epoch + ":") + version + "-" + release; }
    /// "N-[E:]V-R.A", for messages.
    std::string nevra() const { return name + "-" + evr() + "." + arch; }
};

/// What the agent knows of the repository the controller publishes for its release
/// (`<base_url>/repodata/repomd.xml`, primary, and the comps group file).
struct RepoIndex {
    std::string revision;               ///< repomd.xml <revision>; changes with every publish.
    std::vector<RepoPackage> packages;  ///< Source packages left out.
    /// comps group id (e.g. "updates-controller-worker") -> package names, in file order.
    std::map<std::string, std::vector<std::string>> groups;
    /// repomd.xml's checksums of the primary and group files this index was read from ("" when
    /// the groups came from a plain comps.xml): equal checksums mean an unchanged index.
    std::string primary_checksum;
    std::string group_checksum;
};

/// Limits that keep a hostile or broken repository from exhausting the host.
struct RepoLimits {
    /// Size of repomd.xml, of each repodata file as fetched, and of primary/comps uncompressed.
    /// In-memory fetches are also bounded by the HttpClient's max_response_bytes.
    std::uint64_t max_metadata_bytes = 256ULL << 20U;
    std::size_t max_packages = 200000;
    std::chrono::milliseconds request_timeout{120000};  ///< Per fetched file.
};

/// Location and checksum of one repodata file named in repomd.xml.
struct RepomdEntry {
    std::string location;
    std::string checksum_type;
    std::string checksum;
};

struct Repomd {
    std::string revision;
    std::map<std::string, RepomdEntry> data;  ///< type ("primary", "group", ...) -> entry.
};

/// Parsers (pugixml). Each throws core::Error naming `label` (a URL or file) and what is wrong.
/// Elements are matched on their local names, so namespace prefixes do not matter. Locations
/// must be relative paths inside the repository (no "..", no absolute path or URL, no xml:base).
/// Checksum types are lower-cased, with the old yum name "sha" read as "sha1"; digests are
/// lower-cased hex.
Repomd parse_repomd(std::string_view xml, const std::string& label);
/// Packages of <package type="rpm">, in file order; source packages (arch "src"/"nosrc") left
/// out. Throws when more than limits.max_packages binary packages are listed.
std::vector<RepoPackage> parse_primary(
    std::string_view xml, const std::string& label, const RepoLimits& limits = {});
/// Every <group>'s <packagelist><packagereq> names, whatever their type (mandatory, default,
/// optional, conditional), as the reference's packages_iter() took them; a name listed twice in
/// one group (the reference's comps repeats names) is kept once.
std::map<std::string, std::vector<std::string>> parse_comps(
    std::string_view xml, const std::string& label);

/// Fetches repomd.xml, then primary (gunzipped if the name ends in .gz, checksum verified
/// against repomd) and the group file (repomd's "group" entry if any, else its "group_gz", else
/// `<base>/comps.xml`; a 404 there means no groups). Repodata checksums must be sha256 (what
/// createrepo_c writes by default). Throws core::Error naming the URL on any failure (HTTP
/// status, checksum mismatch, unsupported compression, parse error, limits).
RepoIndex fetch_repo_index(
    HttpClient& http, const std::string& base_url, const RepoLimits& limits = {});
/// The same, but when repomd.xml names the same primary and group files as `previous` (same
/// checksums), returns `previous` without fetching or parsing them again: a query then costs
/// one small GET.
RepoIndex fetch_repo_index(HttpClient& http, const std::string& base_url, const RepoLimits& limits,
                           const RepoIndex* previous);

}  // namespace patching::agent
