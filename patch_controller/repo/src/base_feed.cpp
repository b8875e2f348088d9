// SPDX-License-Identifier: Apache-2.0
#include <controller/repo/base_feed.hpp>

#include <patch_core/errors.hpp>
#include <patch_core/evr.hpp>
#include <patch_core/fs.hpp>
#include <patch_core/patch_id.hpp>
#include <patch_core/rpm/package.hpp>

#include <sys/stat.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <system_error>

namespace patching::controller {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int CACHE_FORMAT = 1;
constexpr std::size_t MAX_CACHE_BYTES = 256U << 20U;

int evr_compare(const BasePackage& a, const BasePackage& b) {
    return core::label_compare({a.epoch, a.version, a.release}, {b.epoch, b.version, b.release});
}

}  // namespace

BaseFeed::BaseFeed(fs::path feed_root, fs::path cache_dir, std::string release)
    : feed_root_(std::move(feed_root)),
      cache_dir_(std::move(cache_dir)),
      release_(std::move(release)) {
    if (auto problem = core::release_problem(release_)) {
        throw core::Error(
            "Invalid release '" + core::escape_unprintable(release_) + "': " + *problem);
    }
}

bool BaseFeed::exists(const fs::path& feed_root, const std::string& release) {
    if (core::release_problem(release)) {
        return false;
    }
    std::error_code ec;
    return fs::is_directory(feed_root / ("rel-" + release), ec);
}

fs::path BaseFeed::feed_dir() const {
    return feed_root_ / ("rel-" + release_);
}

fs::path BaseFeed::cache_file() const {
    return cache_dir_ / ("base-feed-" + release_ + ".json");
}

void BaseFeed::load_cache() {
    cache_loaded_ = true;
    const fs::path file = cache_file();
    std::string text;
    try {
        text = core::read_small_file(file, MAX_CACHE_BYTES);
    } catch (const core::Error&) {
        return;  // no cache (or unreadable): every header is read once and the cache rewritten
    }
    // A damaged or foreign cache is only a lost optimisation: start afresh.
    try {
        const json doc = json::parse(text);
        if (doc.at("format").get<int>() != CACHE_FORMAT ||
            doc.at("release").get<std::string>() != release_) {
            return;
        }
        Entries loaded;
        for (const auto& [path, item] : doc.at("files").items()) {
            Entry e;
            e.size = item.at("size").get<std::uint64_t>();
            e.mtime_ns = item.at("mtime_ns").get<std::int64_t>();
            if (item.contains("error")) {
                e.error = item.at("error").get<std::string>();
            } else {
                e.readable = true;
                e.is_source = item.value("source", false);
                e.name = item.at("name").get<std::string>();
                e.epoch = item.at("epoch").get<std::string>();
                e.version = item.at("version").get<std::string>();
                e.release = item.at("release").get<std::string>();
                e.arch = item.at("arch").get<std::string>();
            }
            loaded.emplace(path, std::move(e));
        }
        entries_ = std::move(loaded);
    } catch (const json::exception&) {
        entries_.clear();
    }
}

void BaseFeed::save_cache() const {
    json files = json::object();
    for (const auto& [path, e] : entries_) {
        json item = {{"size", e.size}, {"mtime_ns", e.mtime_ns}};
        if (e.readable) {
            item["name"] = e.name;
            item["epoch"] = e.epoch;
            item["version"] = e.version;
            item["release"] = e.release;
            item["arch"] = e.arch;
            if (e.is_source) {
                item["source"] = true;
            }
        } else {
            item["error"] = e.error;
        }
        files[path] = std::move(item);
    }
    const json doc = {{"format", CACHE_FORMAT}, {"release", release_}, {"files", std::move(files)}};
    std::error_code ec;
    fs::create_directories(cache_dir_, ec);
    if (ec) {
        throw core::SystemError(ec.value(), "cannot create the cache directory", cache_dir_);
    }
    // Replacement characters instead of an exception: file names need not be UTF-8.
    core::write_file_atomically(
        cache_file(), doc.dump(1, ' ', false, json::error_handler_t::replace) + "\n");
}

FeedRefreshStats BaseFeed::refresh() {
    if (!cache_loaded_) {
        load_cache();
    }
    FeedRefreshStats stats;
    const fs::path dir = feed_dir();
    if (!exists()) {
        entries_.clear();
        cache_loaded_ = false;  // re-read the kept cache file when the feed comes back
        rebuild_index();
        return stats;
    }

    Entries fresh;
    bool changed = false;
    std::error_code ec;
    fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        const fs::path& path = it->path();
        if (path.extension() != ".rpm") {
            continue;
        }
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) {
            if (errno == ENOENT) {
                continue;  // removed while we walked
            }
            throw core::SystemError(errno, "cannot stat", path);
        }
        if (!S_ISREG(st.st_mode)) {
            continue;
        }
        ++stats.files;
        std::string key = path.lexically_relative(dir).generic_string();
        auto old = entries_.find(key);
        if (old != entries_.end() && old->second.size == static_cast<std::uint64_t>(st.st_size) &&
            old->second.mtime_ns == core::mtime_ns(st)) {
            ++stats.reused;
            fresh.emplace(std::move(key), std::move(old->second));
            continue;
        }
        Entry e;
        e.size = static_cast<std::uint64_t>(st.st_size);
        e.mtime_ns = core::mtime_ns(st);
        try {
            rpm::PackageInfo info = rpm::read_package_file(path);
            e.readable = true;
            e.is_source = info.is_source;
            e.name = std::move(info.name);
            e.epoch = std::move(info.epoch);
            e.version = std::move(info.version);
            e.release = std::move(info.release);
            e.arch = std::move(info.arch);
        } catch (const rpm::RpmError& err) {
            e.error = err.what();
        }
        ++stats.headers_read;
        changed = true;
        fresh.emplace(std::move(key), std::move(e));
    }
    if (ec) {
        throw core::SystemError(ec.value(), "cannot list the base feed", dir);
    }
    changed = changed || fresh.size() != entries_.size() || !fs::exists(cache_file());
    entries_ = std::move(fresh);
    total_headers_read_ += stats.headers_read;
    if (changed) {
        save_cache();
    }
    rebuild_index();
    stats.unreadable = unreadable_.size();
    return stats;
}

void BaseFeed::rebuild_index() {
    packages_.clear();
    index_.clear();
    unreadable_.clear();
    const fs::path dir = feed_dir();
    for (const auto& [key, e] : entries_) {
        if (!e.readable) {
            unreadable_.emplace_back(dir / key, e.error);
            continue;
        }
        if (e.is_source) {
            continue;
        }
        packages_.push_back(BasePackage{e.name, e.epoch, e.version, e.release, e.arch, dir / key});
    }
    for (std::size_t i = 0; i < packages_.size(); ++i) {
        auto [pos, inserted] = index_.try_emplace({packages_[i].name, packages_[i].arch}, i);
        if (!inserted && evr_compare(packages_[i], packages_[pos->second]) > 0) {
            pos->second = i;
        }
    }
}

const BasePackage* BaseFeed::lookup(std::string_view name, std::string_view arch) const {
    auto it = index_.find({std::string(name), std::string(arch)});
    return it == index_.end() ? nullptr : &packages_[it->second];
}

}  // namespace patching::controller
