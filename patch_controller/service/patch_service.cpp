// SPDX-License-Identifier: Apache-2.0
#include "service/patch_service.hpp"

#include <controller/repo/repository.hpp>
#include <controller/repo/subprocess.hpp>
#include <patch_core/comps.hpp>
#include <patch_core/dependencies.hpp>
#include <patch_core/errors.hpp>
#include <patch_core/evr.hpp>
#include <patch_core/fs.hpp>
#include <patch_core/patch_file.hpp>
#include <patch_core/patch_id.hpp>
#include <patch_core/rpm/rpm_inspector.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>

namespace patching::controller {

using core::PatchState;
using core::RepoState;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string repo_dir_name(RepoState s) {
    switch (s) {
        case RepoState::AVAILABLE: return "available";
        case RepoState::APPLIED: return "applied";
        case RepoState::COMMITTED: return "committed";
    }
    return "available";
}

core::Evr evr_of(const StoredRpm& rpm) { return core::Evr{rpm.epoch, rpm.version, rpm.release}; }

std::string evr_text(const StoredRpm& rpm) {
    return (rpm.epoch.empty() ? "" : rpm.epoch + ":") + rpm.version + "-" + rpm.release;
}

fs::path make_private_dir(const fs::path& parent, const std::string& prefix) {
    fs::create_directories(parent);
    std::string tmpl = (parent / (prefix + "XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
        throw core::SystemError(errno, "cannot create a working directory in", parent);
    }
    return tmpl;
}

// "<path>: problem" from read_patch, shown with the uploaded file's name only.
std::string strip_path(const std::string& message, const fs::path& path) {
    std::string prefix = core::escape_unprintable(path.string()) + ": ";
    return message.rfind(prefix, 0) == 0 ? message.substr(prefix.size()) : message;
}

}  // namespace

core::PatchDependencyInfo PatchService::dependency_info(const Patch& p) {
    return {p.metadata.required_patches, p.repostate, p.metadata.status.value_or(""), p.metadata.sw_version,
            p.metadata.contents};
}

core::DependencyTable PatchService::dependency_table() const {
    core::DependencyTable table;
    for (const auto& [id, p] : patches_) {
        table[id] = dependency_info(p);
    }
    return table;
}

PatchService::PatchService(const ControllerConfig& config, StateStore& store, signing::TrustStore trust)
    : config_(config), store_(store), trust_(std::move(trust)),
      publisher_(std::make_unique<RepositoryPublisher>(config.repo_dir)) {}

PatchService::~PatchService() = default;

void PatchService::normalise(std::vector<std::string>& ids) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
}

fs::path PatchService::store_path(const Patch& p, const StoredRpm& rpm) const {
    return config_.packages_dir() / p.metadata.sw_version / rpm.file_name;
}

BaseFeed& PatchService::feed(const std::string& release) {
    auto it = feeds_.find(release);
    if (it == feeds_.end()) {
        it = feeds_.emplace(release, std::make_unique<BaseFeed>(config_.feed_dir, config_.cache_dir(), release)).first;
    }
    it->second->refresh();
    return *it->second;
}

std::set<std::string> PatchService::known_releases() const {
    std::set<std::string> releases = extra_releases_;
    releases.insert(config_.running_release);
    for (const auto& [id, p] : patches_) {
        releases.insert(p.metadata.sw_version);
    }
    return releases;
}

std::set<std::string> PatchService::host_ids() const {
    std::set<std::string> ids;
    for (const auto& [id, h] : hosts_) {
        ids.insert(id);
    }
    return ids;
}

bool PatchService::any_host_installing() const {
    return std::any_of(hosts_.begin(), hosts_.end(), [](const auto& kv) { return kv.second.state == "installing"; });
}

std::string PatchService::patch_state(const std::string& id) const {
    return std::string(core::to_string(tracker_.get_state(id)));
}

// ------------------------------------------------------------------------------------------
// Start-up recovery

void PatchService::recover() {
    std::lock_guard op(op_mutex_);
    // recover() republishes every repository before the server starts, so the stored counter
    // is already published; interim lists from before a restart wait for any new report.
    published_counter_ = static_cast<std::uint64_t>(store_.op_counter());
    interim_counter_ = 0;
    for (const auto& dir : {config_.state_dir, config_.packages_dir(), config_.metadata_dir() / "available",
                            config_.metadata_dir() / "applied", config_.metadata_dir() / "committed",
                            config_.semantics_dir() / "pre-apply", config_.semantics_dir() / "pre-remove",
                            config_.tmp_dir(), config_.cache_dir(), config_.repo_dir}) {
        fs::create_directories(dir);
    }
    // Uploads and imports interrupted by a crash: nothing in tmp is referenced by the database.
    for (const auto& entry : fs::directory_iterator(config_.tmp_dir())) {
        fs::remove_all(entry.path());
    }

    std::unique_lock data(data_mutex_);
    patches_.clear();
    for (auto& stored : store_.load_patches()) {
        Patch p;
        try {
            p.metadata = core::parse_metadata_xml(stored.metadata_xml, stored.id);
        } catch (const std::exception& e) {
            std::cerr << "patch-controller: ignoring patch " << stored.id << " with unreadable metadata: " << e.what()
                      << "\n";
            continue;
        }
        p.metadata_xml = std::move(stored.metadata_xml);
        p.repostate = core::parse_repo_state(stored.repostate).value_or(RepoState::AVAILABLE);
        p.rpms = std::move(stored.rpms);
        p.imported_at = stored.imported_at;
        tracker_.set_patch(core::make_patch_info(p.metadata, p.repostate));
        patches_.emplace(stored.id, std::move(p));
    }
    extra_releases_ = store_.load_releases();
    app_dependencies_ = store_.load_app_dependencies();

    // Store files no patch owns were left by an import that crashed before its commit.
    std::set<fs::path> owned;
    for (const auto& [id, p] : patches_) {
        for (const auto& rpm : p.rpms) {
            owned.insert(store_path(p, rpm));
        }
    }
    for (const auto& release_dir : fs::directory_iterator(config_.packages_dir())) {
        if (!release_dir.is_directory()) {
            continue;
        }
        for (const auto& file : fs::directory_iterator(release_dir.path())) {
            if (!owned.contains(file.path())) {
                std::cerr << "patch-controller: removing orphaned " << file.path() << "\n";
                fs::remove(file.path());
            }
        }
    }
    for (const char* action : {"pre-apply", "pre-remove"}) {
        for (const auto& file : fs::directory_iterator(config_.semantics_dir() / action)) {
            if (!patches_.contains(file.path().filename().string())) {
                fs::remove(file.path());
            }
        }
    }
    // Metadata directories are derived from the database: rewrite them to match.
    for (const char* dir : {"available", "applied", "committed"}) {
        for (const auto& file : fs::directory_iterator(config_.metadata_dir() / dir)) {
            fs::remove(file.path());
        }
    }
    for (const auto& [id, p] : patches_) {
        write_metadata_file(p);
    }
    std::set<std::string> releases = known_releases();
    data.unlock();
    for (const auto& release : releases) {
        try {
            publish_release(release);
        } catch (const std::exception& e) {
            std::cerr << "patch-controller: cannot publish the repository for " << release << ": "
                      << core::format_error_chain(e) << "\n";
        }
    }
}

