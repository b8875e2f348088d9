// SPDX-License-Identifier: Apache-2.0
#include "installer/installer.hpp"

#include "installer/installer_detail.hpp"

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

std::size_t Installer::prefetch(const QueryResult& q) {
    class Silent final : public InstallProgress {
        void on_progress(const std::string&, std::size_t, std::size_t, const std::string&) override {}
    } silent;
    const Work work = plan_work(q, managed_packages());
    InstallOutcome scratch;
    return download(work.downloads(), silent, scratch, [](const RepoPackage&, const fs::path&) {});
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
    if (!request.force && !request.locked.value_or(flags_.is_locked())) {
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

}  // namespace patching::agent
