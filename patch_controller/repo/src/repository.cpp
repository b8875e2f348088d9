// SPDX-License-Identifier: Apache-2.0
#include <controller/repo/repository.hpp>

#include <common/subprocess.hpp>
#include <controller/faults/fault_points.hpp>

#include <patch_core/errors.hpp>
#include <patch_core/fs.hpp>
#include <patch_core/patch_id.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>

namespace patching::controller {

namespace subprocess = common::subprocess;

namespace fs = std::filesystem;

namespace {

constexpr std::string_view GEN_PREFIX = ".gen-";
constexpr std::string_view STAMP_FILE = "publish.stamp";
constexpr std::string_view READ_LIST_FILE = "read-pkgs.txt";
constexpr std::string_view LINK_TEMP = ".repodata.lnk-tmp";
constexpr std::string_view LEGACY_ASIDE = ".repodata.legacy-old";
constexpr std::size_t MAX_SMALL_FILE = 64U << 20U;
constexpr std::size_t MAX_ERROR_OUTPUT = 4000;

// Identity of a file in Packages/, as the metadata generation saw it: what createrepo_c
// compares, but with the mtime in nanoseconds. No inode, so a copy (rsync to the mate
// controller) of an unchanged package still counts as unchanged.
struct FileId {
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    bool operator==(const FileId&) const = default;
};
using FileIds = std::map<std::string, FileId>;  // key: "<arch>/<file name>"

FileId file_id(const struct stat& st) {
    return {static_cast<std::uint64_t>(st.st_size), core::mtime_ns(st)};
}

std::optional<struct stat> lstat_path(const fs::path& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        return st;
    }
    if (errno == ENOENT || errno == ENOTDIR) {
        return std::nullopt;
    }
    throw core::SystemError(errno, "cannot stat", path);
}

void fsync_path(const fs::path& path, bool directory) {
    core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0)));
    if (!fd) {
        throw core::SystemError(errno, "cannot open", path);
    }
    if (::fsync(fd.get()) != 0) {
        throw core::SystemError(errno, "cannot flush", path);
    }
}

void make_directory(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        throw core::SystemError(ec.value(), "cannot create", dir);
    }
}

void remove_tree(const fs::path& path) {
    std::error_code ec;
    fs::remove_all(path, ec);
    if (ec) {
        throw core::SystemError(ec.value(), "cannot remove", path);
    }
}

std::vector<fs::path> list_directory(const fs::path& dir) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
        out.push_back(it->path());
    }
    if (ec) {
        throw core::SystemError(ec.value(), "cannot list", dir);
    }
    return out;
}

// Holds an exclusive flock for the lifetime of the object.
class ReleaseLock {
public:
    explicit ReleaseLock(const fs::path& file) {
        make_directory(file.parent_path());
        fd_ = core::UniqueFd(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
        if (!fd_) {
            throw core::SystemError(errno, "cannot open the lock file", file);
        }
        while (::flock(fd_.get(), LOCK_EX) != 0) {
            if (errno != EINTR) {
                throw core::SystemError(errno, "cannot lock", file);
            }
        }
    }

private:
    core::UniqueFd fd_;
};

std::string validated_release(const std::string& release) {
    if (auto problem = core::release_problem(release)) {
        throw core::Error(
            "Invalid release '" + core::escape_unprintable(release) + "': " + *problem);
    }
    return release;
}

bool is_link_fallback_errno(int err) {
    return err == EXDEV || err == EPERM || err == EMLINK || err == EOPNOTSUPP;
}

void copy_file_preserving_mtime(
    const fs::path& source, const fs::path& target, const struct stat& src_st) {
    core::UniqueFd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) {
        throw core::SystemError(errno, "cannot open", source);
    }
    core::AtomicFile out(target, 0644);
    std::vector<char> buf(1U << 20U);
    for (;;) {
        ssize_t n = ::read(in.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            throw core::SystemError(errno, "cannot read", source);
        }
        if (n == 0) {
            break;
        }
        out.write_all(buf.data(), static_cast<std::size_t>(n));
    }
    // createrepo_c and our own "same file" check compare size and mtime, so keep the source's.
    const std::array<timespec, 2> times{src_st.st_atim, src_st.st_mtim};
    if (::futimens(out.fd(), times.data()) != 0) {
        throw core::SystemError(errno, "cannot set the times of", out.temp_path());
    }
    out.commit();
}

