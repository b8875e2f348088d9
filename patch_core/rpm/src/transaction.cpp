// SPDX-License-Identifier: Apache-2.0
#include <patch_core/rpm/transaction.hpp>

#include "rpm_handles.hpp"

#include <patch_core/fs.hpp>
#include <patch_core/rpm/installed.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <exception>
#include <mutex>
#include <set>

namespace patching::rpm {

using detail::CStringPtr;
using detail::FdPtr;
using detail::HeaderPtr;
using detail::MatchIteratorPtr;
using detail::ProblemIteratorPtr;
using detail::ProblemSetPtr;
using detail::RpmLogCapture;
using detail::TsIteratorPtr;
using detail::TsPtr;

void TransactionCallbacks::on_progress(
    const std::string& /*nevra*/, std::uint64_t /*done*/, std::uint64_t /*total*/) {}
void TransactionCallbacks::on_scriptlet_error(
    const std::string& /*nevra*/, const std::string& /*scriptlet*/, bool /*fatal*/) {}
void TransactionCallbacks::on_element_done(const std::string& /*nevra*/, bool /*ok*/) {}

namespace {

std::mutex& transaction_mutex() {
    static std::mutex m;
    return m;
}

constexpr size_t MAX_SCRIPTLET_OUTPUT = 1U << 20U;

// What librpm hands back as the key of an install element; erase elements have no key.
struct Element {
    std::filesystem::path file;  // empty for an erase
    std::string nevra;
    FdPtr fd;  // open between INST_OPEN_FILE and INST_CLOSE_FILE
};

std::string with_log(std::string message, const RpmLogCapture& log) {
    if (!log.messages().empty()) {
        message += ": " + log.messages();
    }
    return message;
}

RpmProblem::Kind problem_kind(rpmProblemType type) {
    switch (type) {
        case RPMPROB_REQUIRES:
            return RpmProblem::Kind::MISSING_DEPENDENCY;
        case RPMPROB_CONFLICT:
        case RPMPROB_OBSOLETES:
            return RpmProblem::Kind::CONFLICT;
        case RPMPROB_NEW_FILE_CONFLICT:
        case RPMPROB_FILE_CONFLICT:
            return RpmProblem::Kind::FILE_CONFLICT;
        case RPMPROB_OLDPACKAGE:
            return RpmProblem::Kind::OLDER_PACKAGE;
        case RPMPROB_PKG_INSTALLED:
            return RpmProblem::Kind::ALREADY_INSTALLED;
        case RPMPROB_DISKSPACE:
        case RPMPROB_DISKNODES:
            return RpmProblem::Kind::DISK_SPACE;
        case RPMPROB_BADARCH:
        case RPMPROB_BADOS:
        case RPMPROB_VERIFY:
            return RpmProblem::Kind::BAD_PACKAGE;
        default:
            return RpmProblem::Kind::OTHER;
    }
}

std::vector<RpmProblem> problems_of(rpmts ts) {
    std::vector<RpmProblem> problems;
    ProblemSetPtr ps(rpmtsProblems(ts));
    if (!ps) {
        return problems;
    }
    ProblemIteratorPtr it(rpmpsInitIterator(ps.get()));
    while (rpmProblem p = rpmpsiNext(it.get())) {
        RpmProblem problem;
        problem.kind = problem_kind(rpmProblemGetType(p));
        if (const char* nevr = rpmProblemGetPkgNEVR(p)) {
            problem.package = nevr;
        }
        CStringPtr text(rpmProblemString(p));
        problem.text = text ? text.get() : "unknown problem";
        problems.push_back(std::move(problem));
    }
    return problems;
}

std::string scriptlet_name(rpm_loff_t tag) {
    switch (static_cast<rpmTagVal>(tag)) {
        case RPMTAG_PREIN:
            return "%pre";
        case RPMTAG_POSTIN:
            return "%post";
        case RPMTAG_PREUN:
            return "%preun";
        case RPMTAG_POSTUN:
            return "%postun";
        case RPMTAG_PRETRANS:
            return "%pretrans";
        case RPMTAG_POSTTRANS:
            return "%posttrans";
        case RPMTAG_TRIGGERPREIN:
            return "%triggerprein";
        case RPMTAG_TRIGGERIN:
            return "%triggerin";
        case RPMTAG_TRIGGERUN:
            return "%triggerun";
        case RPMTAG_TRIGGERPOSTUN:
            return "%triggerpostun";
        case RPMTAG_VERIFYSCRIPT:
            return "%verifyscript";
        default:
            return "scriptlet";
    }
}

// State of one rpmtsRun, reached from librpm's notify callback.
class RunContext {
public:
    RunContext(TransactionCallbacks& callbacks, TransactionResult& result)
        : callbacks_(callbacks), problems_(result.problems), warnings_(result.warnings) {}

