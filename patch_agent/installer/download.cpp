// SPDX-License-Identifier: Apache-2.0
// The installer's download step: the packages a transaction needs, fetched in parallel into the
// agent's cache, hashed as they arrive and checked against the repository before librpm sees them.
#include "installer/installer.hpp"

#include "installer/installer_detail.hpp"
#include "net/http_client.hpp"

#include <patch_core/errors.hpp>

#include <signing/digest.hpp>
#include <signing/errors.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>

namespace fs = std::filesystem;

namespace patching::agent {

namespace {

// Cap for a package whose primary.xml entry gives no size (the checksum still decides).
constexpr std::uint64_t MAX_UNSIZED_PACKAGE_BYTES = 8ULL << 30U;
constexpr std::uint64_t SIZE_SLACK = 1U << 20U;

// ---- digests

/// Lower-case hex digest of the whole file. @throws core::Error naming it.
std::string file_digest(const fs::path& file, const std::string& type) {
    try {
        return signing::file_digest_hex(file, type);
    } catch (const signing::Error& e) {
        throw core::Error(e.what());
    }
}

/// Why a file of `size` bytes whose digest is `actual` is not the repository's `pkg`, or "" if
/// it is.
std::string mismatch_of(std::uint64_t size, const std::string& actual, const RepoPackage& pkg) {
    if (pkg.size != 0 && size != pkg.size) {
        return "it has " + std::to_string(size) + " bytes, the repository says " +
               std::to_string(pkg.size);
    }
    std::string expected = pkg.checksum;
    std::transform(expected.begin(), expected.end(), expected.begin(), [](unsigned char c) {
        return static_cast<char>(std::tolower(c));
    });
    if (actual != expected) {
        return "its " + pkg.checksum_type + " is " + actual + ", the repository says " +
               core::escape_unprintable(expected);
    }
    return "";
}

/// Whether `file` exists and is the repository's `pkg` (a download kept from a failed install).
bool is_verified_copy(const fs::path& file, const RepoPackage& pkg) {
    try {
        return fs::exists(file) && !pkg.checksum.empty() &&
               mismatch_of(fs::file_size(file), file_digest(file, pkg.checksum_type), pkg).empty();
    } catch (const std::exception&) {
        return false;  // unreadable or unverifiable: downloaded again and checked then
    }
}

}  // namespace

std::size_t Installer::download(
    const std::vector<RepoPackage>& packages,
    InstallProgress& progress,
    InstallOutcome& outcome,
    const std::function<void(const RepoPackage&, const fs::path&)>& verified) {
    const fs::path cache = config_.state_dir / "cache";
    fs::create_directories(cache);
    std::map<std::string, fs::path> files;
    std::set<std::string> wanted;
    for (const auto& p : packages) {
        std::string name = p.nevra() + ".rpm";
        std::replace(name.begin(), name.end(), '/', '_');  // repository text names a local file
        if (name.starts_with(".")) {
            name.insert(0, "_");
        }
        files[p.nevra()] = cache / name;
        wanted.insert(name);
    }
    // What an earlier failed install left and this one does not need.
    for (const auto& entry : fs::directory_iterator(cache)) {
        if (!wanted.contains(entry.path().filename().string())) {
            fs::remove_all(entry.path());
        }
    }

    // Everything not already here and verified is fetched at once, hashed as it arrives.
    struct Fetch {
        const RepoPackage* package = nullptr;
        std::string url;
        std::optional<signing::Digest> digest;
        std::uint64_t size = 0;
        bool verified = false;
    };
    std::vector<Fetch> fetches;
    std::size_t done = 0;
    for (const auto& p : packages) {
        const std::string nevra = core::escape_unprintable(p.nevra());
        if (is_verified_copy(files.at(p.nevra()), p)) {
            outcome.log.push_back("download: " + nevra + " already downloaded and verified");
            verified(p, files.at(p.nevra()));
            ++done;
            continue;
        }
        const std::string url = config_.repo_url + "/" + p.location;
        if (p.checksum.empty()) {
            throw InstallFailure(
                "The repository gives no checksum for " + nevra + " (" +
                core::escape_unprintable(url) +
                "), so it cannot be verified. Nothing was changed. Check the repository on the "
                "controller.");
        }
        Fetch fetch{&p, url, std::nullopt, 0, false};
        try {
            fetch.digest.emplace(p.checksum_type);
        } catch (const signing::Error& e) {
            throw InstallFailure(
                "The package " + nevra + " (" + core::escape_unprintable(url) +
                ") cannot be checked against the repository: " + e.what() +
                ". Nothing was changed. Check the repository on the controller.");
        }
        fetches.push_back(std::move(fetch));
    }
    // Whatever did not arrive whole and verified goes: a retry fetches it again.
    struct RemoveUnverified {
        const std::vector<Fetch>& fetches;
        const std::map<std::string, fs::path>& files;
        ~RemoveUnverified() {
            for (const auto& f : fetches) {
                if (!f.verified) {
                    std::error_code ec;
                    fs::remove(files.at(f.package->nevra()), ec);
                }
            }
        }
    } remove_unverified{fetches, files};

    progress.on_progress(
        "download", done, packages.size(), fetches.empty() ? "" : fetches[0].package->nevra());
    std::vector<DownloadRequest> requests;
    requests.reserve(fetches.size());
    for (auto& f : fetches) {
        const RepoPackage& p = *f.package;
        DownloadRequest request;
        request.url = f.url;
        request.file = files.at(p.nevra());
        // Some slack over the announced size, so that a slightly longer file is reported as
        // not matching the repository rather than as an aborted transfer.
        request.max_bytes = p.size != 0 ? p.size + SIZE_SLACK : MAX_UNSIZED_PACKAGE_BYTES;
        request.on_data = [&f](std::span<const std::byte> data) {
            f.size += data.size();
            f.digest->update(data);
        };
        request.on_done = [&f, &done, &outcome, &progress, &verified, file = request.file,
                           total = packages.size()](long status) {
            const RepoPackage& pkg = *f.package;
            const std::string nevra = core::escape_unprintable(pkg.nevra());
            const std::string shown_url = core::escape_unprintable(f.url);
            if (status != 200) {
                throw InstallFailure(
                    "Cannot download " + nevra + " from " + shown_url + ": HTTP status " +
                    std::to_string(status) +
                    ". Nothing was changed. The controller's repository may have changed since "
                    "the query; run host-install again.");
            }
            const std::string mismatch = mismatch_of(f.size, f.digest->finish_hex(), pkg);
            if (!mismatch.empty()) {
                throw InstallFailure(
                    "The package " + nevra + " downloaded from " + shown_url +
                    " does not match the repository: " + mismatch +
                    ". Nothing was changed. The file on the controller is damaged or the "
                    "repository is being republished; run host-install again, and if it fails "
                    "again check the patch repository on the controller.");
            }
            f.verified = true;
            outcome.log.push_back("download: " + nevra + " from " + shown_url + " verified");
            verified(pkg, file);
            progress.on_progress("download", ++done, total, pkg.nevra());
        };
        requests.push_back(std::move(request));
    }
    if (auto failure = http_.download_all(requests, config_.download_timeout)) {
        const Fetch& f = fetches[failure->index];
        try {
            std::rethrow_exception(failure->error);
        } catch (const InstallFailure&) {
            throw;
        } catch (const std::exception& e) {
            throw InstallFailure(
                "Cannot download " + core::escape_unprintable(f.package->nevra()) + " from " +
                core::escape_unprintable(f.url) + ": " + core::format_error_chain(e) +
                ". Nothing was changed. Check the connection to the controller and its "
                "repository, then run host-install again.");
        }
    }
    progress.on_progress("download", done, packages.size(), "");
    return fetches.size();
}


}  // namespace patching::agent