// Places `source` at `target` under a temporary name and renames it over. Returns true if a
// hard link was made, false if the data was copied.
bool place_file(const fs::path& source, const fs::path& target, const struct stat& src_st) {
    fs::path temp = target.parent_path() / ("." + target.filename().string() + ".tmp-link");
    ::unlink(temp.c_str());
    if (::link(source.c_str(), temp.c_str()) == 0) {
        if (::rename(temp.c_str(), target.c_str()) != 0) {
            int err = errno;
            ::unlink(temp.c_str());
            throw core::SystemError(err, "cannot rename into place", target);
        }
        return true;
    }
    if (!is_link_fallback_errno(errno)) {
        throw core::SystemError(errno, "cannot link " + source.string() + " to", target);
    }
    copy_file_preserving_mtime(source, target, src_st);
    return false;
}

std::uint64_t fnv1a(std::string_view data) {
    std::uint64_t h = 14695981039346656037ULL;
    for (char c : data) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ULL;
    }
    return h;
}

// The stamp records what a generation's metadata describes; equal stamps mean nothing to do.
std::string make_stamp(const std::string& comps_xml, const FileIds& files) {
    std::ostringstream out;
    out << "publish-stamp 2\n"
        << "comps " << std::hex << fnv1a(comps_xml) << std::dec << ' ' << comps_xml.size() << '\n';
    for (const auto& [key, id] : files) {
        out << key << '\t' << id.size << '\t' << id.mtime_ns << '\n';
    }
    return out.str();
}

std::optional<FileIds> parse_stamp(const std::string& text) {
    std::istringstream in(text);
    std::string line;
    if (!std::getline(in, line) || line != "publish-stamp 2" || !std::getline(in, line)) {
        return std::nullopt;
    }
    FileIds files;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string key;
        FileId id;
        if (!std::getline(fields, key, '\t') || !(fields >> id.size >> id.mtime_ns)) {
            return std::nullopt;
        }
        files.emplace(std::move(key), id);
    }
    return files;
}

std::optional<std::uint64_t> generation_number(std::string_view name) {
    if (!name.starts_with(GEN_PREFIX) || name.size() == GEN_PREFIX.size() || name.size() > 24) {
        return std::nullopt;
    }
    std::uint64_t n = 0;
    for (char c : name.substr(GEN_PREFIX.size())) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return n;
}

std::string generation_name(std::uint64_t n) {
    return std::string(GEN_PREFIX) + std::to_string(n);
}

// The metadata `repodata` currently points at.
struct CurrentRepodata {
    std::optional<std::uint64_t> generation;  // set when repodata -> .gen-N/repodata
    bool is_directory = false;                // a plain directory (createrepo run in place)
    bool valid = false;                       // repomd.xml readable through the link
};

CurrentRepodata current_repodata(const fs::path& release_dir) {
    CurrentRepodata cur;
    const fs::path link = release_dir / "repodata";
    auto st = lstat_path(link);
    if (!st) {
        return cur;
    }
    if (S_ISLNK(st->st_mode)) {
        std::error_code ec;
        fs::path target = fs::read_symlink(link, ec);
        if (!ec && target.filename() == "repodata" && target.has_parent_path() &&
            target.parent_path().parent_path().empty()) {
            cur.generation = generation_number(target.parent_path().string());
        }
    } else if (S_ISDIR(st->st_mode)) {
        cur.is_directory = true;
    }
    std::error_code ec;
    cur.valid = fs::is_regular_file(link / "repomd.xml", ec);
    return cur;
}

// Metadata file names (repodata/<name>) that a repomd.xml refers to.
std::vector<std::string> repomd_locations(const std::string& repomd) {
    std::vector<std::string> names;
    constexpr std::string_view MARK = "href=\"repodata/";
    for (std::size_t pos = repomd.find(MARK); pos != std::string::npos;
         pos = repomd.find(MARK, pos)) {
        pos += MARK.size();
        std::size_t end = repomd.find('"', pos);
        if (end == std::string::npos) {
            break;
        }
        std::string name = repomd.substr(pos, end - pos);
        if (core::is_safe_basename(name)) {
            names.push_back(std::move(name));
        }
    }
    return names;
}

std::string tail_of(std::string text, std::size_t max) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
        text.pop_back();
    }
    if (text.size() > max) {
        text = "..." + text.substr(text.size() - max);
    }
    return text;
}