    static void* notify(
        const void* arg,
        const rpmCallbackType what,
        const rpm_loff_t amount,
        const rpm_loff_t total,
        fnpyKey key,
        rpmCallbackData data) {
        auto* self = static_cast<RunContext*>(data);
        // Notify style 1: the first argument is the transaction element, not its header.
        auto* te = static_cast<rpmte>(const_cast<void*>(arg));
        auto* element = static_cast<Element*>(const_cast<void*>(key));
        try {
            return self->handle(te, what, amount, total, element);
        } catch (...) {
            // Unwinding through librpm's C frames would leak its state; rethrown after rpmtsRun.
            if (!self->error_) {
                self->error_ = std::current_exception();
            }
            return nullptr;
        }
    }

    // Reports the elements that never got a STOP event (failed early, or a dry run).
    void finish(rpmts ts, bool run_ok) {
        TsIteratorPtr it(rpmtsiInit(ts));
        while (rpmte te = rpmtsiNext(it.get(), TR_ADDED | TR_REMOVED)) {
            if (rpmteFailed(te) != 0) {
                failed_.insert(te);
            }
            if (!reported_.contains(te)) {
                if (!run_ok) {
                    failed_.insert(te);
                }
                done(te);
            }
        }
    }

    bool any_failed() const { return !failed_.empty(); }
    std::exception_ptr error() const { return error_; }

private:
    void* handle(
        rpmte te, rpmCallbackType what, rpm_loff_t amount, rpm_loff_t total, Element* element) {
        switch (what) {
            case RPMCALLBACK_INST_OPEN_FILE:
                return open_file(element);
            case RPMCALLBACK_INST_CLOSE_FILE:
                if (element != nullptr) {
                    element->fd.reset();
                }
                return nullptr;
            case RPMCALLBACK_INST_START:
            case RPMCALLBACK_UNINST_START:
                progress(te, 0, total);
                return nullptr;
            case RPMCALLBACK_INST_PROGRESS:
            case RPMCALLBACK_UNINST_PROGRESS:
                progress(te, amount, total);
                return nullptr;
            case RPMCALLBACK_INST_STOP:
            case RPMCALLBACK_UNINST_STOP:
                done(te);
                return nullptr;
            case RPMCALLBACK_SCRIPT_ERROR:
                scriptlet_error(te, scriptlet_name(amount), total != RPMRC_OK);
                return nullptr;
            case RPMCALLBACK_UNPACK_ERROR:
            case RPMCALLBACK_CPIO_ERROR:
                if (te != nullptr) {
                    failed_.insert(te);
                    problems_.push_back("unpacking " + std::string(rpmteNEVRA(te)) + " failed");
                }
                return nullptr;
            default:
                return nullptr;
        }
    }

    void* open_file(Element* element) {
        if (element == nullptr || element->file.empty()) {
            return nullptr;
        }
        errno = 0;
        element->fd.reset(Fopen(element->file.c_str(), "r.ufdio"));
        if (!element->fd || Ferror(element->fd.get()) != 0) {
            std::string why = element->fd ? Fstrerror(element->fd.get()) : std::strerror(errno);
            element->fd.reset();
            problems_.push_back("cannot open " + element->file.string() + ": " + why);
            return nullptr;
        }
        return element->fd.get();
    }

    void progress(rpmte te, rpm_loff_t done, rpm_loff_t total) {
        if (te != nullptr && !error_) {
            callbacks_.on_progress(rpmteNEVRA(te), done, total);
        }
    }

    void scriptlet_error(rpmte te, const std::string& scriptlet, bool fatal) {
        std::string nevra = te != nullptr ? rpmteNEVRA(te) : "";
        (fatal ? problems_ : warnings_)
            .push_back(
                scriptlet + " scriptlet of " + nevra + " failed" +
                (fatal ? "; the package was skipped" : ""));
        if (fatal && te != nullptr) {
            failed_.insert(te);
        }
        if (!error_) {
            callbacks_.on_scriptlet_error(nevra, scriptlet, fatal);
        }
    }

    void done(rpmte te) {
        if (te == nullptr || !reported_.insert(te).second) {
            return;
        }
        if (!error_) {
            callbacks_.on_element_done(rpmteNEVRA(te), !failed_.contains(te));
        }
    }

