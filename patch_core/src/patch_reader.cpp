// SPDX-License-Identifier: Apache-2.0
#include "archive_handle.hpp"
#include "hash_pipeline.hpp"

#include <patch_core/errors.hpp>
#include <patch_core/patch_file.hpp>
#include <patch_core/patch_id.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <set>
#include <utility>

namespace patching::core {

using detail::ArchiveReadPtr;
using detail::HashPipeline;

namespace {

constexpr size_t READ_BLOCK = 1U << 20U;
constexpr std::array<const char*, 5> MEMBER_ORDER = {
    METADATA_TAR, SOFTWARE_TAR, SEMANTICS_TAR, SIGNATURE, SIGNATURE_V2};

std::string quoted(const char* name) {
    return name == nullptr ? std::string("(no name)") : "\"" + std::string(name) + "\"";
}

bool all_zero(const std::byte* p, size_t n) {
    return std::all_of(p, p + n, [](std::byte b) { return b == std::byte{0}; });
}

// archive_read_next_header's verdict is a failure. ARCHIVE_RETRY (a damaged header, e.g. a bad
// checksum) ranks above ARCHIVE_WARN but leaves an empty entry: it is corruption, not a member.
bool header_failed(int rc) { return rc != ARCHIVE_OK && rc != ARCHIVE_WARN; }

// Describes what is wrong with an archive entry's type, or nullopt for a plain regular file.
std::optional<std::string> entry_type_problem(struct archive_entry* e) {
    if (archive_entry_hardlink(e) != nullptr) {
        return "is a hard link";
    }
    switch (archive_entry_filetype(e)) {
        case AE_IFREG: break;
        case AE_IFLNK: return "is a symbolic link";
        case AE_IFDIR: return "is a directory";
        case AE_IFCHR:
        case AE_IFBLK: return "is a device node";
        case AE_IFIFO: return "is a FIFO";
        default: return "is not a regular file";
    }
    if (archive_entry_sparse_count(e) > 0) {
        return "is a sparse file";
    }
    return std::nullopt;
}

class Reader {
public:
    Reader(const std::filesystem::path& path, const signing::TrustStore& trust, const ReadOptions& options)
        : path_(path), trust_(trust), options_(options), limits_(options.limits), label_(path.string()) {}

    VerifiedPatch run();

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw PatchFileError(label_ + ": " + escape_unprintable(what));
    }
    // Problems with signed content are reported only after the signature verdict.
    void defer(const std::string& what) {
        if (deferred_.empty()) {
            deferred_ = what;
        }
    }
    void check_outer(int rc, const std::string& what) {
        if (rc < ARCHIVE_WARN) {
            fail(what + ": " + detail::archive_message(outer_.get()));
        }
    }
    void check_bomb();
    std::string read_member_to_string(const char* name, std::uint64_t size, std::uint64_t limit, bool hashed);
    std::vector<TarMember> parse_small_tar(const std::string& bytes, const char* tar_name,
                                           std::uint64_t max_member);
    void read_software(std::uint64_t size);
    void parse_software(struct archive* inner);
    void check_software_entry(struct archive_entry* e, std::set<std::string>& seen);

    const std::filesystem::path& path_;
    const signing::TrustStore& trust_;
    const ReadOptions& options_;
    const ReadLimits& limits_;
    std::string label_;
    std::uint64_t file_size_ = 0;
    ArchiveReadPtr outer_;
    HashPipeline hashes_;
    std::string deferred_;
    std::string inspector_error_;  // reported last: after the contents/members comparison
    VerifiedPatch result_;

