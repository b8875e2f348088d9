// SPDX-License-Identifier: Apache-2.0
#include "archive_handle.hpp"
#include "gzip_writer.hpp"
#include "hash_pipeline.hpp"

#include <patch_core/errors.hpp>
#include <patch_core/fs.hpp>
#include <patch_core/patch_file.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <exception>
#include <functional>
#include <utility>

namespace patching::core {

using detail::ArchiveEntryPtr;
using detail::ArchiveReadPtr;
using detail::ArchiveWritePtr;
using detail::check_archive;
using detail::HashPipeline;

namespace {

constexpr int TAR_RECORD = 10240;  // Python tarfile's RECORDSIZE; inner tars are padded to it.
constexpr size_t READ_BUFFER = 1U << 20U;

ArchiveEntryPtr make_entry(const std::string& name, std::uint64_t size, unsigned mode, std::int64_t mtime) {
    ArchiveEntryPtr entry(archive_entry_new());
    archive_entry_set_pathname(entry.get(), name.c_str());
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(size));
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), mode);
    archive_entry_set_mtime(entry.get(), mtime, 0);
    archive_entry_set_uid(entry.get(), 0);
    archive_entry_set_gid(entry.get(), 0);
    archive_entry_set_uname(entry.get(), "root");
    archive_entry_set_gname(entry.get(), "root");
    return entry;
}

// Forwards libarchive's output to a C++ callable; exceptions are parked and rethrown after
// the libarchive call returns, never propagated through C frames.
struct WriteSink {
    std::function<void(const void*, size_t)> write;
    std::exception_ptr error;

    static la_ssize_t callback(struct archive* /*a*/, void* ctx, const void* buf, size_t len) {
        auto* self = static_cast<WriteSink*>(ctx);
        try {
            self->write(buf, len);
            return static_cast<la_ssize_t>(len);
        } catch (...) {
            self->error = std::current_exception();
            return -1;
        }
    }
    void rethrow() {
        if (error) {
            std::rethrow_exception(std::exchange(error, nullptr));
        }
    }
};

ArchiveWritePtr open_tar_writer(WriteSink& sink, int bytes_per_block, const std::string& what) {
    ArchiveWritePtr a(archive_write_new());
    check_archive(a.get(), archive_write_set_format_ustar(a.get()), what);
    check_archive(a.get(), archive_write_set_bytes_per_block(a.get(), bytes_per_block), what);
    if (bytes_per_block > 0) {
        check_archive(a.get(), archive_write_set_bytes_in_last_block(a.get(), bytes_per_block), what);
    }
    check_archive(
        a.get(), archive_write_open(a.get(), &sink, nullptr, &WriteSink::callback, nullptr), what);
    return a;
}

// Exact byte size libarchive will produce for a ustar of these members: headers come from a
// dry run with empty bodies, bodies are padded to 512, the whole to the record size.
std::uint64_t predict_tar_size(const std::vector<SoftwareInput>& rpms) {
    std::uint64_t counted = 0;
    WriteSink sink{[&](const void*, size_t len) { counted += len; }, nullptr};
    ArchiveWritePtr a = open_tar_writer(sink, 512, "sizing software.tar");
    std::uint64_t bodies = 0;
    for (const auto& rpm : rpms) {
        ArchiveEntryPtr entry = make_entry(rpm.name, 0, 0644, 0);
        check_archive<BuildError>(a.get(), archive_write_header(a.get(), entry.get()),
                                  "cannot add " + rpm.name + " to software.tar");
        bodies += (rpm.size + 511) / 512 * 512;
    }
    check_archive(a.get(), archive_write_close(a.get()), "sizing software.tar");
    sink.rethrow();
    std::uint64_t total = counted + bodies;
    return (total + TAR_RECORD - 1) / TAR_RECORD * TAR_RECORD;
}

