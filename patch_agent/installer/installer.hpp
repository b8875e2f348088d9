// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "net/http_client.hpp"

#include "installer/host_flags.hpp"
#include "installer/plan.hpp"

#include <patch_core/fs.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace patching::agent {


/// Where and what an Installer manages.
struct InstallerConfig {
    std::filesystem::path root = "/";  ///< Managed root (absolute).
    /// Agent state: ledger, download cache (<state_dir>/cache). Empty means
    /// <root>/var/lib/patch-agent.
    std::filesystem::path state_dir;
    std::string repo_url;              ///< e.g. http://ctrl:5491/updates/rel-1.0 (no trailing /).
    std::vector<std::string> subfunctions;  ///< Selects the comps group.
    std::string personality;           ///< For the scripts' environment (is_controller...).
    RepoLimits limits;
    std::chrono::milliseconds download_timeout{300000};
    /// Bound for the in-service scripts, each.
    std::chrono::seconds script_timeout{300};
};

/// Result of a query: the repo as fetched, the rpmdb, and what must change.
struct QueryResult {
    std::string repo_revision;
    Plan plan;
    RepoIndex repo;  ///< The index the plan was computed from (targets of duplicate repairs).
    std::vector<rpm::InstalledPackage> installed;  ///< The rpmdb as read for the plan.
};

enum class InstallStatus {
    OK,        ///< Transaction ran (or nothing to do) and the in-service scripts succeeded.
    FAILED,    ///< See InstallOutcome::reason; the failed flag is set.
    REJECTED,  ///< Locked/force rule: nothing was touched.
};

struct InstallOutcome {
    InstallStatus status = InstallStatus::OK;
    std::string reason;        ///< For FAILED/REJECTED: what went wrong and what to do, for people.
    bool changed = false;      ///< Packages were installed, upgraded, downgraded or erased.
    bool reboot_required = false;  ///< node_is_patched remains set after the install.
    std::vector<std::string> log;  ///< Human-readable steps (transaction elements, scripts' output).
    /// Milliseconds spent in each step, in the order they ran ("query", "download", "prepare",
    /// "durable", "transaction", "scripts", "finish", ...): for the agent's log and benchmarks.
    std::vector<std::pair<std::string, double>> timings;
};

/// Progress of an install, for the reporter (reports stay under one per ~250 ms there).
class InstallProgress {
public:
    virtual ~InstallProgress() = default;
    /// `phase`: "query", "download", "transaction", "scripts". `done`/`total` in items.
    virtual void on_progress(const std::string& phase, std::size_t done, std::size_t total,
                             const std::string& item) = 0;
};

struct InstallRequest {
    bool force = false;      ///< Install even if the node is not locked (in-service patches).
    bool boot_time = false;  ///< patch-agent --install: set the RR flag instead of running scripts.
    /// The controller's administrative state, when the agent has it (a lock or unlock command
    /// told it): the locking rule follows it rather than a flag someone changed by hand. Without
    /// it, the reference's flag decides.
    std::optional<bool> locked{};
};

/// Makes the managed root match the repository (spec §4.3): locked/force rule, installing flag,
/// query, download with checksum check, one librpm transaction with dependency check (upgrades,
/// downgrades, missing group packages, erasures of managed packages, repair of duplicates),
/// node_is_patched / RR flags, in-service scripts, failed flag.
///
/// Not thread-safe: the daemon runs one install or query at a time.
class Installer {
public:
    Installer(InstallerConfig config, HttpClient& http);
    /// Waits until the last install's flags are on disk.
    ~Installer();
    Installer(const Installer&) = delete;
    Installer& operator=(const Installer&) = delete;

    /// Fetches the repository index and compares it with the rpmdb. Throws core::Error (naming
    /// the URL or the rpmdb) if either cannot be read.
    QueryResult query();
    /// What query() returns while the repository has not changed, without asking the controller:
    /// the index fetched last against the rpmdb as it is now (an install's result is reported
    /// without a round trip first). query() itself if no index was fetched yet.
    QueryResult query_rpmdb();

    /// Runs an install. Unless the node is locked or `request.force`, it is REJECTED with the
    /// reference's reason "Node must be locked." and nothing is touched. Otherwise: installing
    /// flag; fresh in-service dirs; query; download the needed RPMs in parallel, each checked
    /// (size, checksum) as it arrives; ledger; the installing flag and the ledger made durable;
    /// one librpm transaction after a dependency check. When packages changed, node_is_patched
    /// is set while they wait for something: a failed transaction (librpm does not roll back),
    /// the RR flag (no scripts), a boot-time install (sets RR) or the in-service scripts, and it
    /// is cleared once those all succeed (an install without scripts never sets it). Finally the
    /// in-service dirs go, the failed flag is cleared (OK) or set to the reason (FAILED), the
    /// installing flag goes; all of that reaches the disk at once, while the caller reports
    /// (wait_until_durable()).
    /// Never throws for an install that fails: the outcome says why and the failed flag is set.
    /// Throws only for bugs (after the flags are settled).
    InstallOutcome install(const InstallRequest& request, InstallProgress& progress);