    // Nested pull from outer software.tar into the inner tar parser (see read_software).
    struct InnerSource {
        Reader* reader = nullptr;
        std::uint64_t remaining = 0;
        std::uint64_t delivered = 0;
        HashPipeline::Chunk* current = nullptr;
        HashPipeline::Chunk* previous = nullptr;
        std::exception_ptr error;
    } source_;
    HashPipeline::Chunk* pull_chunk(std::uint64_t& remaining);
    static la_ssize_t source_read(struct archive* /*a*/, void* ctx, const void** buf) {
        auto* options = static_cast<ReadOptions*>(ctx);
        std::span<const std::byte> chunk = options->source();
        *buf = chunk.data();
        return static_cast<la_ssize_t>(chunk.size());
    }
    static la_ssize_t inner_read(struct archive* a, void* ctx, const void** buf);
};

void Reader::check_bomb() {
    auto uncompressed = static_cast<std::uint64_t>(archive_filter_bytes(outer_.get(), 0));
    auto compressed = static_cast<std::uint64_t>(archive_filter_bytes(outer_.get(), -1));
    if (uncompressed > limits_.max_patch_bytes) {
        fail("expands to more than " + std::to_string(limits_.max_patch_bytes) +
             " bytes; refusing to read further (decompression bomb?)");
    }
    if (uncompressed > limits_.ratio_grace && compressed > 0 &&
        static_cast<double>(uncompressed) / static_cast<double>(compressed) > limits_.max_compression_ratio) {
        fail("compression ratio exceeds " + std::to_string(static_cast<int>(limits_.max_compression_ratio)) +
             ":1 after " + std::to_string(uncompressed) + " bytes; refusing to read further (decompression bomb?)");
    }
    if (options_.progress) {
        options_.progress(compressed, file_size_);
    }
}

std::string Reader::read_member_to_string(const char* name, std::uint64_t size, std::uint64_t limit, bool hashed) {
    if (size > limit) {
        fail(std::string(name) + " is " + std::to_string(size) + " bytes, more than the limit of " +
             std::to_string(limit));
    }
    std::string out(size, '\0');
    size_t got = 0;
    while (got < size) {
        la_ssize_t n = archive_read_data(outer_.get(), out.data() + got, size - got);
        if (n < 0) {
            check_outer(static_cast<int>(n), std::string("reading ") + name);
        }
        if (n <= 0) {
            fail(std::string(name) + " is truncated (the file is incomplete)");
        }
        got += static_cast<size_t>(n);
    }
    if (hashed) {
        hashes_.begin_stream();
        hashes_.feed(reinterpret_cast<const std::byte*>(out.data()), out.size());
    }
    check_bomb();
    return out;
}

std::vector<TarMember> Reader::parse_small_tar(const std::string& bytes, const char* tar_name,
                                               std::uint64_t max_member) {
    ArchiveReadPtr a(archive_read_new());
    archive_read_support_format_tar(a.get());
    std::vector<TarMember> members;
    if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) {
        defer(std::string(tar_name) + " is not a tar archive: " + detail::archive_message(a.get()));
        return members;
    }
    std::set<std::string> seen;
    struct archive_entry* e = nullptr;
    for (;;) {
        int rc = archive_read_next_header(a.get(), &e);
        if (rc == ARCHIVE_EOF) {
            break;
        }
        if (header_failed(rc)) {
            defer(std::string(tar_name) + " is corrupt: " + detail::archive_message(a.get()));
            return {};
        }
        const char* name = archive_entry_pathname(e);
        if (auto problem = entry_type_problem(e)) {
            defer(std::string(tar_name) + " member " + quoted(name) + " " + *problem);
            return {};
        }
        if (name == nullptr || !seen.insert(name).second) {
            defer(std::string(tar_name) + " holds member " + quoted(name) + " twice");
            return {};
        }
        auto size = static_cast<std::uint64_t>(archive_entry_size(e));
        if (size > max_member) {
            defer(std::string(tar_name) + " member " + quoted(name) + " is larger than " +
                  std::to_string(max_member) + " bytes");
            return {};
        }
        TarMember m{name, std::string(size, '\0'), static_cast<unsigned>(archive_entry_perm(e))};
        if (size > 0 && archive_read_data(a.get(), m.content.data(), size) != static_cast<la_ssize_t>(size)) {
            defer(std::string(tar_name) + " member " + quoted(name) + " is truncated");
            return {};
        }
        members.push_back(std::move(m));
    }
    // Whatever follows the end-of-archive marker must be padding, as in software.tar.
    auto end = static_cast<size_t>(archive_read_header_position(a.get()));
    if (end < bytes.size() && !all_zero(reinterpret_cast<const std::byte*>(bytes.data()) + end, bytes.size() - end)) {
        defer(std::string(tar_name) + " has data after its end-of-archive marker");
        return {};
    }
    return members;
}

