// SPDX-License-Identifier: Apache-2.0
// The only place (with the .cpp files of this folder) that includes librpm's headers.
#pragma once

#include <patch_core/rpm/package.hpp>

#include <rpm/header.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmio.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmprob.h>
#include <rpm/rpmps.h>
#include <rpm/rpmte.h>
#include <rpm/rpmts.h>

#include <common/c_handles.hpp>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

namespace patching::rpm::detail {

using common::CFree;

using TsPtr = std::unique_ptr<std::remove_pointer_t<rpmts>, CFree<rpmtsFree>>;
using HeaderPtr = std::unique_ptr<std::remove_pointer_t<Header>, CFree<headerFree>>;
using FdPtr = std::unique_ptr<std::remove_pointer_t<FD_t>, CFree<Fclose>>;
using CStringPtr = std::unique_ptr<char, CFree<free>>;
using MatchIteratorPtr = std::unique_ptr<std::remove_pointer_t<rpmdbMatchIterator>, CFree<rpmdbFreeIterator>>;
using ProblemSetPtr = std::unique_ptr<std::remove_pointer_t<rpmps>, CFree<rpmpsFree>>;
using ProblemIteratorPtr = std::unique_ptr<std::remove_pointer_t<rpmpsi>, CFree<rpmpsFreeIterator>>;
using TsIteratorPtr = std::unique_ptr<std::remove_pointer_t<rpmtsi>, CFree<rpmtsiFree>>;

/// Takes a reference of its own on `h` (headerLink): the way to keep a header that librpm only
/// lends, such as one returned by rpmdbNextIterator (valid until the next call).
inline HeaderPtr link_header(Header h) { return HeaderPtr(headerLink(h)); }

/// A string tag of `h` as text ("" when absent); headerGetAsString's buffer is freed here.
inline std::string header_string(Header h, rpmTagVal tag) {
    CStringPtr value(headerGetAsString(h, tag));
    return value ? std::string(value.get()) : std::string();
}

/// Name, [epoch,] version, release and arch of a package header.
PackageInfo package_info(Header h);

/// @throws RpmError unless `root` is an absolute path (rpmtsSetRootDir refuses others).
void require_absolute_root(const std::filesystem::path& root);

/// Whether the rpmdb of `root` holds a database (its directory exists and is not empty).
bool rpmdb_exists(const std::filesystem::path& root);

/// Collects rpmlog messages emitted during its lifetime instead of printing them. rpmlog is
/// process-global, so one guard at a time (static mutex), as dnf5's RpmLogGuard.
class RpmLogCapture {
public:
    RpmLogCapture();
    ~RpmLogCapture();
    RpmLogCapture(const RpmLogCapture&) = delete;
    RpmLogCapture& operator=(const RpmLogCapture&) = delete;
    /// Messages of level warning and worse, joined with "; ".
    const std::string& messages() const { return messages_; }

private:
    static int callback(rpmlogRec rec, rpmlogCallbackData data);
    std::unique_lock<std::mutex> lock_;
    std::string messages_;
    rpmlogCallback old_callback_ = nullptr;
    rpmlogCallbackData old_data_ = nullptr;
};

}  // namespace patching::rpm::detail
