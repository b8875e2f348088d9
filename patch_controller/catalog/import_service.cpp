// SPDX-License-Identifier: Apache-2.0
#include "catalog/import_service.hpp"

#include <common/log.hpp>

#include <controller/faults/fault_points.hpp>
#include <patch_core/errors.hpp>
#include <patch_core/evr.hpp>
#include <patch_core/fs.hpp>
#include <patch_core/patch_file.hpp>
#include <patch_core/rpm/rpm_inspector.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <set>

namespace patching::controller {

using core::RepoState;
namespace fs = std::filesystem;

namespace {

core::Evr evr_of(const StoredRpm& rpm) { return core::Evr{rpm.epoch, rpm.version, rpm.release}; }

std::string evr_text(const StoredRpm& rpm) {
    return (rpm.epoch.empty() ? "" : rpm.epoch + ":") + rpm.version + "-" + rpm.release;
}

// "<path>: problem" from read_patch, shown with the uploaded file's name only.
std::string strip_path(const std::string& message, const fs::path& path) {
    std::string prefix = core::escape_unprintable(path.string()) + ": ";
    return message.rfind(prefix, 0) == 0 ? message.substr(prefix.size()) : message;
}

}  // namespace

bool ImportService::under_import_roots(const fs::path& real) const {
    for (const auto& root : config_.import_roots) {
        std::error_code ec;
        const fs::path real_root = fs::weakly_canonical(root, ec);
        if (ec) {
            continue;
        }
        auto r = real_root.begin();
        auto p = real.begin();
        for (; r != real_root.end() && p != real.end() && *r == *p; ++r, ++p) {
        }
        if (r == real_root.end() || (std::next(r) == real_root.end() && r->empty())) {
            return true;
        }
    }
    return false;
}

OpReport ImportService::upload(const UploadRequest& request) { return import_one(request.patch_file, &request); }

OpReport ImportService::upload_dir(const std::vector<std::string>& dirs) {
    // upload_dir reads the controller's own file system on a caller's word: only under the
    // configured import roots, after resolving symbolic links and "..".
    std::string roots_text;
    for (const auto& root : config_.import_roots) {
        roots_text += (roots_text.empty() ? "" : ", ") + root.string();
    }
    if (config_.import_roots.empty()) {
        throw InvalidRequest("upload_dir is disabled on this controller: no import_roots are configured (the "
                             "directories upload_dir may read); use upload, or set import_roots in [controller]");
    }
    std::vector<fs::path> files;
    for (const auto& dir : dirs) {
        std::error_code ec;
        if (!fs::path(dir).is_absolute() || !fs::is_directory(dir, ec)) {
            throw InvalidRequest("Not an absolute directory path on the controller: " + core::escape_unprintable(dir));
        }
        const fs::path real = fs::canonical(dir, ec);
        if (ec || !under_import_roots(real)) {
            throw InvalidRequest("Directory " + core::escape_unprintable(dir) +
                                 " is outside the controller's import roots (" + roots_text +
                                 "): upload_dir reads only those; copy the patches there or use upload");
        }
        for (const auto& entry : fs::directory_iterator(real)) {
            // A link in a root that leads out of the roots is not followed.
            const fs::path target = fs::canonical(entry.path(), ec);
            if (!ec && entry.is_regular_file() && entry.path().extension() == ".patch" && under_import_roots(target)) {
                files.push_back(entry.path());
            }
        }
    }
    std::sort(files.begin(), files.end());
    OpReport report;
    if (files.empty()) {
        report.add_info("No patches found");
        return report;
    }
    std::vector<std::string> errors;
    std::optional<ErrorKind> first_kind;
    for (const auto& file : files) {
        try {
            report.merge(import_one(file, nullptr));
        } catch (const ServiceError& e) {
            report.merge(e.partial());
            errors.insert(errors.end(), e.lines().begin(), e.lines().end());
            first_kind = first_kind.value_or(e.kind());
        }
    }
    if (first_kind) {
        throw ServiceError(*first_kind, errors, report);
    }
    return report;
}

std::vector<std::string> ImportService::check_import(const core::PatchMetadata& md,
                                                     const std::vector<StoredRpm>& rpms) {
    std::vector<std::string> errors;
    const std::string& id = md.id;
    BaseFeed& base = publishing_.feed(md.sw_version);
    std::shared_lock data(state_.mutex);
    if (!base.exists() && !state_.extra_releases.contains(md.sw_version)) {
        errors.push_back("Patch " + id + " software release (" + md.sw_version + ") is not installed");
        return errors;
    }
    for (const auto& rpm : rpms) {
        if (const BasePackage* original = base.lookup(rpm.name, rpm.arch)) {
            core::Evr base_evr{original->epoch, original->version, original->release};
            if (core::label_compare(evr_of(rpm), base_evr) <= 0) {
                errors.push_back("RPM " + rpm.file_name + " in patch " + id + " must be higher version than original (" +
                                 original->evr() + ")");
            }
        }
        for (const auto& [other_id, other] : state_.patches) {
            if (other_id == id || other.metadata.sw_version != md.sw_version) {
                continue;
            }
            for (const auto& o : other.rpms) {
                if (o.name == rpm.name && o.arch == rpm.arch && evr_text(o) == evr_text(rpm)) {
                    errors.push_back("Patch " + id + " contains rpm " + rpm.file_name +
                                     ", which is already provided by patch " + other_id);
                }
            }
        }
    }
    return errors;
}

OpReport ImportService::import_one(const fs::path& patch_file, const UploadRequest* upload) {
    OpReport report;
    const std::string basename = patch_file.filename().string();
    if (patch_file.extension() != ".patch") {
        throw InvalidRequest("File must end in .patch extension: " + core::escape_unprintable(basename));
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
    if (upload != nullptr) {
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
                size_t n = upload->read_body(upload_buffer.data(), upload_buffer.size());
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
            throw InvalidRequest("Upload of " + core::escape_unprintable(basename) + " failed: " + upload_error);
        }
        throw InvalidPatch("Patch validation failed for " + core::escape_unprintable(id) + ":\n" +
                           strip_path(e.what(), patch_file));
    }
    if (upload != nullptr) {
        // Bytes after the archive (padding) still belong to the file. The client may go away
        // or stall here too: that is a failed upload, as during verification, not a crash.
        try {
            for (size_t n; (n = upload->read_body(upload_buffer.data(), upload_buffer.size())) > 0;) {
                store_chunk(upload_buffer.data(), n);
            }
        } catch (const std::exception& e) {
            throw InvalidRequest("Upload of " + core::escape_unprintable(basename) + " failed: " + e.what());
        }
        upload_fd = core::UniqueFd();
    }
    const auto verified_ms = elapsed_ms();
    faults::fault_point("upload.after_receive");
    std::lock_guard op(state_.operation_mutex);
    const core::PatchMetadata& md = verified.metadata;
    std::vector<StoredRpm> rpms;
    for (const auto& member : verified.software) {
        const rpm::PackageInfo& info = inspector.packages().at(member.name);
        rpms.push_back({member.name, info.name, info.epoch, info.version, info.release, info.arch, member.size});
    }

    std::optional<CatalogPatch> known;
    {
        std::shared_lock data(state_.mutex);
        if (auto it = state_.patches.find(id); it != state_.patches.end()) {
            known = it->second;
        }
    }
    if (known) {
        CatalogPatch updated = std::move(*known);
        if (updated.repostate == RepoState::COMMITTED) {
            report.add_info(id + " is committed. Metadata not updated");
            return report;
        }
        std::set<std::string> stored_names;
        for (const auto& r : updated.rpms) {
            stored_names.insert(r.file_name);
        }
        if (stored_names != std::set<std::string>(md.contents.begin(), md.contents.end())) {
            throw Conflict("Contents of " + id + " do not match re-imported patch");
        }
        // The release decides where the RPMs are stored and published: a metadata-only
        // update must not move the patch to another release (its files would be orphans).
        if (md.sw_version != updated.metadata.sw_version) {
            throw Conflict("Contents of " + id + " do not match re-imported patch: it is imported for release " +
                           updated.metadata.sw_version + ", not " + core::escape_unprintable(md.sw_version));
        }
        updated.metadata = md;
        updated.metadata_xml = verified.metadata_xml;
        store_.write([&](WriteTransaction& tx) {
            tx.put_patch(updated.to_stored());
            tx.bump_op_counter();
        });
        std::unique_lock write(state_.mutex);
        state_.tracker.set_patch(core::make_patch_info(md, updated.repostate));
        files_.write_metadata(updated);
        state_.patches[id] = std::move(updated);
        report.add_info(id + " is already imported. Updated metadata only");
        return report;
    }

    std::vector<std::string> problems = check_import(md, rpms);
    if (!problems.empty()) {
        std::string joined;
        for (const auto& line : problems) {
            joined += (joined.empty() ? "" : "\n") + line;
        }
        throw Conflict("Patch validation failed for " + id + ":\n" + joined);
    }

    // Files first, the store last: a crash in between leaves only orphans, which recovery
    // removes, never a patch the store knows whose files are missing.
    CatalogPatch patch{md, verified.metadata_xml, RepoState::AVAILABLE, rpms, clock_.now_seconds()};
    fs::path staging = files_.make_staging_dir("import-");
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
            fs::path target = files_.semantic_script(script.action, id);
            core::write_file_atomically(target, script.content, 0544);
            placed.push_back(target);
        }
        faults::fault_point("upload.after_place");
        store_.write([&](WriteTransaction& tx) {
            tx.put_patch(patch.to_stored());
            tx.bump_op_counter();
        });
    } catch (...) {
        for (const auto& p : placed) {
            std::error_code ec;
            fs::remove(p, ec);
        }
        std::error_code ec;
        fs::remove_all(staging, ec);
        throw;
    }
    faults::fault_point("upload.after_commit");
    fs::remove_all(staging);

    std::unique_lock write(state_.mutex);
    state_.tracker.set_patch(core::make_patch_info(md, RepoState::AVAILABLE));
    files_.write_metadata(patch);
    state_.patches[id] = std::move(patch);
    report.add_info(id + " is now available");
    common::log::info("imported " + id + " (" + std::to_string(rpms.size()) + " RPMs) in " +
                      std::to_string(elapsed_ms()) + " ms, " + std::to_string(verified_ms) + " ms of it verifying");
    return report;
}

}  // namespace patching::controller