HashPipeline::Chunk* Reader::pull_chunk(std::uint64_t& remaining) {
    HashPipeline::Chunk* chunk = hashes_.acquire();
    size_t want = static_cast<size_t>(std::min<std::uint64_t>(remaining, HashPipeline::CHUNK_SIZE));
    size_t got = 0;
    while (got < want) {
        la_ssize_t n = archive_read_data(outer_.get(), chunk->data.get() + got, want - got);
        if (n <= 0) {
            hashes_.release(chunk);
            if (n < 0) {
                check_outer(static_cast<int>(n), "reading software.tar");
            }
            fail("software.tar is truncated (the file is incomplete)");
        }
        got += static_cast<size_t>(n);
    }
    chunk->size = got;
    remaining -= got;
    hashes_.submit(chunk);
    check_bomb();
    return chunk;
}

la_ssize_t Reader::inner_read(struct archive* /*a*/, void* ctx, const void** buf) {
    auto* src = static_cast<InnerSource*>(ctx);
    Reader& r = *src->reader;
    try {
        // libarchive may still be looking at the previous buffer only until this call; keep two
        // so the end-of-archive position can be checked against either.
        if (src->previous != nullptr) {
            r.hashes_.release(src->previous);
        }
        src->previous = std::exchange(src->current, nullptr);
        if (src->remaining == 0) {
            return 0;
        }
        src->current = r.pull_chunk(src->remaining);
        src->delivered += src->current->size;
        *buf = src->current->data.get();
        return static_cast<la_ssize_t>(src->current->size);
    } catch (...) {
        src->error = std::current_exception();
        return -1;
    }
}

void Reader::check_software_entry(struct archive_entry* e, std::set<std::string>& seen) {
    const char* name = archive_entry_pathname(e);
    if (auto problem = entry_type_problem(e)) {
        throw PatchFileError("software.tar member " + quoted(name) + " " + *problem);
    }
    if (name == nullptr || !is_safe_basename(name)) {
        throw PatchFileError("software.tar member " + quoted(name) +
                             " is not a plain file name (absolute path or path traversal)");
    }
    if (!seen.insert(name).second) {
        throw PatchFileError("software.tar holds " + quoted(name) + " twice");
    }
    if (seen.size() > limits_.max_rpms) {
        throw PatchFileError("software.tar holds more than " + std::to_string(limits_.max_rpms) + " members");
    }
    if (static_cast<std::uint64_t>(archive_entry_size(e)) > limits_.max_rpm_bytes) {
        throw PatchFileError("software.tar member " + quoted(name) + " is larger than " +
                             std::to_string(limits_.max_rpm_bytes) + " bytes");
    }
}