// Removes metadata generations other than `keep` and leftovers of an interrupted swap.
void cleanup_generations(const fs::path& dir, std::optional<std::uint64_t> keep) {
    for (const fs::path& entry : list_directory(dir)) {
        const std::string name = entry.filename().string();
        auto n = generation_number(name);
        if ((n && n != keep) || name == LINK_TEMP || name == LEGACY_ASIDE) {
            remove_tree(entry);
        }
    }
}

void run_createrepo(
    const PublisherOptions& options,
    const std::string& release,
    const fs::path& dir,
    const fs::path& gen_dir,
    const std::optional<fs::path>& previous_gen,
    PublishResult& result) {
    const fs::path read_list = gen_dir / READ_LIST_FILE;
    std::vector<std::string> argv{
        options.createrepo,
        "--outputdir",
        gen_dir.string(),
        "--groupfile",
        (dir / "comps.xml").string(),
        "--workers",
        std::to_string(std::max(1U, options.workers)),
        options.sqlite_database ? "--database" : "--no-database",
        "--error-exit-val",  // an unreadable RPM is a failure, not a warning
        "--read-pkgs-list",
        read_list.string()};
    if (previous_gen) {
        argv.insert(argv.end(), {"--update", "--update-md-path", previous_gen->string()});
    }
    argv.push_back(dir.string());

    const std::string failed = "Failed to update the repo for " + release + ": ";
    subprocess::Result run;
    try {
        subprocess::Options child;
        child.argv = std::move(argv);
        run = subprocess::run(std::move(child), {.timeout = options.timeout, .max_output = 256U * 1024U});
    } catch (const subprocess::SpawnError& e) {
        throw core::Error(failed + e.what());
    }
    if (!run.is_success()) {
        std::string what = run.timed_out
                               ? options.createrepo + " timed out after " +
                                     std::to_string(options.timeout.count()) + " s"
                               : options.createrepo + " failed (" + run.describe_status() + ")";
        std::string output = tail_of(run.output, MAX_ERROR_OUTPUT);
        throw core::Error(failed + what + (output.empty() ? "" : ":\n" + output));
    }
    if (lstat_path(read_list)) {
        std::istringstream lines(core::read_small_file(read_list, MAX_SMALL_FILE));
        for (std::string line; std::getline(lines, line);) {
            if (!line.empty()) {
                result.packages_read.push_back(line);
            }
        }
        ::unlink(read_list.c_str());
    }
}

// Makes the new generation durable and self-describing before it becomes visible: carries
// over the previous generation's metadata files (for clients that read its repomd.xml just
// before the swap), writes the stamp and flushes everything.
void finish_generation(
    const fs::path& dir,
    const fs::path& gen_dir,
    std::optional<std::uint64_t> previous_gen,
    const std::string& stamp) {
    const fs::path repodata = gen_dir / "repodata";
    if (previous_gen) {
        const fs::path old = dir / generation_name(*previous_gen) / "repodata";
        std::string repomd;
        try {
            repomd = core::read_small_file(old / "repomd.xml", MAX_SMALL_FILE);
        } catch (const core::Error&) {
            repomd.clear();  // nothing to carry over
        }
        for (const std::string& name : repomd_locations(repomd)) {
            if (!lstat_path(repodata / name)) {
                ::link((old / name).c_str(), (repodata / name).c_str());  // best effort
            }
        }
    }
    for (const fs::path& file : list_directory(repodata)) {
        fsync_path(file, false);
    }
    fsync_path(repodata, true);
    core::write_file_atomically(gen_dir / STAMP_FILE, stamp);  // flushes gen_dir too
}

// Points `repodata` at generation `gen` with one rename, so readers see old or new.
void swap_repodata(const fs::path& dir, std::uint64_t gen, bool replace_directory) {
    const fs::path link = dir / "repodata";
    const fs::path temp = dir / LINK_TEMP;
    ::unlink(temp.c_str());
    const std::string target = generation_name(gen) + "/repodata";
    if (::symlink(target.c_str(), temp.c_str()) != 0) {
        throw core::SystemError(errno, "cannot create the symlink", temp);
    }
    if (replace_directory) {
        // Migrating from a repodata directory written in place: a rename cannot replace a
        // directory with a symlink, so there is a short window without repodata, once.
        const fs::path aside = dir / LEGACY_ASIDE;
        remove_tree(aside);
        if (::rename(link.c_str(), aside.c_str()) != 0) {
            throw core::SystemError(errno, "cannot move aside", link);
        }
    }
    if (::rename(temp.c_str(), link.c_str()) != 0) {
        throw core::SystemError(errno, "cannot rename into place", link);
    }
    fsync_path(dir, true);
}

