// SPDX-License-Identifier: Apache-2.0
#include "installer/installer.hpp"

#include "net/http_client.hpp"
#include "repo/repo_index.hpp"

#include <common/subprocess.hpp>
#include <patch_core/errors.hpp>
#include <patch_core/evr.hpp>
#include <patch_core/fs.hpp>
#include <patch_core/rpm/installed.hpp>
#include <patch_core/rpm/transaction.hpp>

#include <signing/digest.hpp>
#include <signing/errors.hpp>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <future>
#include <map>
#include <memory>
#include <sstream>
#include <utility>

namespace fs = std::filesystem;

namespace patching::agent {

namespace {

constexpr const char* LEDGER_FILE = "managed-packages";
constexpr size_t MAX_LEDGER_BYTES = 16U << 20U;
// Cap for a package whose primary.xml entry gives no size (the checksum still decides).
constexpr std::uint64_t MAX_UNSIZED_PACKAGE_BYTES = 8ULL << 30U;
constexpr std::uint64_t SIZE_SLACK = 1U << 20U;
constexpr size_t MAX_SCRIPT_OUTPUT = 1U << 20U;

/// An install failure whose message is already the reason for people.
class InstallFailure : public core::Error {
    using core::Error::Error;
};

std::string key_of(const std::string& name, const std::string& arch) {
    return name + "." + arch;
}

std::string joined(const std::vector<std::string>& items, const std::string& separator) {
    std::string out;
    for (const auto& item : items) {
        out += (out.empty() ? "" : separator) + item;
    }
    return out;
}

void append_lines(
    std::vector<std::string>& log, const std::string& prefix, const std::string& text) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) {
            log.push_back(prefix + core::escape_unprintable(line));
        }
    }
}

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

// ---- in-service scripts

/// How one script ended: the run's status and output, or (when it could not be started) exit
/// code 127 and why, as a shell reports it.
common::subprocess::Result run_script(
    const fs::path& script,
    const std::optional<fs::path>& chroot_root,
    const std::vector<std::string>& environment,
    std::chrono::seconds timeout) {
    namespace sp = common::subprocess;
    sp::Options options;
    // In a chroot, scripts run with /bin/sh of the managed root; otherwise they are executed
    // (falling back to /bin/sh without a shebang).
    options.argv = chroot_root ? std::vector<std::string>{"/bin/sh", script.string()}
                               : std::vector<std::string>{script.string()};
    options.shell_fallback = !chroot_root;
    options.chroot_dir = chroot_root;
    options.cwd = "/";
    options.environment = environment;
    options.die_with_parent = false;
    try {
        // A restarted service the script leaves running must survive it (and may keep the
        // output pipe open for as long as it lives): the script's own exit ends the wait.
        return sp::run(
            std::move(options), {.timeout = timeout,
                                 .max_output = MAX_SCRIPT_OUTPUT,
                                 .keep = sp::Limits::Keep::HEAD,
                                 .on_exit = sp::Limits::OnExit::LEAVE_GROUP});
    } catch (const sp::SpawnError& e) {
        sp::Result failed;
        failed.status.exit_code = 127;
        failed.output = std::string("patch-agent: ") + e.what() + "\n";
        return failed;
    }
}

// ---- what the transaction does

struct Work {
    std::vector<RepoPackage> installs;          // add_install (upgrades, missing group packages)
    std::vector<RepoPackage> downgrades;        // add_downgrade
    std::vector<RepoPackage> reinstalls;        // add_reinstall (the kept copy of a duplicate)
    std::vector<rpm::InstalledPackage> erases;  // add_erase(name, arch): managed, in no repo
    std::vector<rpm::InstalledPackage> erase_instances;  // extra copies of duplicates
    std::set<std::string> ledger_add;                    // keys installed from the repository
    std::set<std::string> ledger_remove;                 // keys erased altogether
    std::size_t expected_elements = 0;  // for progress: librpm adds the erasures of upgrades