    /// install() returns while its last changes to the flags and the ledger are still being
    /// written to disk, so that its result can be reported meanwhile. This waits for them and
    /// says why they could not be made durable, if they could not. The next install() and the
    /// destructor wait too.
    std::optional<std::string> wait_until_durable();

    /// Removes the packages the last install downloaded once its transaction has used them
    /// (a failed download or transaction keeps them for a retry). Not part of install(), so
    /// that the result can be reported first: unlinking ten 1 MiB files takes milliseconds.
    void remove_downloads();

    /// Downloads and verifies, into the download cache, the packages an install of `q`'s plan
    /// would fetch, without changing anything else: the next install finds them there (checked
    /// again) and does not wait for them. Returns how many packages were fetched (0 when the
    /// cache had them all). @throws InstallFailure or core::Error saying why (the install will
    /// fetch them itself).
    std::size_t prefetch(const QueryResult& q);

    /// Called once at agent start: if the installing flag is present, an install was cut short
    /// (agent or host died). Sets the failed flag with a reason naming the PID and start time,
    /// clears the installing flag and the in-service dirs, and returns that reason. The reason
    /// also lists packages the rpmdb now holds twice (the next install repairs them).
    std::optional<std::string> recover_interrupted_install();

    HostFlags& flags() { return flags_; }
    /// "name.arch" of packages installed from the repository by this agent (the ledger,
    /// <state_dir>/managed-packages, written atomically and durably before each transaction that
    /// adds names, and with the final flags after one that removes packages).
    std::set<std::string> managed_packages() const;

private:
    /// The steps of install() after the installing flag is set. Throws on failure; install()
    /// turns that into the outcome and the flags.
    void run_install(
        const InstallRequest& request, InstallProgress& progress, InstallOutcome& outcome);
    /// Fetches `packages` into <state_dir>/cache (where the transaction reads them), in parallel,
    /// each checked against the repository while it arrives, and calls `verified` with each
    /// package and its file once it is (while others may still arrive). Throws InstallFailure
    /// naming the first package that failed, or what `verified` threw; then no unverified file
    /// is left.
    /// Returns how many were fetched (the others were in the cache, verified).
    std::size_t download(
        const std::vector<RepoPackage>& packages,
        InstallProgress& progress,
        InstallOutcome& outcome,
        const std::function<void(const RepoPackage&, const std::filesystem::path&)>& verified);
    /// The executable files of scripts_dir(), by name. Throws (and sets node_is_patched) if the
    /// directory cannot be read.
    std::vector<std::filesystem::path> in_service_scripts();
    /// Runs `scripts` in order; throws naming the failed ones.
    void run_scripts(const std::vector<std::filesystem::path>& scripts,
                     InstallProgress& progress,
                     InstallOutcome& outcome);
    /// Writes the ledger's next content under a temporary name; start_durable() puts it in
    /// place.
    void stage_ledger(const std::set<std::string>& managed);
    /// Starts making the flags' changes so far and the staged ledger durable on a helper thread,
    /// in two waits for the disk, so that downloads or a report need not wait for it. Waits for
    /// a previous one first.
    void start_durable();
    /// Waits for start_durable()'s work; rethrows its failure.
    void wait_durable();
    /// start_durable(), then wait_durable().
    void make_durable();
    /// Records in outcome.timings the time since the previous step ended.
    void step_done(InstallOutcome& outcome, const char* step);

    InstallerConfig config_;
    HttpClient& http_;
    /// The plan of `repo` against the rpmdb as it is now.
    QueryResult query(RepoIndex repo);

    HostFlags flags_;
    std::optional<RepoIndex> last_index_;  ///< Reused while repomd names the same files.
    std::chrono::steady_clock::time_point step_started_{};
    std::unique_ptr<core::AtomicFile> staged_ledger_;  ///< Set between stage_ledger and start_durable.
    std::future<void> durable_;  ///< The sync start_durable() runs.
    /// The ledger before names were added for a transaction that has not started yet.
    std::optional<std::set<std::string>> ledger_before_;
    bool downloads_used_ = false;  ///< The cache holds packages a transaction has installed.
};

}  // namespace patching::agent