// Decides whether deflating is worth it by compressing a sample from the middle of each file
// (RPM headers compress well even when the payload does not).
bool worth_compressing(const std::vector<SoftwareInput>& rpms) {
    constexpr size_t SAMPLE = 64U << 10U;
    std::uint64_t compressible = 0;
    std::uint64_t total = 0;
    std::vector<unsigned char> in(SAMPLE);
    std::vector<unsigned char> out(compressBound(SAMPLE));
    for (const auto& rpm : rpms) {
        total += rpm.size;
        UniqueFd fd(::open(rpm.path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) {
            continue;
        }
        off_t offset = rpm.size > SAMPLE ? static_cast<off_t>(rpm.size / 2) : 0;
        ssize_t n = ::pread(fd.get(), in.data(), SAMPLE, offset);
        if (n <= 0) {
            continue;
        }
        uLongf out_len = static_cast<uLongf>(out.size());
        if (compress2(out.data(), &out_len, in.data(), static_cast<uLong>(n), 1) == Z_OK &&
            static_cast<double>(out_len) < 0.9 * static_cast<double>(n)) {
            compressible += rpm.size;
        }
    }
    return total > 0 && compressible * 10 > total;
}

}  // namespace

struct PatchWriter::Impl {
    Options options;
    AtomicFile file;
    detail::GzipWriter gzip;
    WriteSink outer_sink;
    ArchiveWritePtr outer;
    HashPipeline hashes;
    int stage = 0;  // 0 nothing, 1 metadata, 2 software, 3 semantics

    explicit Impl(Options opts)
        : options(std::move(opts)), file(options.output),
          gzip(file, options.output.filename().string(), static_cast<std::uint32_t>(options.mtime), 9),
          outer_sink{[this](const void* buf, size_t len) { gzip.write(buf, len); }, nullptr},
          outer(open_tar_writer(outer_sink, 0, "writing " + options.output.string())) {}

    void outer_header(const char* name, std::uint64_t size) {
        ArchiveEntryPtr entry = make_entry(name, size, 0644, options.mtime);
        int rc = archive_write_header(outer.get(), entry.get());
        outer_sink.rethrow();
        check_archive(outer.get(), rc, "writing " + options.output.string());
    }

    void outer_data(const void* data, size_t size) {
        la_ssize_t rc = archive_write_data(outer.get(), data, size);
        outer_sink.rethrow();
        if (rc < 0 || static_cast<size_t>(rc) != size) {
            throw PatchFileError("writing " + options.output.string() + ": " +
                                 detail::archive_message(outer.get()));
        }
    }

    void add_small_member(const char* name, const std::string& bytes, bool hashed) {
        gzip.set_level(9);
        outer_header(name, bytes.size());
        if (hashed) {
            hashes.begin_stream();
            hashes.feed(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size());
        }
        outer_data(bytes.data(), bytes.size());
    }

    // Hands a full chunk to the hashers and writes it to the outer archive meanwhile.
    void emit_chunk(HashPipeline::Chunk* chunk, std::uint64_t& done, std::uint64_t total) {
        hashes.submit(chunk);
        outer_data(chunk->data.get(), chunk->size);
        done += chunk->size;
        hashes.release(chunk);
        if (options.progress) {
            options.progress(done, total);
        }
    }
};

PatchWriter::PatchWriter(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}
PatchWriter::~PatchWriter() = default;

void PatchWriter::add_metadata_tar(const std::string& tar_bytes) {
    PATCHING_ASSERT(impl_->stage == 0, "metadata.tar must be added first");
    impl_->add_small_member(METADATA_TAR, tar_bytes, true);
    impl_->stage = 1;
}