    std::vector<RepoPackage> downloads() const {
        std::vector<RepoPackage> all = installs;
        all.insert(all.end(), downgrades.begin(), downgrades.end());
        all.insert(all.end(), reinstalls.begin(), reinstalls.end());
        return all;
    }
    bool empty() const {
        return installs.empty() && downgrades.empty() && reinstalls.empty() && erases.empty() &&
               erase_instances.empty();
    }
};

std::optional<RepoPackage> best_in_repo(
    const RepoIndex& repo, const std::string& name, const std::string& arch) {
    std::optional<RepoPackage> best;
    for (const auto& p : repo.packages) {
        if (p.name == name && p.arch == arch &&
            (!best || core::label_compare(evr_of(p), evr_of(*best)) > 0)) {
            best = p;
        }
    }
    return best;
}

// Duplicates first: a crash mid-transaction leaves two rpmdb copies of a (name, arch). The
// copy the repository wants stays and is reinstalled, so its files are whole again whatever
// the interrupted transaction left on disk; the other copies are erased one by one.
void plan_duplicate_repairs(
    const QueryResult& q, const std::set<std::string>& managed, Work& work) {
    for (const auto& dup : q.plan.duplicates) {
        const std::string key = key_of(dup.name, dup.arch);
        const auto target = best_in_repo(q.repo, dup.name, dup.arch);
        const rpm::InstalledPackage* keep = nullptr;
        if (target) {
            for (const auto& copy : dup.installed) {
                if (core::label_compare(evr_of(copy), evr_of(*target)) == 0) {
                    keep = &copy;
                }
            }
            bool newer_installed = false;
            for (const auto& copy : dup.installed) {
                newer_installed =
                    newer_installed || core::label_compare(evr_of(copy), evr_of(*target)) > 0;
            }
            if (keep != nullptr) {
                work.reinstalls.push_back(*target);
            } else if (newer_installed) {
                work.downgrades.push_back(*target);
            } else {
                work.installs.push_back(*target);
            }
            work.ledger_add.insert(key);
        } else if (managed.contains(key)) {
            work.ledger_remove.insert(key);  // every copy goes, as for any managed leftover
        } else {
            // Unknown to the patch system: keep the newest copy (the one an upgrade wrote last).
            for (const auto& copy : dup.installed) {
                if (keep == nullptr || core::label_compare(evr_of(copy), evr_of(*keep)) > 0 ||
                    (core::label_compare(evr_of(copy), evr_of(*keep)) == 0 &&
                     copy.install_time >= keep->install_time)) {
                    keep = &copy;
                }
            }
        }
        for (const auto& copy : dup.installed) {
            if (&copy != keep) {
                work.erase_instances.push_back(copy);
                ++work.expected_elements;
            }
        }
        // The install of the target, and for a reinstall librpm's erasure of the kept copy.
        work.expected_elements += target ? (keep != nullptr ? 2 : 1) : 0;
    }
}

Work plan_work(const QueryResult& q, const std::set<std::string>& managed) {
    Work work;
    plan_duplicate_repairs(q, managed, work);
    std::set<std::string> duplicated;
    for (const auto& dup : q.plan.duplicates) {
        duplicated.insert(key_of(dup.name, dup.arch));
    }
    auto copies_of = [&](const std::string& name, const std::string& arch) {
        return static_cast<std::size_t>(std::count_if(
            q.installed.begin(), q.installed.end(),
            [&](const auto& p) { return p.name == name && p.arch == arch; }));
    };
    auto take = [&](const std::vector<RepoPackage>& from, std::vector<RepoPackage>& to) {
        for (const auto& p : from) {
            const std::string key = key_of(p.name, p.arch);
            if (!duplicated.contains(key)) {
                to.push_back(p);
                work.ledger_add.insert(key);
                work.expected_elements += 1 + copies_of(p.name, p.arch);
            }
        }
    };
    take(q.plan.to_upgrade, work.installs);
    take(q.plan.missing, work.installs);
    take(q.plan.to_downgrade, work.downgrades);
    for (const auto& p : q.plan.to_remove) {
        const std::string key = key_of(p.name, p.arch);
        if (!duplicated.contains(key)) {
            work.erases.push_back(p);
            work.ledger_remove.insert(key);
            work.expected_elements += copies_of(p.name, p.arch);
        }
    }
    return work;
}

