// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <patch_core/rpm/package.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace patching::rpm {

/// One reason librpm refuses a transaction: a verdict about the packages, not a failure of the
/// machinery, so it is returned as a value.
struct RpmProblem {
    enum class Kind {
        MISSING_DEPENDENCY,  ///< A Requires: nobody in the root or the transaction provides.
        CONFLICT,            ///< A Conflicts: or Obsoletes: between packages.
        FILE_CONFLICT,       ///< Two packages would own the same path with different contents.
        OLDER_PACKAGE,       ///< A newer version is installed (use add_downgrade).
        ALREADY_INSTALLED,   ///< The very same package is installed.
        DISK_SPACE,          ///< Not enough blocks or inodes on a file system of the root.
        BAD_PACKAGE,  ///< The package failed verification (digest) or is for another arch/OS.
        OTHER,
    };
    Kind kind = Kind::OTHER;
    std::string package;  ///< N-[E:]V-R.A of the package the problem is about ("" if unknown).
    std::string text;     ///< librpm's explanation, e.g. "foo is needed by bar-1-1.noarch".
};

/// What a running transaction tells its caller, in the spirit of dnf5's TransactionCallbacks.
/// Every method has an empty default. They are called on the thread that called
/// Transaction::run, from inside librpm: they must not call into patching::rpm (which would
/// deadlock on the module's locks). An exception thrown by a callback is kept, no further
/// callback is made, and run() rethrows it once librpm has finished (a librpm transaction cannot
/// be interrupted halfway).
class TransactionCallbacks {
public:
    TransactionCallbacks() = default;
    virtual ~TransactionCallbacks() = default;
    TransactionCallbacks(const TransactionCallbacks&) = default;
    TransactionCallbacks& operator=(const TransactionCallbacks&) = default;

    /// Progress of installing (bytes of payload) or erasing (files) the package `nevra`
    /// (N-[E:]V-R.A). `done == total` at the end of the element's payload.
    virtual void on_progress(const std::string& nevra, std::uint64_t done, std::uint64_t total);
    /// A scriptlet of `nevra` failed. `scriptlet` is rpm's name for it ("%pre", "%post",
    /// "%preun", "%postun", "%triggerin", ...). `fatal` when librpm skips the element because of
    /// it (%pre, %preun); the others are reported and the element still counts as done.
    virtual void on_scriptlet_error(
        const std::string& nevra, const std::string& scriptlet, bool fatal);
    /// The element `nevra` (an install or an erase) is finished: `ok` is false if librpm failed
    /// it (scriptlet, unpack or verification error, or the transaction did not run at all).
    /// Called once per element, in the order librpm processed them.
    virtual void on_element_done(const std::string& nevra, bool ok);
};

/// How a Transaction runs.
struct TransactionOptions {
    /// Dry run (rpm --test, RPMTRANS_FLAG_TEST): every check librpm makes before touching the
    /// root (dependencies, file conflicts, disk space, verification) but nothing is installed,
    /// erased, written to the rpmdb, and no scriptlet runs.
    bool test = false;
};

/// Outcome of Transaction::run.
struct TransactionResult {
    bool ok = false;  ///< Every element was installed or erased (or, for a dry run, could be).
    /// Why not: dependency problems, librpm's problem set (file conflicts, older package, disk
    /// space, verification), fatal scriptlet failures, and what librpm logged meanwhile.
    std::vector<std::string> problems;
    /// What did not stop the transaction: failed %post, %postun or trigger scriptlets (librpm
    /// counts the package as installed or erased regardless) and librpm's logged warnings.
    std::vector<std::string> warnings;
    /// What the scriptlets wrote to stdout and stderr (rpmtsSetScriptFd), for the agent's log.
    std::string scriptlet_output;
};