void PatchWriter::add_software_from_files(const std::vector<SoftwareInput>& rpms) {
    Impl& w = *impl_;
    PATCHING_ASSERT(w.stage == 1, "software.tar must follow metadata.tar");
    const std::uint64_t total = predict_tar_size(rpms);
    w.gzip.set_level(worth_compressing(rpms) ? (total < (8U << 20U) ? 9 : 6) : 0);
    w.outer_header(SOFTWARE_TAR, total);
    w.hashes.begin_stream();

    std::uint64_t done = 0;
    HashPipeline::Chunk* chunk = nullptr;
    WriteSink inner_sink{
        [&](const void* buf, size_t len) {
            const auto* p = static_cast<const std::byte*>(buf);
            while (len > 0) {
                if (chunk == nullptr) {
                    chunk = w.hashes.acquire();
                }
                size_t n = std::min(len, HashPipeline::CHUNK_SIZE - chunk->size);
                std::memcpy(chunk->data.get() + chunk->size, p, n);
                chunk->size += n;
                p += n;
                len -= n;
                if (chunk->size == HashPipeline::CHUNK_SIZE) {
                    w.emit_chunk(std::exchange(chunk, nullptr), done, total);
                }
            }
        },
        nullptr};
    ArchiveWritePtr inner = open_tar_writer(inner_sink, TAR_RECORD, "creating software.tar");
    auto inner_call = [&](int rc, const std::string& what) {
        inner_sink.rethrow();
        check_archive<BuildError>(inner.get(), rc, what);
    };

    std::vector<char> buffer(READ_BUFFER);
    for (const auto& rpm : rpms) {
        UniqueFd fd(::open(rpm.path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) {
            throw SystemError(errno, "cannot open", rpm.path);
        }
        ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
        ArchiveEntryPtr entry = make_entry(rpm.name, rpm.size, 0644, w.options.mtime);
        inner_call(archive_write_header(inner.get(), entry.get()), "adding " + rpm.name);
        std::uint64_t copied = 0;
        for (;;) {
            ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                throw SystemError(errno, "cannot read", rpm.path);
            }
            if (n == 0) {
                break;
            }
            copied += static_cast<std::uint64_t>(n);
            if (copied > rpm.size) {
                break;
            }
            la_ssize_t rc = archive_write_data(inner.get(), buffer.data(), static_cast<size_t>(n));
            inner_call(rc < 0 ? static_cast<int>(rc) : ARCHIVE_OK, "adding " + rpm.name);
        }
        if (copied != rpm.size) {
            throw BuildError(rpm.path.string() + " changed size while the patch was being built");
        }
    }
    inner_call(archive_write_close(inner.get()), "finishing software.tar");
    if (chunk != nullptr) {
        w.emit_chunk(std::exchange(chunk, nullptr), done, total);
    }
    PATCHING_ASSERT(done == total, "software.tar size prediction was " + std::to_string(total) +
                                       " but libarchive wrote " + std::to_string(done));
    w.stage = 2;
}

void PatchWriter::add_software_from_patch(const std::filesystem::path& patch, std::uint64_t size) {
    Impl& w = *impl_;
    PATCHING_ASSERT(w.stage == 1, "software.tar must follow metadata.tar");
    ArchiveReadPtr src(archive_read_new());
    archive_read_support_filter_gzip(src.get());
    archive_read_support_format_tar(src.get());
    const std::string what = "reading software.tar from " + patch.string();
    check_archive(src.get(), archive_read_open_filename(src.get(), patch.c_str(), READ_BUFFER), what);
    struct archive_entry* entry = nullptr;
    for (;;) {
        int rc = archive_read_next_header(src.get(), &entry);
        if (rc == ARCHIVE_EOF) {
            throw PatchFileError(what + ": no software.tar member");
        }
        check_archive(src.get(), rc, what);
        if (std::strcmp(archive_entry_pathname(entry), SOFTWARE_TAR) == 0) {
            break;
        }
    }
    if (static_cast<std::uint64_t>(archive_entry_size(entry)) != size) {
        throw PatchFileError(what + ": size changed since it was verified");
    }
    w.gzip.set_level(0);
    w.outer_header(SOFTWARE_TAR, size);
    w.hashes.begin_stream();
    std::uint64_t done = 0;
    for (;;) {
        HashPipeline::Chunk* chunk = w.hashes.acquire();
        la_ssize_t n = archive_read_data(src.get(), chunk->data.get(), HashPipeline::CHUNK_SIZE);
        if (n <= 0) {
            w.hashes.release(chunk);
            check_archive(src.get(), static_cast<int>(n), what);
            break;
        }
        chunk->size = static_cast<size_t>(n);
        w.emit_chunk(chunk, done, size);
    }
    if (done != size) {
        throw PatchFileError(what + ": truncated");
    }
    w.stage = 2;
}