void PatchService::write_metadata_file(const Patch& p) {
    core::write_file_atomically(
        config_.metadata_dir() / repo_dir_name(p.repostate) / (p.metadata.id + "-metadata.xml"), p.metadata_xml);
}

void PatchService::remove_metadata_files(const std::string& id) {
    for (const char* dir : {"available", "applied", "committed"}) {
        std::error_code ec;
        fs::remove(config_.metadata_dir() / dir / (id + "-metadata.xml"), ec);
    }
}

// REQUIRES: op_mutex_ held (data_mutex_ not held).
void PatchService::publish_release(const std::string& release) {
    std::vector<RepoPackage> desired;
    BaseFeed& base = feed(release);
    if (base.exists()) {
        for (const auto& pkg : base.packages()) {
            desired.push_back({pkg.path, pkg.path.filename().string(), pkg.arch});
        }
    }
    std::map<std::string, core::PatchInfo> comps_patches;
    {
        std::shared_lock data(data_mutex_);
        for (const auto& [id, p] : patches_) {
            if (p.metadata.sw_version != release) {
                continue;
            }
            comps_patches.emplace(id, core::make_patch_info(p.metadata, p.repostate));
            if (p.repostate == RepoState::AVAILABLE) {
                continue;
            }
            for (const auto& rpm : p.rpms) {
                desired.push_back({store_path(p, rpm), rpm.file_name, rpm.arch});
            }
        }
    }
    publisher_->publish(release, desired, core::make_comps_xml(comps_patches, release));
}

// ------------------------------------------------------------------------------------------
// Import

OpResult PatchService::upload(const fs::path& patch_file, const std::function<size_t(char*, size_t)>& read_body) {
    return import_one(patch_file, &read_body);
}

OpResult PatchService::upload_dir(const std::vector<std::string>& dirs) {
    std::vector<fs::path> files;
    for (const auto& dir : dirs) {
        std::error_code ec;
        if (!fs::path(dir).is_absolute() || !fs::is_directory(dir, ec)) {
            OpResult r;
            r.add_error("Not an absolute directory path on the controller: " + core::escape_unprintable(dir),
                        HTTP_BAD_REQUEST);
            return r;
        }
        for (const auto& entry : fs::directory_iterator(dir)) {
            if (entry.is_regular_file() && entry.path().extension() == ".patch") {
                files.push_back(entry.path());
            }
        }
    }
    std::sort(files.begin(), files.end());
    OpResult result;
    if (files.empty()) {
        result.add_info("No patches found");
        return result;
    }
    for (const auto& file : files) {
        result.merge(import_one(file));
    }
    return result;
}

void PatchService::check_import(const core::PatchMetadata& md, const std::vector<StoredRpm>& rpms, OpResult& result) {
    const std::string& id = md.id;
    BaseFeed& base = feed(md.sw_version);
    std::shared_lock data(data_mutex_);
    if (!base.exists() && !extra_releases_.contains(md.sw_version)) {
        result.add_error("Patch " + id + " software release (" + md.sw_version + ") is not installed", HTTP_CONFLICT);
        return;
    }
    for (const auto& rpm : rpms) {
        if (const BasePackage* original = base.lookup(rpm.name, rpm.arch)) {
            core::Evr base_evr{original->epoch, original->version, original->release};
            if (core::label_compare(evr_of(rpm), base_evr) <= 0) {
                result.add_error("RPM " + rpm.file_name + " in patch " + id + " must be higher version than original (" +
                                     original->evr() + ")",
                                 HTTP_CONFLICT);
            }
        }
        for (const auto& [other_id, other] : patches_) {
            if (other_id == id || other.metadata.sw_version != md.sw_version) {
                continue;
            }
            for (const auto& o : other.rpms) {
                if (o.name == rpm.name && o.arch == rpm.arch && evr_text(o) == evr_text(rpm)) {
                    result.add_error("Patch " + id + " contains rpm " + rpm.file_name + ", which is already provided by patch " +
                                         other_id,
                                     HTTP_CONFLICT);
                }
            }
        }
    }
}