    TransactionCallbacks& callbacks_;
    std::vector<std::string>& problems_;
    std::vector<std::string>& warnings_;
    std::set<rpmte> failed_;
    std::set<rpmte> reported_;
    std::exception_ptr error_;
};

// librpm creates a missing rpmdb as soon as it opens it, even read-only (rpmtsCheck, a dry
// run). Operations that must leave the root as they found it remove again what did not exist
// before them, once librpm has closed the database. Only a root that had no rpmdb at all is
// concerned, never a host's "/".
class UntouchedRpmdb {
public:
    UntouchedRpmdb(rpmts ts, const std::filesystem::path& root) : ts_(ts) {
        for (auto dir = rpmdb_directory(root); dir != root && !std::filesystem::exists(dir);
             dir = dir.parent_path()) {
            first_missing_ = dir;
        }
    }
    ~UntouchedRpmdb() {
        if (!first_missing_.empty()) {
            rpmtsCloseDB(ts_);
            std::error_code ec;
            std::filesystem::remove_all(first_missing_, ec);
        }
    }
    // What librpm created stays (a transaction that installs needs its rpmdb).
    void keep() { first_missing_.clear(); }
    UntouchedRpmdb(const UntouchedRpmdb&) = delete;
    UntouchedRpmdb& operator=(const UntouchedRpmdb&) = delete;

private:
    rpmts ts_;
    std::filesystem::path first_missing_;
};

std::string read_scriptlet_output(int fd) {
    std::string out;
    std::array<char, 8192> buf{};
    off_t offset = 0;
    while (out.size() < MAX_SCRIPTLET_OUTPUT) {
        ssize_t n = ::pread(fd, buf.data(), buf.size(), offset);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        out.append(buf.data(), static_cast<size_t>(n));
        offset += n;
    }
    if (out.size() > MAX_SCRIPTLET_OUTPUT) {
        out.resize(MAX_SCRIPTLET_OUTPUT);
    }
    return out;
}

}  // namespace

struct Transaction::State {
    std::filesystem::path root;
    TransactionOptions options;
    TsPtr ts;
    std::vector<std::unique_ptr<Element>> elements;  // their addresses are librpm's keys
    bool allow_older = false;
    bool allow_reinstall = false;

    HeaderPtr read_header(const std::filesystem::path& file, const RpmLogCapture& log) const;
    void add_upgrade(const std::filesystem::path& file, bool downgrade);
    std::vector<RpmProblem> dependency_problems();