// Progress and log of the librpm transaction, one report per finished element.
class TransactionReporter : public rpm::TransactionCallbacks {
public:
    TransactionReporter(InstallProgress& progress, InstallOutcome& outcome, std::size_t total)
        : progress_(progress), outcome_(outcome), total_(total) {}

    void on_scriptlet_error(
        const std::string& nevra, const std::string& scriptlet, bool fatal) override {
        outcome_.log.push_back(
            "transaction: the " + scriptlet + " scriptlet of " + nevra + " failed" +
            (fatal ? " (the package was skipped)" : ""));
    }
    void on_element_done(const std::string& nevra, bool ok) override {
        ++done_;
        any_ok_ = any_ok_ || ok;
        outcome_.log.push_back("transaction: " + nevra + (ok ? " done" : " FAILED"));
        progress_.on_progress("transaction", done_, std::max(total_, done_), nevra);
    }
    bool any_ok() const { return any_ok_; }

private:
    InstallProgress& progress_;
    InstallOutcome& outcome_;
    std::size_t total_;
    std::size_t done_ = 0;
    bool any_ok_ = false;
};

std::string person_readable_installing(const std::string& flag) {
    // "pid=N started=T" -> "pid N, started T"
    std::string text = flag;
    if (auto pos = text.find("pid="); pos != std::string::npos) {
        text.replace(pos, 4, "pid ");
    }
    if (auto pos = text.find(" started="); pos != std::string::npos) {
        text.replace(pos, 9, ", started ");
    }
    return core::escape_unprintable(text);
}

}  // namespace

Installer::Installer(InstallerConfig config, HttpClient& http)
    : config_(std::move(config)), http_(http), flags_(config_.root) {
    if (config_.state_dir.empty()) {
        config_.state_dir = config_.root / "var" / "lib" / "patch-agent";
    }
}

QueryResult Installer::query() {
    RepoIndex index = fetch_repo_index(http_, config_.repo_url, config_.limits,
                                       last_index_ ? &*last_index_ : nullptr);
    last_index_ = index;
    return query(std::move(index));
}

void Installer::remove_downloads() {
    if (downloads_used_) {
        std::error_code ec;
        fs::remove_all(config_.state_dir / "cache", ec);
        downloads_used_ = false;
    }
}

QueryResult Installer::query_rpmdb() {
    if (!last_index_) {
        return query();
    }
    return query(*last_index_);
}

QueryResult Installer::query(RepoIndex repo) {
    QueryResult result;
    result.repo = std::move(repo);
    result.installed = rpm::list_installed(config_.root);
    result.repo_revision = result.repo.revision;
    result.plan =
        compute_plan(result.installed, result.repo, config_.subfunctions, managed_packages());
    return result;
}

std::set<std::string> Installer::managed_packages() const {
    std::set<std::string> managed;
    const fs::path ledger = config_.state_dir / LEDGER_FILE;
    std::error_code ec;
    if (!fs::exists(ledger, ec)) {
        return managed;
    }
    std::istringstream in(core::read_small_file(ledger, MAX_LEDGER_BYTES));
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) {
            managed.insert(line);
        }
    }
    return managed;
}

void Installer::stage_ledger(const std::set<std::string>& managed) {
    fs::create_directories(config_.state_dir);
    std::string text;
    for (const auto& key : managed) {
        text += key + "\n";
    }
    staged_ledger_.reset();
    staged_ledger_ = std::make_unique<core::AtomicFile>(config_.state_dir / LEDGER_FILE);
    staged_ledger_->write_all(text.data(), text.size());
}