void PatchWriter::add_semantics_tar(const std::string& tar_bytes) {
    PATCHING_ASSERT(impl_->stage == 2, "semantics.tar must follow software.tar");
    impl_->add_small_member(SEMANTICS_TAR, tar_bytes, true);
    impl_->stage = 3;
}

void PatchWriter::commit() {
    Impl& w = *impl_;
    PATCHING_ASSERT(w.stage >= 2, "a patch needs metadata.tar and software.tar");
    std::string md5_text = md5_signature_text(w.hashes.md5_digests());
    signing::Signature v2 = w.options.key.sign_pss_sha256(w.hashes.sha256_digest());
    w.add_small_member(SIGNATURE, md5_text, false);
    w.add_small_member(SIGNATURE_V2, std::string(v2.begin(), v2.end()), false);
    int rc = archive_write_close(w.outer.get());
    w.outer_sink.rethrow();
    check_archive(w.outer.get(), rc, "writing " + w.options.output.string());
    w.gzip.finish();
    w.file.commit();
}

std::string make_inner_tar(const std::vector<TarMember>& members, std::int64_t mtime) {
    std::string out;
    WriteSink sink{[&](const void* buf, size_t len) { out.append(static_cast<const char*>(buf), len); },
                   nullptr};
    ArchiveWritePtr a = open_tar_writer(sink, TAR_RECORD, "creating inner tar");
    for (const auto& m : members) {
        ArchiveEntryPtr entry = make_entry(m.name, m.content.size(), m.mode, mtime);
        check_archive<BuildError>(a.get(), archive_write_header(a.get(), entry.get()), "adding " + m.name);
        if (archive_write_data(a.get(), m.content.data(), m.content.size()) !=
            static_cast<la_ssize_t>(m.content.size())) {
            throw BuildError("adding " + m.name + ": " + detail::archive_message(a.get()));
        }
    }
    check_archive(a.get(), archive_write_close(a.get()), "finishing inner tar");
    sink.rethrow();
    return out;
}

std::string md5_signature_text(const std::vector<signing::Md5Digest>& digests) {
    signing::Md5Digest acc;
    acc.fill(0xff);
    for (const auto& d : digests) {
        for (size_t i = 0; i < acc.size(); ++i) {
            acc[i] ^= d[i];
        }
    }
    std::string hex = signing::to_hex(acc);
    size_t first = hex.find_first_not_of('0');
    // Python's "%x" drops leading zeros and prints "0" for zero.
    return first == std::string::npos ? "0" : hex.substr(first);
}

std::optional<signing::Md5Digest> parse_md5_signature_text(std::string_view text) {
    auto is_space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
    while (!text.empty() && is_space(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_space(text.back())) {
        text.remove_suffix(1);
    }
    if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        text.remove_prefix(2);
        if (!text.empty() && text.front() == '_') {
            text.remove_prefix(1);  // Python accepts "0x_ff"
        }
    }
    std::string digits;
    char prev = '_';
    for (char c : text) {
        if (c == '_') {
            if (prev == '_') {
                return std::nullopt;  // leading or doubled underscore
            }
        } else if (std::isxdigit(static_cast<unsigned char>(c)) != 0) {
            digits += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        } else {
            return std::nullopt;
        }
        prev = c;
    }
    if (digits.empty() || prev == '_') {
        return std::nullopt;
    }
    size_t first = digits.find_first_not_of('0');
    digits = first == std::string::npos ? "0" : digits.substr(first);
    if (digits.size() > 32) {
        return std::nullopt;
    }
    digits.insert(0, 32 - digits.size(), '0');
    signing::Md5Digest value{};
    for (size_t i = 0; i < value.size(); ++i) {
        value[i] = static_cast<std::uint8_t>(std::stoi(digits.substr(i * 2, 2), nullptr, 16));
    }
    return value;
}

}  // namespace patching::core