void Reader::parse_software(struct archive* inner) {
    std::set<std::string> seen;
    struct archive_entry* e = nullptr;
    for (;;) {
        int rc = archive_read_next_header(inner, &e);
        if (source_.error) {
            std::rethrow_exception(source_.error);
        }
        if (rc == ARCHIVE_EOF) {
            return;
        }
        if (header_failed(rc)) {
            throw PatchFileError("software.tar is corrupt: " + detail::archive_message(inner));
        }
        check_software_entry(e, seen);
        std::string name = archive_entry_pathname(e);
        auto size = static_cast<std::uint64_t>(archive_entry_size(e));
        result_.software.push_back({name, size});
        SoftwareInspector* inspector = inspector_error_.empty() ? options_.inspector : nullptr;
        auto inspect = [&](auto&& call) {
            if (inspector == nullptr) {
                return;
            }
            try {
                call();
            } catch (const PatchFileError& err) {
                inspector_error_ = err.what();
                inspector = nullptr;
            }
        };
        inspect([&] { inspector->begin_member(name, size); });
        std::uint64_t expected_offset = 0;
        for (;;) {
            const void* block = nullptr;
            size_t len = 0;
            la_int64_t offset = 0;
            rc = archive_read_data_block(inner, &block, &len, &offset);
            if (source_.error) {
                std::rethrow_exception(source_.error);
            }
            if (rc == ARCHIVE_EOF) {
                break;
            }
            if (rc < ARCHIVE_WARN) {
                throw PatchFileError("software.tar member \"" + name + "\" is corrupt: " +
                                     detail::archive_message(inner));
            }
            if (static_cast<std::uint64_t>(offset) != expected_offset) {
                throw PatchFileError("software.tar member \"" + name + "\" has holes");
            }
            expected_offset += len;
            inspect([&] { inspector->member_data({static_cast<const std::byte*>(block), len}); });
        }
        if (expected_offset != size) {
            throw PatchFileError("software.tar member \"" + name + "\" is truncated");
        }
        inspect([&] { inspector->end_member(); });
    }
}

// software.tar is hashed and parsed in the same pass: the inner tar reader pulls its input from
// the outer member through inner_read, and every chunk it pulls goes to the hashers as well.
// Once the inner reader reports end-of-archive, every remaining byte must be zero: a tar spliced
// after the end marker (the reference's unframed-signature weakness) is refused.
void Reader::read_software(std::uint64_t size) {
    if (size > limits_.max_software_tar) {
        fail("software.tar is " + std::to_string(size) + " bytes, more than the limit of " +
             std::to_string(limits_.max_software_tar));
    }
    result_.software_tar_size = size;
    hashes_.begin_stream();
    source_ = InnerSource{this, size, 0, nullptr, nullptr, nullptr};

    ArchiveReadPtr inner(archive_read_new());
    archive_read_support_format_tar(inner.get());
    bool inner_ok = false;
    try {
        if (archive_read_open(inner.get(), &source_, nullptr, &Reader::inner_read, nullptr) != ARCHIVE_OK) {
            if (source_.error) {
                std::rethrow_exception(source_.error);
            }
            throw PatchFileError("software.tar is not a tar archive: " + detail::archive_message(inner.get()));
        }
        parse_software(inner.get());
        inner_ok = true;
    } catch (const PatchFileError& e) {
        if (source_.error) {
            std::rethrow_exception(source_.error);  // outer read failure: fatal
        }
        defer(e.what());
    }

    bool tail_clean = true;
    if (inner_ok) {
        auto end = static_cast<std::uint64_t>(archive_read_header_position(inner.get()));
        std::uint64_t cur_start = source_.delivered - (source_.current ? source_.current->size : 0);
        std::uint64_t prev_start = cur_start - (source_.previous ? source_.previous->size : 0);
        if (end < prev_start) {
            tail_clean = false;
        } else {
            if (source_.previous != nullptr && end < cur_start) {
                tail_clean = all_zero(source_.previous->data.get() + (end - prev_start), cur_start - end);
            }
            if (tail_clean && source_.current != nullptr) {
                std::uint64_t from = std::max(end, cur_start) - cur_start;
                tail_clean = all_zero(source_.current->data.get() + from, source_.current->size - from);
            }
        }
    }
    for (HashPipeline::Chunk* c : {source_.previous, source_.current}) {
        if (c != nullptr) {
            hashes_.release(c);
        }
    }
    source_.previous = source_.current = nullptr;
    while (source_.remaining > 0) {
        HashPipeline::Chunk* chunk = pull_chunk(source_.remaining);
        if (tail_clean) {
            tail_clean = all_zero(chunk->data.get(), chunk->size);
        }
        hashes_.release(chunk);
    }
    if (inner_ok && !tail_clean) {
        defer("software.tar has data after its end-of-archive marker (a spliced archive?)");
    }
}

