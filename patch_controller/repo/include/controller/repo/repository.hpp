// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace patching::controller {

/// One RPM that belongs in a release's repository.
struct RepoPackage {
    std::filesystem::path source;  ///< The file to publish (package store or base feed).
    std::string file_name;         ///< Name in the repo, "N-V-R.A.rpm"; a plain file name.
    std::string arch;              ///< Header arch; the file goes to Packages/<arch>/.
};

/// How RepositoryPublisher runs createrepo_c.
struct PublisherOptions {
    std::string createrepo = "createrepo_c";  ///< Program, looked up in PATH unless a path.
    unsigned workers = 2;                     ///< --workers: threads reading new RPMs.
    std::chrono::seconds timeout{600};        ///< Killed and reported as a failure after this.
    bool sqlite_database = false;             ///< Also build the sqlite DBs (yum 3 clients).
};

/// What one RepositoryPublisher::publish() call did.
struct PublishResult {
    std::size_t linked = 0;   ///< Packages hard-linked into Packages/.
    std::size_t copied = 0;   ///< Packages copied (source on another file system).
    std::size_t removed = 0;  ///< Entries removed from Packages/ (not desired, stale temp files).
    bool comps_written = false;  ///< comps.xml changed.
    bool regenerated = false;    ///< createrepo_c ran; false when the repodata was already current.
    bool incremental = false;    ///< It reused the previous metadata for unchanged packages.
    std::vector<std::string> packages_read;  ///< Repo paths of the RPMs createrepo_c read.
};

/// Publishes the yum/dnf repository of each release at `<repo_root>/rel-<release>/`:
///
///     Packages/<arch>/<rpm>   the desired RPMs, hard links to their source where possible
///     comps.xml               the group file passed to publish()
///     repodata -> .gen-N/repodata   symlink to the current metadata generation
///
/// publish() converges the directory on the desired state and is idempotent, so the controller
/// can call it again after a crash to repair a repository that is out of step. Readers (dnf,
/// the HTTP server) always see a complete repodata: the old one or the new one, never a mix,
/// because each generation is built in its own directory by createrepo_c, flushed, and made
/// current by renaming a symlink over `repodata`. Metadata files of the previous generation are
/// kept beside the new ones, so a client that read the old repomd.xml can still fetch them.
///
/// Regeneration is incremental: createrepo_c reuses the previous generation's metadata for
/// every package whose name, size and mtime are unchanged, so adding one patch to a repository
/// of thousands of RPMs reads only the new RPMs. A publish that changes nothing does not run
/// createrepo_c at all.
///
/// Calls for the same release are serialized with an flock on `<repo_root>/.rel-<release>.lock`
/// (across threads and processes); calls for different releases may run in parallel.
class RepositoryPublisher {
public:
    /// Does no I/O; a relative `repo_root` is made absolute against the working directory.
    explicit RepositoryPublisher(
        const std::filesystem::path& repo_root, PublisherOptions options = {});

    /// Makes `<repo_root>/rel-<release>/` the repository of exactly `desired` with `comps_xml`
    /// as its group file: links or copies missing and changed packages (temporary name, then
    /// rename), removes everything else from Packages/, writes comps.xml atomically, and
    /// regenerates the repodata if any of that differs from what the current repodata
    /// describes. Creates the repository if it does not exist (init-release: pass no packages).
    /// On failure the previously published repodata stays in place.
    /// @throws core::Error for an invalid release, arch or file name, or two different sources
    ///         for one repo path; core::SystemError (naming the path) for file system failures;
    ///         core::Error "Failed to update the repo for <release>: <createrepo_c output>" if
    ///         createrepo_c fails, cannot be run or times out.
    PublishResult publish(
        const std::string& release,
        const std::vector<RepoPackage>& desired,
        const std::string& comps_xml);

    /// True if the release's repository has current metadata (repodata/repomd.xml exists).
    bool is_published(const std::string& release) const;

    /// Deletes the release's repository (del-release). The directory disappears at once (it is
    /// renamed aside, then deleted). Does nothing if it does not exist.
    /// @throws core::Error for an invalid release; core::SystemError if it cannot be removed.
    void remove_release(const std::string& release);

    /// `<repo_root>/rel-<release>`. @throws core::Error for an invalid release.
    std::filesystem::path release_dir(const std::string& release) const;

    const std::filesystem::path& repo_root() const { return repo_root_; }

private:
    std::filesystem::path repo_root_;
    PublisherOptions options_;
};

}  // namespace patching::controller
