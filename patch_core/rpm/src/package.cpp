// SPDX-License-Identifier: Apache-2.0
#include "rpm_handles.hpp"

#include <patch_core/fs.hpp>
#include <patch_core/rpm/package.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

namespace patching::rpm {

using detail::CStringPtr;
using detail::FdPtr;
using detail::HeaderPtr;
using detail::RpmLogCapture;
using detail::TsPtr;

namespace detail {

namespace {
std::mutex& log_mutex() {
    static std::mutex m;
    return m;
}
}  // namespace

RpmLogCapture::RpmLogCapture() : lock_(log_mutex()) {
    old_callback_ = rpmlogSetCallback(&RpmLogCapture::callback, this);
}

RpmLogCapture::~RpmLogCapture() {
    rpmlogSetCallback(old_callback_, old_data_);
    // librpm also keeps every warning and error in a process-wide list until rpmlogClose(); in
    // a long-running agent that list would only grow. What mattered is in messages_ already.
    rpmlogClose();
}

int RpmLogCapture::callback(rpmlogRec rec, rpmlogCallbackData data) {
    auto* self = static_cast<RpmLogCapture*>(data);
    if (rpmlogRecPriority(rec) <= RPMLOG_WARNING) {
        std::string msg = rpmlogRecMessage(rec);
        while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) {
            msg.pop_back();
        }
        if (!self->messages_.empty()) {
            self->messages_ += "; ";
        }
        self->messages_ += msg;
    }
    return 0;  // handled: do not print
}

PackageInfo package_info(Header h) {
    PackageInfo info;
    info.name = header_string(h, RPMTAG_NAME);
    if (headerIsEntry(h, RPMTAG_EPOCH) != 0) {
        info.epoch = header_string(h, RPMTAG_EPOCH);
    }
    info.version = header_string(h, RPMTAG_VERSION);
    info.release = header_string(h, RPMTAG_RELEASE);
    info.arch = header_string(h, RPMTAG_ARCH);
    info.is_source = headerIsSource(h) != 0;
    return info;
}

}  // namespace detail

void init_librpm() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (rpmReadConfigFiles(nullptr, nullptr) != 0) {
            throw RpmError("librpm: cannot read the rpm configuration (rpmReadConfigFiles failed)");
        }
        // Debian defines %_dbpath as %(bash -c 'echo ~/.rpmdb'): every expansion (each database
        // open, each transaction) would start a shell. Expand it once and pin the result.
        char* dbpath = rpmExpand("%{_dbpath}", nullptr);
        if (dbpath != nullptr && dbpath[0] == '/') {
            rpmPushMacro(nullptr, "_dbpath", nullptr, dbpath, RMIL_CMDLINE);
        }
        free(dbpath);  // NOLINT(cppcoreguidelines-no-malloc): rpmExpand's contract
    });
}

namespace {

// Reads one header from an open FD_t. Header digests are checked; signatures (no keys here)
// and the payload digest (we may hold only a prefix) are not.
std::optional<PackageInfo> read_header(FD_t fd, const std::string& label, std::string& error) {
    init_librpm();
    TsPtr ts(rpmtsCreate());
    rpmtsSetVSFlags(ts.get(), RPMVSF_MASK_NOSIGNATURES | RPMVSF_MASK_NOPAYLOAD);
    rpmtsSetVfyLevel(ts.get(), 0);
    Header raw = nullptr;
    rpmRC rc = RPMRC_FAIL;
    RpmLogCapture log;
    rc = rpmReadPackageFile(ts.get(), fd, label.c_str(), &raw);
    HeaderPtr h(raw);
    if ((rc != RPMRC_OK && rc != RPMRC_NOTTRUSTED && rc != RPMRC_NOKEY) || !h) {
        error = log.messages().empty() ? "not an RPM package" : log.messages();
        return std::nullopt;
    }
    return detail::package_info(h.get());
}

}  // namespace

PackageInfo read_package_file(const std::filesystem::path& path) {
    FdPtr fd(Fopen(path.c_str(), "r.ufdio"));
    if (!fd || Ferror(fd.get()) != 0) {
        throw RpmError("cannot open " + path.string() + ": " + (fd ? Fstrerror(fd.get()) : "unknown error"));
    }
    std::string error;
    auto info = read_header(fd.get(), path.string(), error);
    if (!info) {
        throw RpmError(path.string() + " is not a valid RPM: " + error);
    }
    return *info;
}

PrefixResult read_package_prefix(std::span<const std::byte> prefix, const std::string& label) {
    core::UniqueFd mem(::memfd_create("rpm-prefix", MFD_CLOEXEC));
    if (!mem) {
        throw core::SystemError(errno, "memfd_create failed while checking", label);
    }
    size_t off = 0;
    while (off < prefix.size()) {
        ssize_t n = ::write(mem.get(), prefix.data() + off, prefix.size() - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            throw core::SystemError(errno, "cannot buffer the header of", label);
        }
        off += static_cast<size_t>(n);
    }
    ::lseek(mem.get(), 0, SEEK_SET);
    FdPtr fd(fdDup(mem.get()));
    PrefixResult result;
    result.info = read_header(fd.get(), label, result.error);
    // librpm names the file by its descriptor; say which member it really is.
    for (const std::string memfd_name : {"/memfd:rpm-prefix (deleted)", "/memfd:rpm-prefix"}) {
        for (size_t pos; (pos = result.error.find(memfd_name)) != std::string::npos;) {
            result.error.replace(pos, memfd_name.size(), label);
        }
    }
    return result;
}

}  // namespace patching::rpm