/// One librpm transaction (an rpmts) on the packages of an install root, built up with add_*()
/// and then run(), as rpm -U and dnf do.
///
/// Verification: the packages' header and payload digests are checked, their signatures are not
/// (RPMVSF_MASK_NOSIGNATURES): the agent fetches them from the controller's repository, whose
/// checksums (and the signed patch they came from) are the integrity check, and hosts need not
/// import any RPM signing key.
///
/// Everything librpm logs while a Transaction works is captured and put into the problems or the
/// exception messages instead of being printed.
///
/// Thread-safety: a Transaction is used by one thread at a time. librpm's state (configuration
/// macros, log, signal handling, and the chroot() it performs to run scriptlets in a root other
/// than "/") is process-wide, so run() holds a process-wide mutex: transactions run one at a time
/// per process and another thread's run() waits. While a transaction on a root other than "/"
/// runs its scriptlets, the whole process is chroot()ed into that root; other threads must not
/// use relative-to-"/" paths then (production agents work on "/", where this does not arise).
class Transaction {
public:
    /// A transaction on the packages installed under `root` (absolute; "/" for the host). The
    /// rpmdb need not exist yet: run() creates it, and nothing else writes to the root.
    /// @throws RpmError if `root` is not absolute or rpm's configuration cannot be read.
    explicit Transaction(const std::filesystem::path& root, TransactionOptions options = {});
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    const std::filesystem::path& root() const;

    /// Installs the package file `rpm_file`, replacing any installed version of the same name
    /// and arch (rpm -U: rpmtsAddInstallElement with upgrade). The file is read again by run().
    /// @throws RpmError naming the file if it cannot be read or is not a valid binary RPM, or if
    /// a newer version of the package is installed (that is a downgrade: use add_downgrade).
    void add_install(const std::filesystem::path& rpm_file);

    /// Installs `rpm_file` in place of a newer installed version of the same name and arch (rpm
    /// -U --oldpackage: an upgrade for which run() accepts older packages, as dnf does).
    /// @throws RpmError naming the file if it cannot be read or is not a valid binary RPM.
    void add_downgrade(const std::filesystem::path& rpm_file);

    /// Erases every installed package called `name` for `arch`.
    /// @throws RpmError if none is installed.
    void add_erase(const std::string& name, const std::string& arch);

    /// Erases the one rpmdb header numbered `db_instance` (InstalledPackage::db_instance), not
    /// every copy of its name: the way to repair a package installed twice. Files the erased
    /// copy shares with a copy that stays installed are kept when librpm records them as that
    /// copy's own (file state "normal"); a copy whose files were taken over by the other one
    /// (rpm --replacefiles) may lose them, so reinstall it in the same transaction
    /// (add_reinstall) when its files matter.
    /// @throws RpmError if no header has that number.
    void add_erase_instance(unsigned db_instance);

    /// Installs `rpm_file` again over the installed package of the very same N-E-V-R.A (rpm
    /// --reinstall: rpmtsAddReinstallElement): its files are written afresh and its scriptlets
    /// run as for an upgrade. Other versions of the package stay installed unless erased in the
    /// same transaction; run() then accepts that a newer version is installed, as for
    /// add_downgrade.
    /// @throws RpmError naming the file if it cannot be read or is not a valid binary RPM.
    void add_reinstall(const std::filesystem::path& rpm_file);

    /// Whether the elements added so far are consistent with the root: unsatisfied Requires:,
    /// Conflicts: and Obsoletes: (rpmtsCheck). Empty when nothing is wrong. Changes nothing.
    /// @throws RpmError if librpm cannot read the rpmdb.
    std::vector<RpmProblem> check();

    /// Runs the transaction: check() first (a dependency problem fails the run without touching
    /// the root), then ordering and rpmtsRun, reporting through `callbacks`. Afterwards the
    /// transaction is empty and may be filled and run again.
    /// Failures of the packages (problems, scriptlets, a corrupt payload) are reported in the
    /// result; exceptions are for failures of the machinery.
    /// @throws RpmError if the rpmdb cannot be created or opened; whatever a callback threw.
    TransactionResult run(TransactionCallbacks& callbacks);

    /// run() with callbacks that ignore everything.
    TransactionResult run();

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace patching::rpm