using Wanted = std::map<std::string, const RepoPackage*>;  // key: "<arch>/<file name>"

Wanted validate_desired(const std::vector<RepoPackage>& desired) {
    Wanted wanted;
    for (const RepoPackage& pkg : desired) {
        if (!core::is_safe_basename(pkg.arch) || pkg.arch.starts_with('.')) {
            throw core::Error(
                "Invalid package arch '" + core::escape_unprintable(pkg.arch) + "' for " +
                pkg.source.string());
        }
        if (!core::is_safe_basename(pkg.file_name) || pkg.file_name.starts_with('.') ||
            !pkg.file_name.ends_with(".rpm")) {
            throw core::Error(
                "Invalid package file name '" + core::escape_unprintable(pkg.file_name) + "' for " +
                pkg.source.string());
        }
        std::string key = pkg.arch + "/" + pkg.file_name;
        auto [it, inserted] = wanted.emplace(key, &pkg);
        if (!inserted && it->second->source != pkg.source) {
            throw core::Error(
                "Two packages would be published as Packages/" + key + ": " +
                it->second->source.string() + " and " + pkg.source.string());
        }
    }
    return wanted;
}

// Removes from Packages/ whatever is not wanted, temporary files of an interrupted run included.
void remove_unwanted(const fs::path& packages_dir, const Wanted& wanted, PublishResult& result) {
    std::set<std::string> arches;
    for (const auto& [key, pkg] : wanted) {
        arches.insert(pkg->arch);
    }
    for (const fs::path& arch_dir : list_directory(packages_dir)) {
        const std::string arch = arch_dir.filename().string();
        auto st = lstat_path(arch_dir);
        if (!st) {
            continue;
        }
        if (!S_ISDIR(st->st_mode) || !arches.contains(arch)) {
            remove_tree(arch_dir);
            ++result.removed;
            continue;
        }
        for (const fs::path& file : list_directory(arch_dir)) {
            if (!wanted.contains(arch + "/" + file.filename().string())) {
                remove_tree(file);
                ++result.removed;
            }
        }
    }
}

// True if `target` already holds `source`'s data: the same inode, or a copy with the same size
// and mtime (copies keep the source's mtime).
bool is_same_file(const struct stat& target, const struct stat& source) {
    return S_ISREG(target.st_mode) &&
           ((target.st_dev == source.st_dev && target.st_ino == source.st_ino) ||
            (target.st_size == source.st_size && core::mtime_ns(target) == core::mtime_ns(source)));
}

// Makes Packages/ hold exactly the wanted files; returns their identities.
FileIds sync_packages(const fs::path& packages_dir, const Wanted& wanted, PublishResult& result) {
    make_directory(packages_dir);
    remove_unwanted(packages_dir, wanted, result);
    FileIds files;
    std::set<fs::path> touched_dirs;
    for (const auto& [key, pkg] : wanted) {
        const fs::path arch_dir = packages_dir / pkg->arch;
        const fs::path target = arch_dir / pkg->file_name;
        struct stat src {};
        if (::stat(pkg->source.c_str(), &src) != 0) {
            throw core::SystemError(errno, "cannot publish", pkg->source);
        }
        if (!S_ISREG(src.st_mode)) {
            throw core::Error("Cannot publish " + pkg->source.string() + ": not a regular file");
        }
        auto cur = lstat_path(target);
        if (cur && is_same_file(*cur, src)) {
            files.emplace(key, file_id(*cur));
            continue;
        }
        if (cur && S_ISDIR(cur->st_mode)) {
            remove_tree(target);
        }
        if (std::error_code ec; !fs::is_directory(arch_dir, ec)) {
            make_directory(arch_dir);
            touched_dirs.insert(packages_dir);
        }
        if (place_file(pkg->source, target, src)) {
            ++result.linked;
        } else {
            ++result.copied;
        }
        touched_dirs.insert(arch_dir);
        struct stat placed {};
        if (::lstat(target.c_str(), &placed) != 0) {
            throw core::SystemError(errno, "cannot stat", target);
        }
        files.emplace(key, file_id(placed));
    }
    for (const fs::path& touched : touched_dirs) {
        fsync_path(touched, true);
    }
    return files;
}