void Installer::start_durable() {
    wait_durable();
    // Two waits for the disk, however many files changed: the data of the flags and of the
    // ledger, then the directories (the ledger's rename among their changes). The ledger's
    // content is on disk before its rename, so a power cut never leaves it empty. Only paths
    // cross to the helper thread; HostFlags stays on this one.
    std::shared_ptr<core::AtomicFile> ledger = std::move(staged_ledger_);
    HostFlags::Unsynced flags = flags_.take_unsynced();
    std::vector<fs::path> files = std::move(flags.files);
    std::vector<fs::path> directories = std::move(flags.directories);
    if (ledger) {
        files.push_back(ledger->temp_path());
        directories.push_back(config_.state_dir);
    }
    if (files.empty() && directories.empty()) {
        return;
    }
    durable_ = std::async(std::launch::async, [files, directories, ledger] {
        core::sync_paths(files);
        if (ledger) {
            ledger->commit(core::Sync::LATER);
        }
        core::sync_paths(directories);
    });
}

void Installer::wait_durable() {
    if (durable_.valid()) {
        durable_.get();
    }
}

void Installer::make_durable() {
    start_durable();
    wait_durable();
}

std::optional<std::string> Installer::wait_until_durable() {
    try {
        wait_durable();
    } catch (const std::exception& e) {
        return "cannot make the flags and the ledger durable: " + core::format_error_chain(e);
    }
    return std::nullopt;
}

Installer::~Installer() {
    // Nobody is left to tell of a failure; the next start finds the flags as the disk kept them.
    static_cast<void>(wait_until_durable());
}

std::optional<std::string> Installer::recover_interrupted_install() {
    const std::optional<std::string> installing = flags_.installing();
    if (!installing) {
        return std::nullopt;
    }
    std::string reason = "An install (" + person_readable_installing(*installing) +
                         ") was interrupted: the agent or the host stopped during it, so "
                         "packages may be half installed.";
    try {
        const auto duplicates = rpm::find_duplicates(rpm::list_installed(config_.root));
        if (!duplicates.empty()) {
            std::vector<std::string> names;
            for (const auto& d : duplicates) {
                std::vector<std::string> versions;
                for (const auto& copy : d.installed) {
                    versions.push_back(core::escape_unprintable(copy.nevra()));
                }
                names.push_back(joined(versions, " and "));
            }
            reason += " The rpmdb lists packages more than once: " + joined(names, "; ") + ".";
        }
    } catch (const std::exception& e) {
        reason += " The rpmdb cannot be read: " + core::format_error_chain(e) + ".";
    }
    reason += " Run host-install again to repair the host.";
    flags_.set_install_failed(reason);
    flags_.remove_in_service_dirs();  // whatever the cut-short install's scriptlets dropped
    flags_.clear_installing();
    flags_.sync();
    return reason;
}

void Installer::step_done(InstallOutcome& outcome, const char* step) {
    const auto now = std::chrono::steady_clock::now();
    outcome.timings.emplace_back(
        step, std::chrono::duration<double, std::milli>(now - step_started_).count());
    step_started_ = now;
}