VerifiedPatch Reader::run() {
    result_.path = path_;
    if (!options_.source) {
        struct stat st {};
        if (::stat(path_.c_str(), &st) != 0) {
            throw SystemError(errno, "cannot open patch", path_);
        }
        if (!S_ISREG(st.st_mode)) {
            fail("not a regular file");
        }
        file_size_ = static_cast<std::uint64_t>(st.st_size);
    }

    outer_.reset(archive_read_new());
    archive_read_support_filter_gzip(outer_.get());
    archive_read_support_format_tar(outer_.get());
    int open_rc = options_.source
                      ? archive_read_open(outer_.get(), const_cast<ReadOptions*>(&options_), nullptr, &Reader::source_read,
                                          nullptr)
                      : archive_read_open_filename(outer_.get(), path_.c_str(), READ_BLOCK);
    if (open_rc != ARCHIVE_OK) {
        fail("not a patch file (not a gzip-compressed tar archive, or truncated): " +
             detail::archive_message(outer_.get()));
    }

    std::map<std::string, std::string> small;  // signature, signature.v2
    int last_index = -1;
    std::set<std::string> seen;
    struct archive_entry* e = nullptr;
    for (bool first = true;; first = false) {
        int rc = archive_read_next_header(outer_.get(), &e);
        if (rc == ARCHIVE_EOF) {
            if (first) {
                fail("not a patch file: the archive is empty");
            }
            break;
        }
        if (header_failed(rc)) {
            if (first) {
                fail("not a patch file (not a gzip-compressed tar archive): " +
                     detail::archive_message(outer_.get()));
            }
            fail("the archive is corrupt or truncated: " + detail::archive_message(outer_.get()));
        }
        if (first && archive_filter_code(outer_.get(), 0) != ARCHIVE_FILTER_GZIP) {
            fail("not a patch file: the archive is not gzip-compressed");
        }
        const char* name = archive_entry_pathname(e);
        auto it = std::find_if(MEMBER_ORDER.begin(), MEMBER_ORDER.end(),
                               [&](const char* n) { return name != nullptr && std::strcmp(n, name) == 0; });
        if (it == MEMBER_ORDER.end()) {
            fail("unexpected member " + quoted(name) + " (a patch holds only metadata.tar, software.tar, "
                 "semantics.tar, signature and signature.v2)");
        }
        if (!seen.insert(name).second) {
            fail("member " + quoted(name) + " appears twice");
        }
        if (auto problem = entry_type_problem(e)) {
            fail("member " + quoted(name) + " " + *problem);
        }
        int index = static_cast<int>(it - MEMBER_ORDER.begin());
        if (index < last_index) {
            fail("member " + quoted(name) + " is out of order (expected metadata.tar, software.tar, "
                 "[semantics.tar], signature, signature.v2)");
        }
        if (index > 0 && index <= 2 && !seen.contains(METADATA_TAR)) {
            fail("member " + quoted(name) + " comes before metadata.tar");
        }
        last_index = index;
        auto size = static_cast<std::uint64_t>(archive_entry_size(e));
        std::string member = name;
        if (member == METADATA_TAR) {
            result_.metadata_tar = read_member_to_string(METADATA_TAR, size, limits_.max_small_tar, true);
        } else if (member == SOFTWARE_TAR) {
            read_software(size);
        } else if (member == SEMANTICS_TAR) {
            result_.semantics_tar = read_member_to_string(SEMANTICS_TAR, size, limits_.max_small_tar, true);
            result_.has_semantics = true;
        } else {
            small[member] = read_member_to_string(member.c_str(), size, limits_.max_signature_bytes, false);
        }
    }
    if (!seen.contains(METADATA_TAR) || !seen.contains(SOFTWARE_TAR)) {
        fail(std::string("not a complete patch: missing ") +
             (seen.contains(METADATA_TAR) ? SOFTWARE_TAR : METADATA_TAR));
    }
    if (!small.contains(SIGNATURE)) {
        fail("not a complete patch: missing the integrity file \"signature\"");
    }
    if (!small.contains(SIGNATURE_V2) && options_.verify_signature) {
        fail("the patch is not signed (no signature.v2 member); unsigned patches are refused");
    }

    // 1. Integrity (MD5 XOR), 2. authenticity (RSA), 3. everything about the signed content.
    auto expected = parse_md5_signature_text(small[SIGNATURE]);
    if (!expected) {
        fail("integrity check failed: the \"signature\" member is not a hexadecimal checksum");
    }
    std::string computed = md5_signature_text(hashes_.md5_digests());
    if (parse_md5_signature_text(computed) != expected) {
        fail("integrity check failed: the content does not match its \"signature\" checksum "
             "(the file is corrupt or was modified)");
    }
    if (options_.verify_signature) {
        const std::string& v2 = small[SIGNATURE_V2];
        result_.signature = trust_.verify(hashes_.sha256_digest(), signing::Signature(v2.begin(), v2.end()));
        if (!result_.signature.ok()) {
            fail("signature check failed: " + result_.signature.detail);
        }
    } else {
        result_.signature.detail = "signature not checked";
    }

    std::vector<TarMember> meta_members = parse_small_tar(result_.metadata_tar, METADATA_TAR, 4U << 20U);
    if (deferred_.empty()) {
        if (meta_members.size() != 1 || meta_members[0].name != "metadata.xml") {
            defer("metadata.tar must hold exactly one member, metadata.xml");
        } else {
            result_.metadata_xml = std::move(meta_members[0].content);
        }
    }
    if (!deferred_.empty()) {
        fail(deferred_);
    }
    try {
        result_.metadata = parse_metadata_xml(result_.metadata_xml, label_);
    } catch (const MetadataError& err) {
        throw PatchFileError(err.what());  // already "<file>: metadata.xml: <problem>"
    }
    const PatchMetadata& md = result_.metadata;

    if (result_.has_semantics) {
        for (auto& m : parse_small_tar(result_.semantics_tar, SEMANTICS_TAR, limits_.max_script_bytes)) {
            std::string action = m.name.substr(0, m.name.find('/'));
            if ((action != "pre-apply" && action != "pre-remove") || m.name != action + "/" + md.id) {
                defer("semantics.tar member \"" + m.name + "\" is not pre-apply/" + md.id +
                      " or pre-remove/" + md.id);
                break;
            }
            result_.semantics.push_back({action, std::move(m.content)});
        }
    }
    if (!deferred_.empty()) {
        fail(deferred_);
    }

    std::set<std::string> listed(md.contents.begin(), md.contents.end());
    for (const auto& member : result_.software) {
        if (!listed.contains(member.name)) {
            fail("software.tar holds \"" + member.name + "\", which metadata.xml <contents> does not list");
        }
        listed.erase(member.name);
    }
    if (!listed.empty()) {
        fail("metadata.xml lists \"" + *listed.begin() + "\" in <contents>, but software.tar does not hold it");
    }
    std::set<std::string> declared(md.semantics.begin(), md.semantics.end());
    std::set<std::string> present;
    for (const auto& s : result_.semantics) {
        present.insert(s.action);
    }
    if (declared != present) {
        fail("metadata.xml <semantics> declares " + std::to_string(declared.size()) +
             " check script(s) but semantics.tar holds " + std::to_string(present.size()) +
             " (a stripped or spliced patch?)");
    }
    if (!inspector_error_.empty()) {
        fail(inspector_error_);
    }
    if (options_.require_matching_file_name && path_.filename() != md.id + ".patch") {
        fail("the file name does not match the patch ID " + md.id + " (rename it to " + md.id + ".patch)");
    }
    return std::move(result_);
}

}  // namespace

VerifiedPatch read_patch(const std::filesystem::path& path, const signing::TrustStore& trust,
                         const ReadOptions& options) {
    return Reader(path, trust, options).run();
}

}  // namespace patching::core
