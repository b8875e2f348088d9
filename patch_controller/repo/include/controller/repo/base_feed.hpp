// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace patching::controller {

/// One binary RPM of a release's base feed, as its header describes it.
struct BasePackage {
    std::string name;
    std::string epoch;  ///< Empty when the package has no epoch.
    std::string version;
    std::string release;
    std::string arch;
    std::filesystem::path path;  ///< Absolute path of the file in the feed.

    /// "[E:]V-R", as the import check messages print it.
    std::string evr() const { return (epoch.empty() ? "" : epoch + ":") + version + "-" + release; }
};

/// What one BaseFeed::refresh() did, so callers and tests can see the cache at work.
struct FeedRefreshStats {
    std::size_t files = 0;         ///< *.rpm files found in the feed.
    std::size_t headers_read = 0;  ///< Files whose header was read with librpm (new or changed).
    std::size_t reused = 0;        ///< Files whose header came from the cache.
    std::size_t unreadable = 0;    ///< Files that are not valid RPMs (see BaseFeed::unreadable()).
};

/// The base package set of one release: every *.rpm under `<feed_root>/rel-<release>/`, at any
/// depth (the feed keeps them under Packages/**). Used by import to check that a patch's RPMs
/// are newer than the release's own, and by the repository publisher.
///
/// Header data is cached in `<cache_dir>/base-feed-<release>.json`, keyed by the path relative
/// to the feed directory, the size and the modification time in nanoseconds. refresh() only
/// stats the files and reads with librpm the ones that are new or changed, so neither each
/// import nor a controller restart walks the headers of the whole feed again.
///
/// Const members may be called concurrently; refresh() needs exclusive access.
class BaseFeed {
public:
    /// Does no I/O; call refresh() before the first lookup.
    /// @throws core::Error if `release` is not a valid release name.
    BaseFeed(std::filesystem::path feed_root, std::filesystem::path cache_dir, std::string release);

    /// True if `<feed_root>/rel-<release>/` is a directory: the release is installed.
    static bool exists(const std::filesystem::path& feed_root, const std::string& release);
    /// exists() for this feed's release.
    bool exists() const { return exists(feed_root_, release_); }

    /// Brings the index up to date with the feed directory: stats every *.rpm, reads the header
    /// of new or changed files, drops removed ones, and rewrites the cache file only if
    /// something changed. A feed directory that does not exist gives an empty index (the cache
    /// file is kept for when it comes back). Files that are not valid RPMs are listed in
    /// unreadable() and not retried until they change. Source RPMs are ignored.
    /// @throws core::SystemError if the feed cannot be listed or the cache cannot be written.
    FeedRefreshStats refresh();

    /// The base package called `name` for `arch`, or nullptr if the feed has none. When the feed
    /// holds several versions, the highest (rpm version order) is returned. The pointer stays
    /// valid until the next refresh().
    const BasePackage* lookup(std::string_view name, std::string_view arch) const;

    /// Every readable binary RPM of the feed, sorted by path (duplicates of a name included).
    const std::vector<BasePackage>& packages() const { return packages_; }

    /// Files that could not be read as RPMs, with librpm's explanation.
    const std::vector<std::pair<std::filesystem::path, std::string>>& unreadable() const {
        return unreadable_;
    }

    /// Totals since construction: headers read with librpm over every refresh().
    std::size_t total_headers_read() const { return total_headers_read_; }

    const std::string& release() const { return release_; }
    /// `<feed_root>/rel-<release>`.
    std::filesystem::path feed_dir() const;
    /// `<cache_dir>/base-feed-<release>.json`.
    std::filesystem::path cache_file() const;

private:
    struct Entry {
        std::uint64_t size = 0;
        std::int64_t mtime_ns = 0;
        bool readable = false;
        bool is_source = false;
        std::string name;
        std::string epoch;
        std::string version;
        std::string release;
        std::string arch;
        std::string error;  ///< librpm's message when !readable.
    };
    using Entries = std::map<std::string, Entry>;  // key: path relative to feed_dir()

    void load_cache();
    void save_cache() const;
    void rebuild_index();

    std::filesystem::path feed_root_;
    std::filesystem::path cache_dir_;
    std::string release_;
    bool cache_loaded_ = false;
    Entries entries_;
    std::vector<BasePackage> packages_;
    std::map<std::pair<std::string, std::string>, std::size_t> index_;  // -> packages_ position
    std::vector<std::pair<std::filesystem::path, std::string>> unreadable_;
    std::size_t total_headers_read_ = 0;
};

}  // namespace patching::controller
