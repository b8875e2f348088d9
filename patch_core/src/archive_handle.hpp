// SPDX-License-Identifier: Apache-2.0
// The only place (with the .cpp files that use it) that includes libarchive's headers.
#pragma once

#include <common/c_handles.hpp>
#include <patch_core/errors.hpp>

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <string>

namespace patching::core::detail {

using common::CFree;

using ArchiveReadPtr = std::unique_ptr<struct archive, CFree<archive_read_free>>;
using ArchiveWritePtr = std::unique_ptr<struct archive, CFree<archive_write_free>>;
using ArchiveEntryPtr = std::unique_ptr<struct archive_entry, CFree<archive_entry_free>>;

inline std::string archive_message(struct archive* a) {
    const char* msg = archive_error_string(a);
    return msg != nullptr ? msg : "truncated or corrupt data";
}

/// Throws `ErrorT(context + ": " + libarchive message)` when `rc` is below ARCHIVE_WARN.
template <class ErrorT = PatchFileError>
void check_archive(struct archive* a, int rc, const std::string& context) {
    if (rc < ARCHIVE_WARN) {
        throw ErrorT(context + ": " + archive_message(a));
    }
}

}  // namespace patching::core::detail
