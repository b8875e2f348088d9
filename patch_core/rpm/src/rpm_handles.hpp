// SPDX-License-Identifier: Apache-2.0
// The only place (with the .cpp files of this folder) that includes librpm's headers.
#pragma once

#include <rpm/header.h>
#include <rpm/rpmio.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmts.h>

#include <memory>
#include <mutex>
#include <string>

namespace patching::rpm::detail {

template <auto FreeFn>
struct CFree {
    template <class T>
    void operator()(T* p) const noexcept {
        FreeFn(p);
    }
};

using TsPtr = std::unique_ptr<std::remove_pointer_t<rpmts>, CFree<rpmtsFree>>;
using HeaderPtr = std::unique_ptr<std::remove_pointer_t<Header>, CFree<headerFree>>;
using FdPtr = std::unique_ptr<std::remove_pointer_t<FD_t>, CFree<Fclose>>;
using CStringPtr = std::unique_ptr<char, CFree<free>>;

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