// Writes comps.xml if its content differs; returns true if it did.
bool write_comps(const fs::path& path, const std::string& comps_xml) {
    if (lstat_path(path) && core::read_small_file(path, MAX_SMALL_FILE) == comps_xml) {
        return false;
    }
    core::write_file_atomically(path, comps_xml);
    return true;
}

// A number above every generation directory present, after removing those other than
// `current` (left by interrupted attempts), so createrepo_c always starts in a fresh directory.
std::uint64_t next_generation(const fs::path& dir, std::optional<std::uint64_t> current) {
    std::uint64_t next = current.value_or(0) + 1;
    for (const fs::path& entry : list_directory(dir)) {
        if (auto n = generation_number(entry.filename().string()); n && *n != current) {
            remove_tree(entry);
            next = std::max(next, *n + 1);
        }
    }
    return next;
}

}  // namespace

RepositoryPublisher::RepositoryPublisher(const fs::path& repo_root, PublisherOptions options)
    : repo_root_(fs::absolute(repo_root)), options_(std::move(options)) {}

fs::path RepositoryPublisher::release_dir(const std::string& release) const {
    return repo_root_ / ("rel-" + validated_release(release));
}

bool RepositoryPublisher::is_published(const std::string& release) const {
    std::error_code ec;
    return fs::is_regular_file(release_dir(release) / "repodata" / "repomd.xml", ec);
}

void RepositoryPublisher::remove_release(const std::string& release) {
    const fs::path dir = release_dir(release);
    ReleaseLock lock(repo_root_ / (".rel-" + release + ".lock"));
    const fs::path aside = repo_root_ / (".removing-rel-" + release);
    remove_tree(aside);  // left by an interrupted earlier call
    if (!lstat_path(dir)) {
        return;
    }
    if (::rename(dir.c_str(), aside.c_str()) != 0) {
        throw core::SystemError(errno, "cannot move aside", dir);
    }
    fsync_path(repo_root_, true);
    remove_tree(aside);
}

PublishResult RepositoryPublisher::publish(
    const std::string& release,
    const std::vector<RepoPackage>& desired,
    const std::string& comps_xml) {
    const fs::path dir = release_dir(release);
    const Wanted wanted = validate_desired(desired);

    ReleaseLock lock(repo_root_ / (".rel-" + release + ".lock"));
    PublishResult result;
    remove_tree(repo_root_ / (".removing-rel-" + release));
    const FileIds files = sync_packages(dir / "Packages", wanted, result);
    result.comps_written = write_comps(dir / "comps.xml", comps_xml);
    faults::fault_point("publish.after_packages");

    const std::string stamp = make_stamp(comps_xml, files);
    const CurrentRepodata cur = current_repodata(dir);
    std::optional<FileIds> previous;
    if (cur.generation && cur.valid) {
        std::string old_stamp;
        try {
            old_stamp = core::read_small_file(
                dir / generation_name(*cur.generation) / STAMP_FILE, MAX_SMALL_FILE);
        } catch (const core::Error&) {
            old_stamp.clear();  // no stamp: regenerate
        }
        if (old_stamp == stamp) {
            cleanup_generations(dir, cur.generation);
            return result;
        }
        previous = parse_stamp(old_stamp);
    }
    // Reusing metadata is only safe if no file kept its name but changed (createrepo_c trusts
    // name + size + mtime in seconds): anything else, including no usable previous generation,
    // gets a full regeneration.
    const bool incremental =
        previous && std::all_of(files.begin(), files.end(), [&](const auto& entry) {
            auto old = previous->find(entry.first);
            return old == previous->end() || old->second == entry.second;
        });

    const std::uint64_t next = next_generation(dir, cur.generation);
    const fs::path gen_dir = dir / generation_name(next);
    make_directory(gen_dir);
    try {
        std::optional<fs::path> reuse;
        if (incremental) {
            reuse = dir / generation_name(*cur.generation);
        }
        run_createrepo(options_, release, dir, gen_dir, reuse, result);
        result.incremental = incremental;
        result.regenerated = true;
        finish_generation(dir, gen_dir, cur.generation, stamp);
        faults::fault_point("publish.after_createrepo");
        swap_repodata(dir, next, cur.is_directory);
    } catch (...) {
        try {
            if (current_repodata(dir).generation != next) {
                remove_tree(gen_dir);
            }
        } catch (const core::Error&) {
            // the next publish removes it
        }
        throw;
    }
    cleanup_generations(dir, next);
    return result;
}

}  // namespace patching::controller