OpResult PatchService::import_one(const fs::path& patch_file, const std::function<size_t(char*, size_t)>* read_body) {
    OpResult result;
    const std::string basename = patch_file.filename().string();
    if (patch_file.extension() != ".patch") {
        result.add_error("File must end in .patch extension: " + core::escape_unprintable(basename), HTTP_BAD_REQUEST);
        return result;
    }
    const std::string id = patch_file.stem().string();
    const auto started = std::chrono::steady_clock::now();
    auto elapsed_ms = [&] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    };
    rpm::RpmHeaderInspector inspector;
    core::ReadOptions options;
    options.inspector = &inspector;
    // A streamed upload is written to `patch_file` and verified in the same pass; the
    // extraction below reads the file again only once both checks have passed.
    core::UniqueFd upload_fd;
    std::vector<char> upload_buffer;
    std::string upload_error;
    auto store_chunk = [&](const char* data, size_t n) {
        while (n > 0) {
            ssize_t w = ::write(upload_fd.get(), data, n);
            if (w < 0 && errno == EINTR) {
                continue;
            }
            if (w < 0) {
                throw core::SystemError(errno, "cannot store the upload", patch_file);
            }
            data += w;
            n -= static_cast<size_t>(w);
        }
    };
    if (read_body != nullptr) {
        upload_fd = core::UniqueFd(::open(patch_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        if (!upload_fd) {
            throw core::SystemError(errno, "cannot create", patch_file);
        }
        upload_buffer.resize(1U << 20U);
        options.source = [&]() -> std::span<const std::byte> {
            if (!upload_error.empty()) {
                return {};
            }
            try {
                size_t n = (*read_body)(upload_buffer.data(), upload_buffer.size());
                store_chunk(upload_buffer.data(), n);
                return {reinterpret_cast<const std::byte*>(upload_buffer.data()), n};
            } catch (const std::exception& e) {
                upload_error = e.what();
                return {};
            }
        };
    }
    core::VerifiedPatch verified;
    try {
        verified = core::read_patch(patch_file, trust_, options);
    } catch (const core::PatchFileError& e) {
        if (!upload_error.empty()) {
            result.add_error("Upload of " + core::escape_unprintable(basename) + " failed: " + upload_error,
                             HTTP_BAD_REQUEST);
        } else {
            result.add_error("Patch validation failed for " + core::escape_unprintable(id) + ":\n" +
                                 strip_path(e.what(), patch_file),
                             HTTP_UNPROCESSABLE);
        }
        return result;
    }
    if (read_body != nullptr) {
        // Bytes after the archive (padding) still belong to the file. The client may go away
        // or stall here too: that is a failed upload, as during verification, not a crash.
        try {
            for (size_t n; (n = (*read_body)(upload_buffer.data(), upload_buffer.size())) > 0;) {
                store_chunk(upload_buffer.data(), n);
            }
        } catch (const std::exception& e) {
            result.add_error("Upload of " + core::escape_unprintable(basename) + " failed: " + e.what(),
                             HTTP_BAD_REQUEST);
            return result;
        }
        upload_fd = core::UniqueFd();
    }
    const auto verified_ms = elapsed_ms();
    // Receiving and verifying need no lock; only the import itself is an operation, so a slow
    // upload does not hold up apply or remove.
    std::lock_guard op(op_mutex_);
    const core::PatchMetadata& md = verified.metadata;
    std::vector<StoredRpm> rpms;
    for (const auto& member : verified.software) {
        const rpm::PackageInfo& info = inspector.packages().at(member.name);
        rpms.push_back({member.name, info.name, info.epoch, info.version, info.release, info.arch, member.size});
    }

    {
        std::shared_lock data(data_mutex_);
        auto existing = patches_.find(id);
        if (existing != patches_.end()) {
            Patch updated = existing->second;
            data.unlock();
            if (updated.repostate == RepoState::COMMITTED) {
                result.add_info(id + " is committed. Metadata not updated");
                return result;
            }
            std::set<std::string> stored_names;
            for (const auto& r : updated.rpms) {
                stored_names.insert(r.file_name);
            }
            std::set<std::string> new_names(md.contents.begin(), md.contents.end());
            if (stored_names != new_names) {
                result.add_error("Contents of " + id + " do not match re-imported patch", HTTP_CONFLICT);
                return result;
            }
            // The release decides where the RPMs are stored and published: a metadata-only
            // update must not move the patch to another release (its files would be orphans).
            if (md.sw_version != updated.metadata.sw_version) {
                result.add_error("Contents of " + id + " do not match re-imported patch: it is imported for release " +
                                     updated.metadata.sw_version + ", not " + core::escape_unprintable(md.sw_version),
                                 HTTP_CONFLICT);
                return result;
            }
            updated.metadata = md;
            updated.metadata_xml = verified.metadata_xml;
            store_.put_patch({id, md.sw_version, std::string(core::to_string(updated.repostate)), updated.metadata_xml,
                              updated.rpms, updated.imported_at});
            std::unique_lock write(data_mutex_);
            tracker_.set_patch(core::make_patch_info(md, updated.repostate));
            write_metadata_file(updated);
            patches_[id] = std::move(updated);
            result.add_info(id + " is already imported. Updated metadata only");
            return result;
        }
    }

    OpResult checks;
    check_import(md, rpms, checks);
    if (!checks.ok()) {
        result.add_error("Patch validation failed for " + id + ":\n" + checks.error.substr(0, checks.error.size() - 1),
                         checks.status);
        return result;
    }

    // Files first, the database last: a crash in between leaves only orphans, which recover()
    // removes, never a patch the database knows whose files are missing.
    fs::path staging = make_private_dir(config_.tmp_dir(), "import-");
    std::vector<fs::path> placed;
    try {
        std::vector<fs::path> extracted = core::extract_software(verified, staging);
        fs::path dest = config_.packages_dir() / md.sw_version;
        fs::create_directories(dest);
        for (const auto& file : extracted) {
            fs::rename(file, dest / file.filename());
            placed.push_back(dest / file.filename());
        }
        for (const auto& script : verified.semantics) {
            fs::path target = config_.semantics_dir() / script.action / id;
            core::write_file_atomically(target, script.content, 0544);
            placed.push_back(target);
        }
        store_.put_patch({id, md.sw_version, "Available", verified.metadata_xml, rpms, now_seconds()});
    } catch (...) {
        for (const auto& p : placed) {
            std::error_code ec;
            fs::remove(p, ec);
        }
        std::error_code ec;
        fs::remove_all(staging, ec);
        throw;
    }
    fs::remove_all(staging);

    Patch patch{md, verified.metadata_xml, RepoState::AVAILABLE, rpms, now_seconds()};
    std::unique_lock write(data_mutex_);
    tracker_.set_patch(core::make_patch_info(md, RepoState::AVAILABLE));
    write_metadata_file(patch);
    patches_[id] = std::move(patch);
    result.add_info(id + " is now available");
    std::cerr << "patch-controller: imported " << id << " (" << rpms.size() << " RPMs) in " << elapsed_ms()
              << " ms, " << verified_ms << " ms of it verifying\n";
    return result;
}

// ------------------------------------------------------------------------------------------
// Semantic checks

OpResult PatchService::run_semantic_checks(const std::vector<std::string>& ids, const char* action) {
    OpResult result;
    std::vector<std::string> args_tail;
    {
        std::shared_lock data(data_mutex_);
        for (const auto& [id, p] : patches_) {
            args_tail.push_back("-p");
            args_tail.push_back(id + "=" + patch_state(id));
        }
    }
    for (const auto& id : ids) {
        fs::path script = config_.semantics_dir() / action / id;
        std::error_code ec;
        if (!fs::exists(script, ec)) {
            continue;
        }
        std::vector<std::string> argv = {script.string()};
        argv.insert(argv.end(), args_tail.begin(), args_tail.end());
        ProcessResult r = run_process(argv, std::chrono::seconds(config_.semantic_timeout_seconds));
        if (!r.is_success()) {
            result.add_error("Semantic check failed for " + id + " (" + r.describe_status() + "):\n" + r.output,
                             HTTP_CONFLICT);
            return result;
        }
    }
    return result;
}

// ------------------------------------------------------------------------------------------
// apply / remove / delete

OpResult PatchService::apply(std::vector<std::string> ids, bool skip_semantic) {
    std::lock_guard op(op_mutex_);
    OpResult result;
    core::DependencyTable deps;
    {
        std::shared_lock data(data_mutex_);
        if (any_host_installing()) {
            result.add_error("Rejected: One or more nodes are installing patches.", HTTP_CONFLICT);
            return result;
        }
        if (std::find(ids.begin(), ids.end(), "--all") != ids.end()) {
            ids.clear();
            for (const auto& [id, p] : patches_) {
                if (p.repostate == RepoState::AVAILABLE) {
                    ids.push_back(id);
                }
            }
            if (ids.empty()) {
                result.add_info("There are no available patches to be applied.");
                return result;
            }
        }
        normalise(ids);
        for (const auto& id : ids) {
            if (!patches_.contains(id)) {
                result.add_error("Patch " + core::escape_unprintable(id) + " does not exist", HTTP_NOT_FOUND);
            }
        }
        if (!result.ok()) {
            return result;
        }
        for (const auto& id : ids) {
            const Patch& p = patches_.at(id);
            if (p.metadata.is_apply_active_release_only() && p.metadata.sw_version != config_.running_release) {
                result.add_error(id + " cannot be applied in an upgrade", HTTP_CONFLICT);
            }
        }
        deps = dependency_table();
    }
    for (const auto& line : core::apply_requires_errors(deps, ids)) {
        result.add_error(line, HTTP_CONFLICT);
    }
    if (!result.ok()) {
        return result;
    }
    if (!skip_semantic) {
        OpResult checks = run_semantic_checks(ids, "pre-apply");
        if (!checks.ok()) {
            return checks;
        }
    }
    move_patches(ids, RepoState::APPLIED, result);
    return result;
}

// The common tail of apply and remove: the database first, then memory, metadata files and the
// repositories of the releases involved. REQUIRES: op_mutex_ held, data_mutex_ not held.
void PatchService::move_patches(const std::vector<std::string>& ids, RepoState target, OpResult& result) {
    const bool applying = target == RepoState::APPLIED;
    std::map<std::string, std::string> changes;
    std::set<std::string> releases;
    core::InterimState interim;
    {
        std::shared_lock data(data_mutex_);
        for (const auto& id : ids) {
            const Patch& p = patches_.at(id);
            if (applying ? p.repostate != RepoState::AVAILABLE : p.repostate == RepoState::AVAILABLE) {
                result.add_info(id + (applying ? " is already in the repo" : " is not in the repo"));
                continue;
            }
            changes[id] = std::string(core::to_string(target));
            releases.insert(p.metadata.sw_version);
        }
        interim = tracker_.get_interim();
        for (const auto& [id, state] : changes) {
            interim[id] = host_ids();
        }
    }
    if (changes.empty()) {
        return;
    }
    const auto counter = static_cast<std::uint64_t>(store_.set_repostates(changes, interim));
    {
        std::unique_lock data(data_mutex_);
        for (const auto& [id, state] : changes) {
            Patch& p = patches_.at(id);
            p.repostate = target;
            tracker_.set_repostate(id, target);
            tracker_.start_interim(id);
            interim_counter_ = counter;
            remove_metadata_files(id);
            write_metadata_file(p);
            result.add_info(id + (applying ? " is now in the repo" : " has been removed from the repo"));
        }
    }
    for (const auto& release : releases) {
        try {
            publish_release(release);
        } catch (const std::exception& e) {
            result.add_error("Failed to update the repo for " + release + ": " + core::format_error_chain(e), HTTP_INTERNAL);
        }
    }
    // Only now may agents look: the repositories match the new counter.
    published_counter_ = counter;
    notify_agents("");
}

OpResult PatchService::remove(std::vector<std::string> ids, bool remove_unremovable, bool skip_app_check,
                              bool skip_semantic) {
    std::lock_guard op(op_mutex_);
    OpResult result;
    normalise(ids);
    core::DependencyTable deps;
    {
        std::shared_lock data(data_mutex_);
        if (any_host_installing()) {
            result.add_error("Rejected: One or more nodes are installing patches.", HTTP_CONFLICT);
            return result;
        }
        for (const auto& id : ids) {
            if (!patches_.contains(id)) {
                result.add_error("Patch " + core::escape_unprintable(id) + " does not exist", HTTP_NOT_FOUND);
            }
        }
        if (!result.ok()) {
            return result;
        }
        for (const auto& id : ids) {
            const Patch& p = patches_.at(id);
            if (p.metadata.is_unremovable()) {
                if (remove_unremovable) {
                    result.add_warning("Unremovable patch " + id + " being removed");
                } else {
                    result.add_error("Patch " + id + " is not removable", HTTP_CONFLICT);
                }
            } else if (p.repostate == RepoState::COMMITTED) {
                result.add_error("Patch " + id + " is committed and cannot be removed", HTTP_CONFLICT);
            }
        }
        deps = dependency_table();
        if (!skip_app_check) {
            for (const auto& id : ids) {
                std::vector<std::string> apps;
                for (const auto& [app, required] : app_dependencies_) {
                    if (std::find(required.begin(), required.end(), id) != required.end()) {
                        apps.push_back(app);
                    }
                }
                if (!apps.empty()) {
                    std::string joined;
                    for (const auto& a : apps) {
                        joined += (joined.empty() ? "" : ", ") + a;
                    }
                    result.add_error(id + " is required by application(s): " + joined, HTTP_CONFLICT);
                }
            }
        }
    }
    if (!result.ok()) {
        return result;
    }
    for (const auto& line : core::remove_required_by_errors(deps, ids)) {
        result.add_error(line, HTTP_CONFLICT);
    }
    if (!result.ok()) {
        return result;
    }
    if (!skip_semantic) {
        OpResult checks = run_semantic_checks(ids, "pre-remove");
        if (!checks.ok()) {
            return checks;
        }
    }
    move_patches(ids, RepoState::AVAILABLE, result);
    return result;
}

OpResult PatchService::delete_patches(std::vector<std::string> ids) {
    std::lock_guard op(op_mutex_);
    OpResult result;
    normalise(ids);
    {
        std::shared_lock data(data_mutex_);
        for (const auto& id : ids) {
            auto it = patches_.find(id);
            if (it == patches_.end()) {
                result.add_error("Patch " + core::escape_unprintable(id) + " does not exist", HTTP_NOT_FOUND);
                continue;
            }
            PatchState state = tracker_.get_state(id);
            if (it->second.repostate != RepoState::AVAILABLE ||
                (state != PatchState::AVAILABLE && state != PatchState::NA)) {
                result.add_error("Patch " + id + " not in Available state", HTTP_CONFLICT);
            }
        }
    }
    if (!result.ok()) {
        return result;
    }
    for (const auto& id : ids) {
        Patch p;
        {
            std::shared_lock data(data_mutex_);
            p = patches_.at(id);
        }
        store_.delete_patch(id);  // the database first: a crash after this leaves only orphans
        std::unique_lock data(data_mutex_);
        for (const auto& rpm : p.rpms) {
            std::error_code ec;
            fs::remove(store_path(p, rpm), ec);
        }
        for (const char* action : {"pre-apply", "pre-remove"}) {
            std::error_code ec;
            fs::remove(config_.semantics_dir() / action / id, ec);
        }
        remove_metadata_files(id);
        tracker_.remove_patch(id);
        patches_.erase(id);
        result.add_info(id + " has been deleted");
    }
    return result;
}

// ------------------------------------------------------------------------------------------
// commit, dependencies

OpResult PatchService::commit(std::vector<std::string> ids, bool dry_run) {
    std::lock_guard op(op_mutex_);
    OpResult result;
    normalise(ids);
    core::DependencyTable deps;
    std::map<std::string, PatchState> states;
    {
        std::shared_lock data(data_mutex_);
        for (const auto& [id, p] : patches_) {
            deps[id] = dependency_info(p);
            states[id] = tracker_.get_state(id);
        }
    }
    core::CommitPlan plan = core::commit_plan(deps, ids, states);
    if (!plan.is_ok()) {
        std::string error = plan.error.back() == '\n' ? plan.error.substr(0, plan.error.size() - 1) : plan.error;
        result.add_error(error, error.find("unrecognized") != std::string::npos ? HTTP_NOT_FOUND : HTTP_CONFLICT);
        return result;
    }
    std::set<fs::path> cleanup_paths;
    std::uint64_t cleanup_bytes = 0;
    for (const auto& file : plan.cleanup) {
        fs::path path = config_.packages_dir() / file.sw_version / file.rpm;
        std::error_code ec;
        auto size = fs::file_size(path, ec);
        if (!ec) {
            cleanup_bytes += size;
        }
        cleanup_paths.insert(path);
    }
    if (dry_run) {
        result.add_info(core::commit_free_message(cleanup_bytes));
        return result;
    }
    std::map<std::string, std::string> changes;
    std::set<std::string> releases;
    for (const auto& id : plan.commit_list) {
        changes[id] = "Committed";
    }
    core::InterimState interim;
    {
        std::shared_lock data(data_mutex_);
        for (const auto& id : plan.commit_list) {
            releases.insert(patches_.at(id).metadata.sw_version);
        }
        interim = tracker_.get_interim();
    }
    const auto counter = static_cast<std::uint64_t>(store_.set_repostates(changes, interim));
    {
        std::unique_lock data(data_mutex_);
        for (const auto& id : plan.commit_list) {
            Patch& p = patches_.at(id);
            p.repostate = RepoState::COMMITTED;
            tracker_.set_repostate(id, RepoState::COMMITTED);
            remove_metadata_files(id);
            write_metadata_file(p);
        }
        // Superseded RPMs: drop them from their patch (store and repo) so the space is freed.
        for (const auto& id : plan.commit_list) {
            Patch& p = patches_.at(id);
            std::vector<StoredRpm> keep;
            for (const auto& rpm : p.rpms) {
                if (cleanup_paths.contains(store_path(p, rpm))) {
                    std::error_code ec;
                    fs::remove(store_path(p, rpm), ec);
                } else {
                    keep.push_back(rpm);
                }
            }
            if (keep.size() != p.rpms.size()) {
                p.rpms = keep;
                store_.put_patch({id, p.metadata.sw_version, "Committed", p.metadata_xml, p.rpms, p.imported_at});
            }
        }
    }
    for (const auto& release : releases) {
        try {
            publish_release(release);
        } catch (const std::exception& e) {
            result.add_error("Failed to update the repo for " + release + ": " + core::format_error_chain(e), HTTP_INTERNAL);
            return result;
        }
    }
    published_counter_ = counter;
    notify_agents("");
    result.add_info("The patches have been committed.");
    return result;
}

OpResult PatchService::what_requires(std::vector<std::string> ids) {
    normalise(ids);
    core::DependencyTable deps;
    {
        std::shared_lock data(data_mutex_);
        deps = dependency_table();
    }
    OpResult result;
    core::WhatRequiresResult r = core::what_requires(deps, ids);
    for (const auto& line : r.info) {
        result.add_info(line);
    }
    for (const auto& line : r.errors) {
        result.add_error(line, HTTP_NOT_FOUND);
    }
    return result;
}

nlohmann::json PatchService::query_dependencies(std::vector<std::string> ids, bool recursive) {
    normalise(ids);
    core::DependencyTable deps;
    {
        std::shared_lock data(data_mutex_);
        deps = dependency_table();
    }
    core::DependencyQuery q = core::query_dependencies(deps, ids, recursive);
    return json{{"patches", q.patches}, {"error", q.error}};
}

// ------------------------------------------------------------------------------------------
// Releases, application dependencies, hosts

OpResult PatchService::init_release(const std::string& release) {
    std::lock_guard op(op_mutex_);
    OpResult result;
    if (auto problem = core::release_problem(release)) {
        result.add_error("Invalid release " + core::escape_unprintable(release) + ": " + *problem, HTTP_BAD_REQUEST);
        return result;
    }
    if (release == config_.running_release) {
        result.add_error("Rejected: Requested release " + release + " is running release", HTTP_CONFLICT);
        return result;
    }
    if (publisher_->is_published(release)) {
        result.add_info("Patch repository for " + release + " already exists");
    }
    store_.add_release(release);
    {
        std::unique_lock data(data_mutex_);
        extra_releases_.insert(release);
    }
    try {
        publish_release(release);
    } catch (const std::exception& e) {
        result.add_error("Failed to create the repo for " + release + ": " + core::format_error_chain(e), HTTP_INTERNAL);
    }
    return result;
}

OpResult PatchService::del_release(const std::string& release) {
    std::lock_guard op(op_mutex_);
    OpResult result;
    if (auto problem = core::release_problem(release)) {
        result.add_error("Invalid release " + core::escape_unprintable(release) + ": " + *problem, HTTP_BAD_REQUEST);
        return result;
    }
    if (release == config_.running_release) {
        result.add_error("Rejected: Requested release " + release + " is running release", HTTP_CONFLICT);
        return result;
    }
    store_.delete_release(release);
    {
        std::unique_lock data(data_mutex_);
        for (auto it = patches_.begin(); it != patches_.end();) {
            if (it->second.metadata.sw_version == release) {
                for (const char* action : {"pre-apply", "pre-remove"}) {
                    std::error_code ec;
                    fs::remove(config_.semantics_dir() / action / it->first, ec);
                }
                remove_metadata_files(it->first);
                tracker_.remove_patch(it->first);
                it = patches_.erase(it);
            } else {
                ++it;
            }
        }
        extra_releases_.erase(release);
    }
    std::error_code ec;
    fs::remove_all(config_.packages_dir() / release, ec);
    if (!publisher_->is_published(release)) {
        result.add_info("Patch repository for " + release + " does not exist");
    } else {
        publisher_->remove_release(release);
    }
    return result;
}

OpResult PatchService::report_app_dependencies(const std::vector<std::string>& ids, const std::string& app) {
    std::lock_guard op(op_mutex_);
    std::vector<std::string> sorted = ids;
    normalise(sorted);
    store_.set_app_dependencies(app, sorted);
    std::unique_lock data(data_mutex_);
    if (sorted.empty()) {
        app_dependencies_.erase(app);
    } else {
        app_dependencies_[app] = sorted;
    }
    return {};
}

nlohmann::json PatchService::query_app_dependencies() {
    std::shared_lock data(data_mutex_);
    return json(app_dependencies_);
}

OpResult PatchService::host_install_async(const std::string& host, bool force) {
    OpResult result;
    std::string hostname;
    {
        std::unique_lock data(data_mutex_);
        auto it = std::find_if(hosts_.begin(), hosts_.end(), [&](const auto& kv) {
            return kv.second.hostname == host || kv.second.ip == host || kv.first == host;
        });
        if (it == hosts_.end()) {
            result.add_error("Unknown host specified: " + core::escape_unprintable(host), HTTP_NOT_FOUND);
            return result;
        }
        HostStatus& h = it->second;
        if (is_stale(h, now_seconds())) {
            result.add_error("Host " + h.hostname + " is stale: its agent has not been heard from for " +
                                 std::to_string(now_seconds() - h.last_seen) +
                                 " s. Check that patch-agent runs on it and can reach this controller.",
                             HTTP_CONFLICT);
            return result;
        }
        if (h.state == "installing") {
            result.add_error("Host " + h.hostname + " is already installing; wait for it to finish", HTTP_CONFLICT);
            return result;
        }
        // As in the reference: when every applied patch installs in service, force is implied.
        core::protocol::InstallCommand command;
        command.request_id = std::to_string(now_seconds()) + "-" + std::to_string(++install_request_seq_);
        command.force = force || tracker_.is_insvc_patching_allowed();
        h.install_request = command;
        h.install_acked = false;
        h.install_pending = true;
        h.install_status.clear();
        h.install_reason.clear();
        hostname = h.hostname;
    }
    notify_agents(hostname);
    result.add_info("Patch installation request sent to " + hostname + ".");
    return result;
}

OpResult PatchService::drop_host(const std::string& host) {
    std::lock_guard op(op_mutex_);
    OpResult result;
    std::unique_lock data(data_mutex_);
    for (auto it = hosts_.begin(); it != hosts_.end(); ++it) {
        if (it->second.hostname == host || it->second.ip == host || it->first == host) {
            tracker_.drop_host(it->first);
            hosts_.erase(it);
            return result;
        }
    }
    result.add_error("Unknown host specified: " + core::escape_unprintable(host), HTTP_NOT_FOUND);
    return result;
}

bool PatchService::is_stale(const HostStatus& h, std::int64_t now) const {
    return h.agent.has_value() && now - h.last_seen > config_.agent_stale_seconds;
}

PatchService::AgentNews PatchService::agent_news(const std::string& hostname, const std::string& report_id) const {
    AgentNews news;
    news.op_counter = published_counter_.load();
    std::shared_lock data(data_mutex_);
    auto it = hosts_.find(hostname);
    if (it == hosts_.end() || !it->second.agent || it->second.agent->report_id != report_id) {
        news.send_report = true;
        return news;
    }
    if (!it->second.install_acked) {
        news.install = it->second.install_request;
    }
    return news;
}

void PatchService::agent_seen(const std::string& hostname, const std::string& remote_ip) {
    std::unique_lock data(data_mutex_);
    auto it = hosts_.find(hostname);
    if (it != hosts_.end()) {
        it->second.last_seen = now_seconds();
        it->second.ip = remote_ip;
    }
}

void PatchService::agent_report(const core::protocol::AgentReport& report, const std::string& remote_ip) {
    core::HostReport r;
    r.host_id = report.hostname;
    r.out_of_date = report.out_of_date;
    r.sw_version = report.sw_version;
    r.subfunctions = report.subfunctions;
    r.nodetype = report.nodetype;
    r.installed = report.installed;
    r.to_remove = report.to_remove;
    r.missing_pkgs = report.missing_pkgs;
    std::unique_lock data(data_mutex_);
    HostStatus& h = hosts_[report.hostname];
    h.hostname = report.hostname;
    h.ip = remote_ip;
    h.last_seen = now_seconds();
    h.state = report.state;
    h.patch_failed = report.patch_failed;
    h.requires_reboot = report.requires_reboot;
    if (report.install && h.install_request && report.install->request_id == h.install_request->request_id) {
        // The agent has the request; stop repeating it once it has an outcome.
        h.install_status = report.install->status;
        h.install_reason = report.install->reason;
        h.install_acked = true;
        if (report.install->status != "running") {
            h.install_request.reset();
            h.install_pending = false;
        }
    } else if (h.install_request && h.install_acked) {
        // The agent had started this request and now reports without it: it restarted in the
        // middle (crash, kill, reboot). The request is over; its report says how the host is.
        h.install_status = "failed";
        h.install_reason = report.failure_reason.empty() ? "the agent restarted during the install"
                                                         : report.failure_reason;
        h.install_request.reset();
        h.install_pending = false;
    }
    h.report = r;
    h.agent = report;
    cache_report_json(h);
    // A report computed before the last apply/remove was published says nothing about it: it
    // updates the host but does not take the host out of the interim lists.
    if (report.op_counter >= interim_counter_) {
        tracker_.host_reported(std::move(r));
    } else {
        tracker_.update_host(std::move(r));
    }
}

void PatchService::host_report(core::HostReport report, bool detailed) {
    std::unique_lock data(data_mutex_);
    HostStatus& h = hosts_[report.host_id];
    h.ip = report.host_id;
    if (h.hostname.empty()) {
        h.hostname = report.host_id;
    }
    h.last_seen = now_seconds();
    h.report = report;
    cache_report_json(h);
    if (detailed) {
        tracker_.host_reported(std::move(report));
    } else {
        tracker_.update_host(std::move(report));
    }
}

// ------------------------------------------------------------------------------------------
// Queries

nlohmann::json PatchService::patch_json(const std::string& id, const Patch& p) const {
    const core::PatchMetadata& m = p.metadata;
    json meta{{"repostate", std::string(core::to_string(p.repostate))},
              {"patchstate", patch_state(id)},
              {"sw_version", m.sw_version},
              {"reboot_required", m.is_reboot_required() ? "Y" : "N"},
              {"requires", m.required_patches}};
    auto optional = [&](const char* key, const std::optional<std::string>& v) {
        if (v) {
            meta[key] = *v;
        }
    };
    optional("status", m.status);
    optional("unremovable", m.unremovable);
    optional("summary", m.summary);
    optional("description", m.description);
    optional("install_instructions", m.install_instructions);
    optional("warnings", m.warnings);
    optional("apply_active_release_only", m.apply_active_release_only);
    for (const auto& [type, packages] : m.personalities) {
        meta["personality-" + type] = packages;
    }
    return meta;
}

nlohmann::json PatchService::query(const std::string& show, const std::string& release) {
    std::shared_lock data(data_mutex_);
    json pd = json::object();
    for (const auto& [id, p] : patches_) {
        if (!release.empty() && p.metadata.sw_version != release) {
            continue;
        }
        if ((show == "available" && p.repostate != RepoState::AVAILABLE) ||
            (show == "applied" && p.repostate != RepoState::APPLIED) ||
            (show == "committed" && p.repostate != RepoState::COMMITTED)) {
            continue;
        }
        pd[id] = patch_json(id, p);
    }
    return json{{"pd", pd}};
}

nlohmann::json PatchService::show(std::vector<std::string> ids) {
    normalise(ids);
    std::shared_lock data(data_mutex_);
    json metadata = json::object();
    json contents = json::object();
    std::string error;
    for (const auto& id : ids) {
        auto it = patches_.find(id);
        if (it == patches_.end()) {
            error += core::escape_unprintable(id) + " is unrecognized\n";
            continue;
        }
        metadata[id] = patch_json(id, it->second);
        contents[id] = it->second.metadata.contents;
    }
    return json{{"metadata", metadata}, {"contents", contents}, {"error", error}};
}

void PatchService::cache_report_json(HostStatus& h) {
    // Members of an object without its braces: query_hosts() splices them into each entry.
    auto members = [](const json& object) {
        std::string text = object.dump(-1, ' ', false, json::error_handler_t::replace);
        return text.size() > 2 ? text.substr(1, text.size() - 2) : std::string();
    };
    json brief = {{"hostname", h.hostname},
                  {"nodetype", h.report.nodetype},
                  {"subfunctions", h.report.subfunctions},
                  {"sw_version", h.report.sw_version}};
    json lists = {{"installed", h.report.installed},
                  {"to_remove", h.report.to_remove},
                  {"missing_pkgs", h.report.missing_pkgs},
                  {"duplicated_pkgs", h.agent ? json(h.agent->duplicated_pkgs) : json::object()}};
    if (h.agent) {
        brief["personality"] = h.agent->personality;
        brief["locked"] = h.agent->locked;
        brief["failure_reason"] = h.agent->failure_reason;
        brief["query_error"] = h.agent->query_error;
        brief["repo_revision"] = h.agent->repo_revision;
        brief["agent_version"] = h.agent->agent_version;
        if (h.agent->install && h.agent->install->status == "running") {
            brief["install_progress"] = {{"phase", h.agent->install->phase},
                                         {"done", h.agent->install->done},
                                         {"total", h.agent->install->total}};
        }
    }
    h.brief_json = members(brief);
    h.lists_json = members(lists);
}

std::string PatchService::query_hosts(bool brief) {
    std::shared_lock data(data_mutex_);
    const std::int64_t now = now_seconds();
    const bool insvc = tracker_.is_insvc_patching_allowed();
    std::string out = "{\"data\": [";
    bool first = true;
    for (const auto& [id, h] : hosts_) {
        const bool out_of_date = h.report.out_of_date;
        // The live fields: they change without a report (time, interim lists, install requests).
        const json live = {{"ip", h.ip},
                           {"patch_current", !out_of_date},
                           {"requires_reboot", out_of_date && !insvc ? true : h.requires_reboot},
                           {"allow_insvc_patching", insvc},
                           {"secs_since_ack", now - h.last_seen},
                           {"patch_failed", h.patch_failed},
                           {"stale_details", false},
                           {"state", h.state},
                           {"install_pending", h.install_pending},
                           {"install_status", h.install_status},
                           {"install_reject_reason", h.install_status == "rejected" ? h.install_reason : std::string()},
                           {"interim_state", tracker_.is_host_in_interim(id)},
                           {"stale", is_stale(h, now)}};
        std::string entry = live.dump(-1, ' ', false, json::error_handler_t::replace);
        entry.pop_back();  // '}'
        if (!h.brief_json.empty()) {
            entry += ',' + h.brief_json;
        }
        if (!brief && !h.lists_json.empty()) {
            entry += ',' + h.lists_json;
        }
        entry += '}';
        out += first ? "" : ", ";
        out += entry;
        first = false;
    }
    out += "]}";
    return out;
}

bool PatchService::all_in_state(std::vector<std::string> ids, const std::string& state) {
    std::shared_lock data(data_mutex_);
    if (ids.empty()) {
        return false;
    }
    return std::all_of(ids.begin(), ids.end(),
                       [&](const std::string& id) { return patches_.contains(id) && patch_state(id) == state; });
}

}  // namespace patching::controller
