// SPDX-License-Identifier: Apache-2.0
#include "archive_handle.hpp"

#include <patch_core/errors.hpp>
#include <patch_core/fs.hpp>
#include <patch_core/patch_file.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <exception>
#include <vector>

namespace patching::core {

using detail::ArchiveReadPtr;

namespace {

constexpr size_t BLOCK = 1U << 20U;

struct OuterSource {
    struct archive* outer = nullptr;
    std::vector<char> buffer = std::vector<char>(BLOCK);
    std::uint64_t remaining = 0;

    static la_ssize_t read(struct archive* /*a*/, void* ctx, const void** buf) {
        auto* self = static_cast<OuterSource*>(ctx);
        if (self->remaining == 0) {
            return 0;
        }
        size_t want = static_cast<size_t>(std::min<std::uint64_t>(self->remaining, BLOCK));
        la_ssize_t n = archive_read_data(self->outer, self->buffer.data(), want);
        if (n <= 0) {
            return n < 0 ? n : -1;
        }
        self->remaining -= static_cast<std::uint64_t>(n);
        *buf = self->buffer.data();
        return n;
    }
};

// Removes the files written so far unless released.
struct Cleanup {
    std::vector<std::filesystem::path> written;
    bool keep = false;
    ~Cleanup() {
        if (!keep) {
            for (const auto& p : written) {
                ::unlink(p.c_str());
            }
        }
    }
};

}  // namespace

std::vector<std::filesystem::path> extract_software(const VerifiedPatch& patch, const std::filesystem::path& dest_dir) {
    const std::string label = patch.path.string();
    ArchiveReadPtr outer(archive_read_new());
    archive_read_support_filter_gzip(outer.get());
    archive_read_support_format_tar(outer.get());
    if (archive_read_open_filename(outer.get(), patch.path.c_str(), BLOCK) != ARCHIVE_OK) {
        throw PatchFileError(label + ": cannot reopen for extraction: " + detail::archive_message(outer.get()));
    }
    struct archive_entry* e = nullptr;
    for (;;) {
        int rc = archive_read_next_header(outer.get(), &e);
        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
            throw PatchFileError(label + ": software.tar not found during extraction (the file changed?)");
        }
        if (std::strcmp(archive_entry_pathname(e), SOFTWARE_TAR) == 0) {
            break;
        }
    }
    if (static_cast<std::uint64_t>(archive_entry_size(e)) != patch.software_tar_size) {
        throw PatchFileError(label + ": software.tar changed since it was verified");
    }

    OuterSource source{outer.get(), std::vector<char>(BLOCK), patch.software_tar_size};
    ArchiveReadPtr inner(archive_read_new());
    archive_read_support_format_tar(inner.get());
    if (archive_read_open(inner.get(), &source, nullptr, &OuterSource::read, nullptr) != ARCHIVE_OK) {
        throw PatchFileError(label + ": software.tar: " + detail::archive_message(inner.get()));
    }
    Cleanup cleanup;
    size_t index = 0;
    for (;;) {
        int rc = archive_read_next_header(inner.get(), &e);
        if (rc == ARCHIVE_EOF) {
            break;
        }
        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
            throw PatchFileError(label + ": software.tar: " + detail::archive_message(inner.get()));
        }
        if (index >= patch.software.size() || patch.software[index].name != archive_entry_pathname(e) ||
            static_cast<std::uint64_t>(archive_entry_size(e)) != patch.software[index].size) {
            throw PatchFileError(label + ": software.tar changed since it was verified");
        }
        const SoftwareMember& member = patch.software[index++];
        std::filesystem::path target = dest_dir / member.name;
        UniqueFd fd(::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
        if (!fd) {
            throw SystemError(errno, "cannot create", target);
        }
        cleanup.written.push_back(target);
        std::uint64_t total = 0;
        for (;;) {
            const void* block = nullptr;
            size_t len = 0;
            la_int64_t offset = 0;
            rc = archive_read_data_block(inner.get(), &block, &len, &offset);
            if (rc == ARCHIVE_EOF) {
                break;
            }
            if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
                throw PatchFileError(label + ": " + member.name + ": " + detail::archive_message(inner.get()));
            }
            const char* p = static_cast<const char*>(block);
            while (len > 0) {
                ssize_t n = ::write(fd.get(), p, len);
                if (n < 0 && errno == EINTR) {
                    continue;
                }
                if (n < 0) {
                    throw SystemError(errno, "cannot write", target);
                }
                p += n;
                len -= static_cast<size_t>(n);
                total += static_cast<std::uint64_t>(n);
            }
        }
        if (total != member.size) {
            throw PatchFileError(label + ": " + member.name + " is truncated");
        }
        if (::fsync(fd.get()) != 0) {
            throw SystemError(errno, "cannot flush", target);
        }
    }
    if (index != patch.software.size()) {
        throw PatchFileError(label + ": software.tar changed since it was verified");
    }
    cleanup.keep = true;
    return cleanup.written;
}

}  // namespace patching::core