InstallOutcome Installer::install(const InstallRequest& request, InstallProgress& progress) {
    InstallOutcome outcome;
    step_started_ = std::chrono::steady_clock::now();
    if (!request.force && !flags_.is_locked()) {
        // The reference's reject_reason, word for word: the controller shows it as is.
        outcome.status = InstallStatus::REJECTED;
        outcome.reason = "Node must be locked.";
        return outcome;
    }

    auto finish = [&] {
        step_done(outcome, "teardown");
        // Each step on its own: one failing must not keep the installing flag behind.
        auto attempt = [&](const char* what, auto&& step) {
            try {
                step();
            } catch (const std::exception& e) {
                outcome.log.push_back(
                    std::string("finish: cannot ") + what + ": " + core::format_error_chain(e));
            }
        };
        attempt("remove the in-service directories", [&] { flags_.remove_in_service_dirs(); });
        if (outcome.status == InstallStatus::OK) {
            attempt("clear the failed flag", [&] { flags_.clear_install_failed(); });
        } else {
            attempt("set the failed flag", [&] { flags_.set_install_failed(outcome.reason); });
        }
        attempt("clear the installing flag", [&] { flags_.clear_installing(); });
        if (ledger_before_) {
            // Names added for a transaction that never ran: the ledger is as it was.
            attempt("restore the ledger", [&] { stage_ledger(*ledger_before_); });
            ledger_before_.reset();
        }
        attempt("wait for the flags to reach the disk", [&] { wait_durable(); });
        if (staged_ledger_) {
            // A ledger restored or shrunk by erasures is in place when install() returns.
            attempt("make the ledger and the flags durable", [&] { make_durable(); });
        } else {
            // The flags' changes reach the disk while the caller reports (wait_until_durable(),
            // the next install or the destructor join).
            attempt("make the flags durable", [&] { start_durable(); });
        }
        outcome.reboot_required = flags_.is_node_patched();
        step_done(outcome, "finish");
    };

    if (auto error = wait_until_durable()) {  // the previous install's last changes
        outcome.log.push_back("previous install: " + *error);
    }
    try {
        flags_.set_installing();
        flags_.reset_in_service_dirs();
        step_done(outcome, "flags");
        run_install(request, progress, outcome);
    } catch (const core::AssertionError& e) {
        outcome.status = InstallStatus::FAILED;
        outcome.reason = std::string("The agent hit an internal error: ") + e.what();
        finish();
        throw;
    } catch (const InstallFailure& e) {
        outcome.status = InstallStatus::FAILED;
        outcome.reason = e.what();
    } catch (const std::exception& e) {
        outcome.status = InstallStatus::FAILED;
        outcome.reason = "The install failed: " + core::format_error_chain(e) +
                         ". Fix the cause, then run host-install again.";
    }
    if (outcome.status == InstallStatus::FAILED) {
        outcome.log.push_back("failed: " + outcome.reason);
    }
    finish();
    return outcome;
}