    // " (from <file>)" when `nevra` is a package added from a file, for messages.
    std::string file_of(const std::string& nevra) const {
        for (const auto& e : elements) {
            if (e->nevra == nevra && !e->file.empty()) {
                return " (from " + e->file.string() + ")";
            }
        }
        return "";
    }
};

HeaderPtr Transaction::State::read_header(
    const std::filesystem::path& file, const RpmLogCapture& log) const {
    errno = 0;
    FdPtr fd(Fopen(file.c_str(), "r.ufdio"));
    if (!fd || Ferror(fd.get()) != 0) {
        throw RpmError(
            "cannot open " + file.string() + ": " +
            (fd ? Fstrerror(fd.get()) : std::strerror(errno)));
    }
    Header raw = nullptr;
    rpmRC rc = rpmReadPackageFile(ts.get(), fd.get(), file.c_str(), &raw);
    HeaderPtr h(raw);
    if ((rc != RPMRC_OK && rc != RPMRC_NOTTRUSTED && rc != RPMRC_NOKEY) || !h) {
        throw RpmError(
            file.string() + " is not a valid RPM package" +
            (log.messages().empty() ? "" : ": " + log.messages()));
    }
    if (headerIsSource(h.get()) != 0) {
        throw RpmError(
            file.string() + " is a source package; only binary packages can be installed");
    }
    return h;
}

void Transaction::State::add_upgrade(const std::filesystem::path& file, bool downgrade) {
    RpmLogCapture log;
    HeaderPtr h = read_header(file, log);
    auto element = std::make_unique<Element>();
    element->file = file;
    element->nevra = detail::header_string(h.get(), RPMTAG_NEVRA);
    bool have_db = detail::rpmdb_exists(root);
    if (!downgrade && have_db) {
        std::string name = detail::header_string(h.get(), RPMTAG_NAME);
        std::string arch = detail::header_string(h.get(), RPMTAG_ARCH);
        MatchIteratorPtr mi(rpmtsInitIterator(ts.get(), RPMDBI_NAME, name.c_str(), 0));
        while (Header installed = mi ? rpmdbNextIterator(mi.get()) : nullptr) {
            if (detail::header_string(installed, RPMTAG_ARCH) == arch &&
                rpmVersionCompare(installed, h.get()) > 0) {
                throw RpmError(
                    "cannot install " + file.string() + ": the newer " +
                    detail::header_string(installed, RPMTAG_NEVRA) + " is installed in " +
                    root.string() + " (that is a downgrade)");
            }
        }
    }
    // Without a database there is nothing to upgrade, and asking librpm to look would make it
    // create an empty rpmdb in the root before anything is installed.
    int rc = rpmtsAddInstallElement(ts.get(), h.get(), element.get(), have_db ? 1 : 0, nullptr);
    if (rc != 0) {
        throw RpmError(with_log("cannot add " + file.string() + " to the transaction", log));
    }
    elements.push_back(std::move(element));
    allow_older = allow_older || downgrade;
}

std::vector<RpmProblem> Transaction::State::dependency_problems() {
    RpmLogCapture log;
    if (rpmtsCheck(ts.get()) != 0) {
        throw RpmError(with_log(
            "the dependency check of the transaction in " + root.string() + " failed", log));
    }
    return problems_of(ts.get());
}

Transaction::Transaction(const std::filesystem::path& root, TransactionOptions options)
    : state_(std::make_unique<State>()) {
    detail::require_absolute_root(root);
    init_librpm();
    state_->root = root;
    state_->options = options;
    state_->ts.reset(rpmtsCreate());
    if (rpmtsSetRootDir(state_->ts.get(), root.c_str()) != 0) {
        throw RpmError("librpm refuses the install root " + root.string());
    }
    // Digests (header and payload) are required, signatures are not: see the class comment.
    rpmtsSetVSFlags(state_->ts.get(), RPMVSF_MASK_NOSIGNATURES);
    rpmtsSetVfyFlags(state_->ts.get(), RPMVSF_MASK_NOSIGNATURES);
    rpmtsSetVfyLevel(state_->ts.get(), RPMSIG_DIGEST_TYPE);
    rpmtsSetNotifyStyle(state_->ts.get(), 1);
    rpmtsSetFlags(state_->ts.get(), options.test ? RPMTRANS_FLAG_TEST : RPMTRANS_FLAG_NONE);
}

Transaction::~Transaction() = default;

const std::filesystem::path& Transaction::root() const {
    return state_->root;
}

void Transaction::add_install(const std::filesystem::path& rpm_file) {
    state_->add_upgrade(rpm_file, false);
}

void Transaction::add_downgrade(const std::filesystem::path& rpm_file) {
    state_->add_upgrade(rpm_file, true);
}

void Transaction::add_erase(const std::string& name, const std::string& arch) {
    RpmLogCapture log;
    std::vector<std::pair<HeaderPtr, unsigned>> found;
    if (detail::rpmdb_exists(state_->root)) {
        MatchIteratorPtr mi(rpmtsInitIterator(state_->ts.get(), RPMDBI_NAME, name.c_str(), 0));
        while (Header h = mi ? rpmdbNextIterator(mi.get()) : nullptr) {
            if (detail::header_string(h, RPMTAG_ARCH) == arch) {
                found.emplace_back(detail::link_header(h), rpmdbGetIteratorOffset(mi.get()));
            }
        }
    }
    if (found.empty()) {
        throw RpmError(with_log(
            "cannot erase " + name + "." + arch + ": it is not installed in " +
                state_->root.string(),
            log));
    }
    for (auto& [h, offset] : found) {
        auto element = std::make_unique<Element>();
        element->nevra = detail::header_string(h.get(), RPMTAG_NEVRA);
        if (rpmtsAddEraseElement(state_->ts.get(), h.get(), static_cast<int>(offset)) != 0) {
            throw RpmError(with_log(
                "cannot add the erasure of " + element->nevra + " to the transaction", log));
        }
        state_->elements.push_back(std::move(element));
    }
}

void Transaction::add_erase_instance(unsigned db_instance) {
    RpmLogCapture log;
    HeaderPtr h;
    if (db_instance != 0 && detail::rpmdb_exists(state_->root)) {
        MatchIteratorPtr mi(rpmtsInitIterator(
            state_->ts.get(), RPMDBI_PACKAGES, &db_instance, sizeof(db_instance)));
        if (Header found = mi ? rpmdbNextIterator(mi.get()) : nullptr) {
            h = detail::link_header(found);
        }
    }
    if (!h) {
        throw RpmError(with_log(
            "cannot erase rpmdb entry " + std::to_string(db_instance) + ": no such package in " +
                state_->root.string(),
            log));
    }
    auto element = std::make_unique<Element>();
    element->nevra = detail::header_string(h.get(), RPMTAG_NEVRA);
    if (rpmtsAddEraseElement(state_->ts.get(), h.get(), static_cast<int>(db_instance)) != 0) {
        throw RpmError(
            with_log("cannot add the erasure of " + element->nevra + " to the transaction", log));
    }
    state_->elements.push_back(std::move(element));
}

void Transaction::add_reinstall(const std::filesystem::path& rpm_file) {
    RpmLogCapture log;
    HeaderPtr h = state_->read_header(rpm_file, log);
    auto element = std::make_unique<Element>();
    element->file = rpm_file;
    element->nevra = detail::header_string(h.get(), RPMTAG_NEVRA);
    if (rpmtsAddReinstallElement(state_->ts.get(), h.get(), element.get()) != 0) {
        throw RpmError(with_log("cannot add " + rpm_file.string() + " to the transaction", log));
    }
    state_->elements.push_back(std::move(element));
    // librpm's "a newer version is installed" check ignores that the newer copy of a duplicate
    // may be erased in this same transaction.
    state_->allow_reinstall = true;
    state_->allow_older = true;
}

std::vector<RpmProblem> Transaction::check() {
    UntouchedRpmdb untouched(state_->ts.get(), state_->root);
    return state_->dependency_problems();
}

TransactionResult Transaction::run() {
    TransactionCallbacks ignore;
    return run(ignore);
}

TransactionResult Transaction::run(TransactionCallbacks& callbacks) {
    std::lock_guard lock(transaction_mutex());
    State& s = *state_;
    rpmts ts = s.ts.get();
    TransactionResult result;
    UntouchedRpmdb untouched(ts, s.root);  // declared first: it acts after Reset closed the db
    // Whatever happens below, the next run starts from an empty transaction.
    struct Reset {
        State& s;
        ~Reset() {
            rpmtsSetNotifyCallback(s.ts.get(), nullptr, nullptr);
            rpmtsSetScriptFd(s.ts.get(), nullptr);
            rpmtsEmpty(s.ts.get());
            rpmtsCloseDB(s.ts.get());
            s.elements.clear();
            s.allow_older = false;
            s.allow_reinstall = false;
        }
    } reset{s};

    RunContext context(callbacks, result);
    for (const RpmProblem& p : s.dependency_problems()) {
        result.problems.push_back(p.text);
    }
    if (!result.problems.empty()) {
        context.finish(ts, false);
        if (context.error()) {
            std::rethrow_exception(context.error());
        }
        return result;
    }

    if (!s.options.test) {
        untouched.keep();
        const std::filesystem::path db_dir = rpmdb_directory(s.root);
        std::error_code ec;
        std::filesystem::create_directories(db_dir, ec);
        if (ec) {
            throw core::SystemError(ec.value(), "cannot create the rpmdb directory", db_dir);
        }
    }

    core::UniqueFd output(::memfd_create("rpm-scriptlets", MFD_CLOEXEC));
    if (!output) {
        throw core::SystemError(errno, "memfd_create failed for the scriptlet output of", s.root);
    }
    FdPtr script_fd(fdDup(output.get()));
    rpmtsSetScriptFd(ts, script_fd.get());
    rpmtsSetNotifyCallback(ts, &RunContext::notify, &context);

    int rc = 0;
    {
        RpmLogCapture log;
        if (rpmtsOrder(ts) != 0) {
            result.problems.push_back(with_log("librpm cannot order the transaction", log));
        } else {
            rpmtsClean(ts);
            // A reinstall meets its own N-E-V-R.A in the rpmdb, which is the point of it.
            auto filter = static_cast<rpmprobFilterFlags>(
                (s.allow_older ? RPMPROB_FILTER_OLDPACKAGE : RPMPROB_FILTER_NONE) |
                (s.allow_reinstall ? RPMPROB_FILTER_REPLACEPKG : RPMPROB_FILTER_NONE));
            rc = rpmtsRun(ts, nullptr, filter);
            for (const RpmProblem& p : problems_of(ts)) {
                result.problems.push_back(p.text + s.file_of(p.package));
            }
        }
        context.finish(ts, rc == 0 && result.problems.empty());
        // librpm also returns -1 when an element failed, which the problems already explain.
        if (rc < 0 && result.problems.empty()) {
            result.problems.push_back("librpm could not run the transaction in " + s.root.string());
        }
        result.ok = rc == 0 && result.problems.empty() && !context.any_failed();
        if (!log.messages().empty()) {
            (result.ok ? result.warnings : result.problems).push_back("librpm: " + log.messages());
        }
    }
    result.scriptlet_output = read_scriptlet_output(output.get());
    if (context.error()) {
        std::rethrow_exception(context.error());
    }
    return result;
}

}  // namespace patching::rpm