void Installer::run_install(
    const InstallRequest& request, InstallProgress& progress, InstallOutcome& outcome) {
    progress.on_progress("query", 0, 1, config_.repo_url);
    QueryResult q;
    try {
        q = query();
    } catch (const std::exception& e) {
        throw InstallFailure(
            "Cannot find out what to install: " + core::format_error_chain(e) +
            ". Nothing was changed. Check that the controller is reachable and has published "
            "its repository, then run host-install again.");
    }
    progress.on_progress("query", 1, 1, config_.repo_url);
    step_done(outcome, "query");
    const std::set<std::string> managed = managed_packages();
    Work work = plan_work(q, managed);
    outcome.log.push_back(
        "query: repository revision " + core::escape_unprintable(q.repo_revision) + ": " +
        std::to_string(work.installs.size()) + " to install or upgrade, " +
        std::to_string(work.downgrades.size()) + " to downgrade, " +
        std::to_string(work.erases.size()) + " to remove, " +
        std::to_string(work.erase_instances.size()) + " duplicate copies to erase");
    if (work.empty()) {
        outcome.log.push_back("nothing to change");
        return;
    }

    // The ledger learns the new names before librpm runs: after a crash halfway, the packages
    // this install put on the host are still known to be the patch system's. The ledger and
    // the installing flag reach the disk while the packages download; librpm starts only once
    // they have (a failure before it restores the ledger).
    std::set<std::string> ledger = managed;
    ledger.insert(work.ledger_add.begin(), work.ledger_add.end());
    if (ledger != managed) {
        stage_ledger(ledger);
        ledger_before_ = managed;
    }
    start_durable();
    step_done(outcome, "plan");

    // Each package joins the transaction as soon as it is verified, while the others are still
    // arriving: librpm reads its header meanwhile.
    rpm::Transaction tx(config_.root);
    auto cannot_prepare = [](const rpm::RpmError& e) {
        return InstallFailure(
            "Cannot prepare the package transaction: " + std::string(e.what()) +
            ". Nothing was changed. The host's rpmdb changed since the query or the repository "
            "is inconsistent; run host-install again.");
    };
    using AddElement = void (rpm::Transaction::*)(const fs::path&);
    std::map<std::string, AddElement> add;
    for (const auto& p : work.installs) {
        add[p.nevra()] = &rpm::Transaction::add_install;
    }
    for (const auto& p : work.downgrades) {
        add[p.nevra()] = &rpm::Transaction::add_downgrade;
    }
    for (const auto& p : work.reinstalls) {
        add[p.nevra()] = &rpm::Transaction::add_reinstall;
    }
    try {
        for (const auto& copy : work.erase_instances) {
            tx.add_erase_instance(copy.db_instance);
        }
        for (const auto& p : work.erases) {
            tx.add_erase(p.name, p.arch);
        }
    } catch (const rpm::RpmError& e) {
        throw cannot_prepare(e);
    }
    download(work.downloads(), progress, outcome, [&](const RepoPackage& p, const fs::path& file) {
        try {
            (tx.*add.at(p.nevra()))(file);
        } catch (const rpm::RpmError& e) {
            throw cannot_prepare(e);
        }
    });
    step_done(outcome, "download");

    const std::vector<rpm::RpmProblem> problems = tx.check();
    if (!problems.empty()) {
        std::vector<std::string> texts;
        for (const auto& p : problems) {
            texts.push_back(p.text);
            outcome.log.push_back("dependency problem: " + p.text);
        }
        throw InstallFailure(
            "The packages cannot be installed: " + joined(texts, "; ") +
            ". Nothing was changed. The repository's packages need something the host does not "
            "have, or conflict with it: check the dependencies of the applied patches.");
    }

    step_done(outcome, "prepare");
    wait_durable();
    ledger_before_.reset();  // from here on librpm may change packages
    step_done(outcome, "durable");

    TransactionReporter reporter(progress, outcome, work.expected_elements);
    rpm::TransactionResult result;
    try {
        result = tx.run(reporter);
    } catch (...) {
        // librpm finished its work before the exception came back out: what it changed stays.
        outcome.changed = reporter.any_ok();
        if (outcome.changed) {
            flags_.set_node_patched(true);
        }
        throw;
    }
    step_done(outcome, "transaction");
    append_lines(outcome.log, "scriptlet: ", result.scriptlet_output);
    for (const auto& w : result.warnings) {
        outcome.log.push_back("warning: " + w);
    }
    // A failed transaction may still have changed packages (librpm does not roll back): the
    // host then counts as patched too, so it is not enabled as if nothing happened.
    outcome.changed = reporter.any_ok();
    if (!result.ok) {
        if (outcome.changed) {
            flags_.set_node_patched(true);
        }
        throw InstallFailure(
            "The package transaction failed: " + joined(result.problems, "; ") + ". " +
            (outcome.changed ? "Some packages were changed. " : "Nothing was changed. ") +
            "Fix the cause, then run host-install again; it completes or repairs what this "
            "transaction left.");
    }

    if (!work.ledger_remove.empty()) {
        ledger = managed_packages();
        for (const auto& key : work.ledger_remove) {
            ledger.erase(key);
        }
        stage_ledger(ledger);  // durable with the flags at the end
    }
    downloads_used_ = true;  // only a retry after a failure reuses them

    if (!outcome.changed) {
        return;
    }
    // node_is_patched: the changed packages still wait for their in-service restart or a reboot.
    if (flags_.is_reboot_required_by_rpm()) {
        flags_.set_node_patched(true);
        outcome.log.push_back("a package requires a reboot: the in-service scripts are skipped");
    } else if (request.boot_time) {
        flags_.set_reboot_required_by_rpm(true);
        flags_.set_node_patched(true);
        outcome.log.push_back("boot-time install: the host reboots instead of running scripts");
    } else {
        // Without scripts the packages are in service as installed: the flag would be set and
        // cleared at once (an agent killed in between is reported by the installing flag).
        const std::vector<fs::path> scripts = in_service_scripts();
        if (!scripts.empty()) {
            flags_.set_node_patched(true);
        }
        run_scripts(scripts, progress, outcome);
        flags_.set_node_patched(false);
    }
    step_done(outcome, "scripts");
}

void Installer::download(
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
}

std::vector<fs::path> Installer::in_service_scripts() {
    const fs::path dir = flags_.scripts_dir();
    std::vector<fs::path> scripts;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const fs::file_status st = entry.symlink_status();
        const auto exec_bits =
            fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec;
        if (fs::is_regular_file(st) && (st.permissions() & exec_bits) != fs::perms::none) {
            scripts.push_back(entry.path());
        }
    }
    if (ec) {
        flags_.set_node_patched(true);
        throw InstallFailure(
            "Cannot read the in-service script directory " + dir.string() + ": " + ec.message() +
            ". The packages are installed; the host requires a reboot.");
    }
    std::sort(scripts.begin(), scripts.end(), [](const fs::path& a, const fs::path& b) {
        return a.filename().string() < b.filename().string();
    });
    return scripts;
}

void Installer::run_scripts(
    const std::vector<fs::path>& scripts, InstallProgress& progress, InstallOutcome& outcome) {
    // Scripts run inside the managed root when the agent can chroot there; then they see the
    // directories at their production paths.
    const bool in_root = config_.root != "/" && ::geteuid() == 0;
    const fs::path relative_scripts = flags_.scripts_dir().lexically_relative(config_.root);
    const fs::path relative_flags = flags_.flags_dir().lexically_relative(config_.root);
    const fs::path seen_scripts = in_root ? "/" / relative_scripts : flags_.scripts_dir();
    const fs::path seen_flags = in_root ? "/" / relative_flags : flags_.flags_dir();
    std::string subfunctions;
    for (const auto& s : config_.subfunctions) {
        subfunctions += (subfunctions.empty() ? "" : ",") + s;
    }
    const std::vector<std::string> environment{
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "PATCH_SCRIPTDIR=" + seen_scripts.string(),
        "PATCH_FLAGDIR=" + seen_flags.string(),
        "PATCH_STATUS_OK=0",
        "PATCH_STATUS_FAILED=1",
        "PATCH_PERSONALITY=" + config_.personality,
        "PATCH_SUBFUNCTIONS=" + subfunctions,
    };

    std::vector<std::string> failures;
    for (std::size_t i = 0; i < scripts.size(); ++i) {
        const std::string name = core::escape_unprintable(scripts[i].filename().string());
        progress.on_progress("scripts", i, scripts.size(), scripts[i].filename().string());
        const auto run =
            in_root ? run_script(
                          seen_scripts / scripts[i].filename(), config_.root, environment,
                          config_.script_timeout)
                    : run_script(scripts[i], std::nullopt, environment, config_.script_timeout);
        append_lines(outcome.log, "script " + name + ": ", run.output);
        if (run.timed_out) {
            failures.push_back(
                name + " did not finish within " + std::to_string(config_.script_timeout.count()) +
                " s and was killed");
        } else if (run.status.signal != 0) {
            failures.push_back(name + " was killed by signal " + std::to_string(run.status.signal));
        } else if (run.status.exit_code != 0) {
            failures.push_back(name + " failed with exit code " + std::to_string(run.status.exit_code));
        } else {
            outcome.log.push_back("script " + name + ": ok");
        }
    }
    progress.on_progress("scripts", scripts.size(), scripts.size(), "");
    if (!failures.empty()) {
        throw InstallFailure(
            std::string(
                failures.size() > 1 ? "In-service patch scripts: " : "In-service patch script ") +
            joined(failures, "; ") +
            ". The packages are installed but their in-service restart did not complete, so the "
            "host requires a reboot (node_is_patched stays set); the script output is in the "
            "install log.");
    }
}

}  // namespace patching::agent
