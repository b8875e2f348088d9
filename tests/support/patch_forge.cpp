// SPDX-License-Identifier: Apache-2.0
// Test-only builder for hostile .patch files. It validates nothing on purpose.
#include "support/patch_forge.hpp"

#include <patch_core/patch_file.hpp>
#include <signing/digest.hpp>
#include <signing/keys.hpp>

#include <common/c_handles.hpp>

#include <archive.h>
#include <archive_entry.h>
#include <sys/types.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <memory>
#include <span>
#include <stdexcept>

namespace patching::test {

namespace {

constexpr std::int64_t FORGE_MTIME = 1700000000;
constexpr int BLOCK = 10240;

using WritePtr = common::CHandle<struct archive, archive_write_free>;
using ReadPtr = common::CHandle<struct archive, archive_read_free>;
using EntryPtr = common::CHandle<struct archive_entry, archive_entry_free>;

[[noreturn]] void archive_fail(struct archive* a, const std::string& what) {
    const char* msg = archive_error_string(a);
    throw std::runtime_error("patch_forge: " + what + ": " + (msg != nullptr ? msg : "?"));
}

void check(struct archive* a, int rc, const std::string& what) {
    if (rc < ARCHIVE_WARN) {
        archive_fail(a, what);
    }
}

la_ssize_t append_to_string(struct archive* /*a*/, void* ctx, const void* buf, size_t len) {
    static_cast<std::string*>(ctx)->append(static_cast<const char*>(buf), len);
    return static_cast<la_ssize_t>(len);
}

int open_noop(struct archive* /*a*/, void* /*ctx*/) {
    return ARCHIVE_OK;
}
int close_noop(struct archive* /*a*/, void* /*ctx*/) {
    return ARCHIVE_OK;
}

mode_t file_type_bits(char type) {
    switch (type) {
        case '2':
            return AE_IFLNK;
        case '3':
            return AE_IFCHR;
        case '4':
            return AE_IFBLK;
        case '5':
            return AE_IFDIR;
        case '6':
            return AE_IFIFO;
        default:
            return AE_IFREG;  // '0' and '1' (a hard link is a regular file with a link name)
    }
}

std::vector<ForgeMember> read_members(struct archive* a) {
    std::vector<ForgeMember> out;
    struct archive_entry* e = nullptr;
    for (;;) {
        int rc = archive_read_next_header(a, &e);
        if (rc == ARCHIVE_EOF) {
            break;
        }
        check(a, rc, "reading a member header");
        ForgeMember m;
        const char* name = archive_entry_pathname(e);
        m.name = name != nullptr ? name : "";
        m.mode = static_cast<unsigned>(archive_entry_perm(e));
        if (const char* hard = archive_entry_hardlink(e)) {
            m.type = '1';
            m.link_target = hard;
        } else {
            switch (archive_entry_filetype(e)) {
                case AE_IFLNK:
                    m.type = '2';
                    break;
                case AE_IFCHR:
                    m.type = '3';
                    break;
                case AE_IFBLK:
                    m.type = '4';
                    break;
                case AE_IFDIR:
                    m.type = '5';
                    break;
                case AE_IFIFO:
                    m.type = '6';
                    break;
                default:
                    m.type = '0';
                    break;
            }
            if (const char* sym = archive_entry_symlink(e)) {
                m.link_target = sym;
            }
        }
        std::array<char, 65536> buf{};
        for (;;) {
            la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
            if (n < 0) {
                archive_fail(a, "reading member " + m.name);
            }
            if (n == 0) {
                break;
            }
            m.content.append(buf.data(), static_cast<size_t>(n));
        }
        out.push_back(std::move(m));
    }
    return out;
}

// Raw deflate (no header) of `data` in a fresh stream, ended with Z_FULL_FLUSH: the output is
// byte-aligned, not final and refers to nothing before it, so such segments can be
// concatenated (and repeated) into one valid deflate stream.
std::string deflate_segment(const char* data, size_t size, int level, int flush = Z_FULL_FLUSH) {
    z_stream z{};
    if (deflateInit2(&z, level, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
        throw std::runtime_error("patch_forge: deflateInit2 failed");
    }
    std::string out(deflateBound(&z, static_cast<uLong>(size)) + 64, '\0');
    // Bytef* is not const in zlib's prototypes.
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
    z.avail_in = static_cast<uInt>(size);
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    int rc = deflate(&z, flush);
    bool ok = flush == Z_FINISH ? rc == Z_STREAM_END : (rc == Z_OK && z.avail_in == 0);
    out.resize(z.total_out);
    deflateEnd(&z);
    if (!ok) {
        throw std::runtime_error("patch_forge: deflate failed");
    }
    return out;
}

void put_le32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
        out += static_cast<char>((v >> (8 * i)) & 0xffU);
    }
}

}  // namespace

std::string forge_tar(const std::vector<ForgeMember>& members, ForgeTarFormat format) {
    std::string out;
    WritePtr a(archive_write_new());
    switch (format) {
        case ForgeTarFormat::USTAR:
            check(a.get(), archive_write_set_format_ustar(a.get()), "ustar");
            break;
        case ForgeTarFormat::GNU:
            check(a.get(), archive_write_set_format_gnutar(a.get()), "gnutar");
            break;
        case ForgeTarFormat::PAX:
            check(a.get(), archive_write_set_format_pax(a.get()), "pax");
            break;
    }
    check(a.get(), archive_write_set_bytes_per_block(a.get(), BLOCK), "bytes_per_block");
    check(a.get(), archive_write_set_bytes_in_last_block(a.get(), BLOCK), "bytes_in_last_block");
    check(
        a.get(), archive_write_open(a.get(), &out, &open_noop, &append_to_string, &close_noop),
        "open");
    for (const auto& m : members) {
        EntryPtr e(archive_entry_new());
        archive_entry_set_pathname(e.get(), m.name.c_str());
        archive_entry_set_filetype(e.get(), file_type_bits(m.type));
        archive_entry_set_perm(e.get(), static_cast<mode_t>(m.mode));
        archive_entry_set_mtime(e.get(), FORGE_MTIME, 0);
        archive_entry_set_uname(e.get(), "root");
        archive_entry_set_gname(e.get(), "root");
        bool has_data = m.type == '0';
        archive_entry_set_size(e.get(), has_data ? static_cast<la_int64_t>(m.content.size()) : 0);
        if (m.type == '1') {
            archive_entry_set_hardlink(e.get(), m.link_target.c_str());
        } else if (m.type == '2') {
            archive_entry_set_symlink(e.get(), m.link_target.c_str());
        } else if (m.type == '3' || m.type == '4') {
            archive_entry_set_rdevmajor(e.get(), 1);
            archive_entry_set_rdevminor(e.get(), 3);
        }
        check(a.get(), archive_write_header(a.get(), e.get()), "header for " + m.name);
        if (has_data && !m.content.empty()) {
            la_ssize_t n = archive_write_data(a.get(), m.content.data(), m.content.size());
            if (n != static_cast<la_ssize_t>(m.content.size())) {
                archive_fail(a.get(), "data for " + m.name);
            }
        }
    }
    check(a.get(), archive_write_close(a.get()), "close");
    return out;
}

std::string forge_gzip(const std::string& data, int level) {
    z_stream z{};
    if (deflateInit2(&z, level, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
        throw std::runtime_error("patch_forge: deflateInit2 failed");
    }
    std::string out;
    out.resize(deflateBound(&z, static_cast<uLong>(data.size())) + 64);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    int rc = deflate(&z, Z_FINISH);
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        throw std::runtime_error("patch_forge: deflate did not finish");
    }
    out.resize(z.total_out);
    return out;
}

std::string forge_md5_signature(const std::vector<std::string>& inner_tars) {
    std::vector<signing::Md5Digest> digests;
    for (const auto& tar : inner_tars) {
        signing::Md5 md5;
        md5.update(std::as_bytes(std::span(tar.data(), tar.size())));
        digests.push_back(md5.finish());
    }
    return core::md5_signature_text(digests);
}

std::string forge_pss_signature(
    const std::vector<std::string>& inner_tars, const std::filesystem::path& key_pem) {
    signing::Sha256 sha;
    for (const auto& tar : inner_tars) {
        sha.update(std::as_bytes(std::span(tar.data(), tar.size())));
    }
    signing::Signature sig = signing::PrivateKey::load_pem(key_pem).sign_pss_sha256(sha.finish());
    return {sig.begin(), sig.end()};
}

std::vector<ForgeMember> forge_read_outer(const std::filesystem::path& patch) {
    ReadPtr a(archive_read_new());
    archive_read_support_filter_gzip(a.get());
    archive_read_support_format_tar(a.get());
    check(
        a.get(), archive_read_open_filename(a.get(), patch.c_str(), BLOCK),
        "open " + patch.string());
    return read_members(a.get());
}

std::vector<ForgeMember> forge_read_tar(const std::string& tar) {
    ReadPtr a(archive_read_new());
    archive_read_support_format_tar(a.get());
    check(a.get(), archive_read_open_memory(a.get(), tar.data(), tar.size()), "open inner tar");
    return read_members(a.get());
}

std::string forge_raw_entry(const RawHeader& h, const std::string& content) {
    std::array<char, 512> block{};
    auto put = [&](size_t off, size_t len, const std::string& value) {
        std::memcpy(block.data() + off, value.data(), std::min(len, value.size()));
    };
    auto octal = [&](size_t off, size_t len, std::uint64_t value) {
        std::string digits(len - 1, '0');
        for (size_t i = digits.size(); i > 0 && value > 0; --i, value >>= 3U) {
            digits[i - 1] = static_cast<char>('0' + (value & 7U));
        }
        put(off, len, digits);  // the last byte stays NUL
    };
    put(0, 100, h.name);
    octal(100, 8, h.mode);
    octal(108, 8, 0);
    octal(116, 8, 0);
    octal(124, 12, h.size);
    octal(136, 12, static_cast<std::uint64_t>(FORGE_MTIME));
    block[156] = h.type;
    put(157, 100, h.link_target);
    put(257, 8,
        std::string(
            "ustar\0"
            "00",
            8));
    put(265, 32, "root");
    put(297, 32, "root");
    octal(329, 8, 0);
    octal(337, 8, 0);
    put(345, 155, h.prefix);
    std::memset(block.data() + 148, ' ', 8);
    unsigned sum = 0;
    for (char c : block) {
        sum += static_cast<unsigned char>(c);
    }
    octal(148, 7, sum);  // six digits, then NUL and the space already there
    block[154] = '\0';
    std::string out(block.data(), block.size());
    out += content;
    out.append((512 - content.size() % 512) % 512, '\0');
    return out;
}

std::string forge_pax_record(const std::string& key, const std::string& value) {
    // The length counts itself: find the fixed point.
    size_t body = key.size() + value.size() + 3;  // ' ', '=', '\n'
    size_t len = body + 1;
    while (std::to_string(len).size() + body != len) {
        ++len;
    }
    return std::to_string(len) + " " + key + "=" + value + "\n";
}

std::string forge_raw_finish(std::string body) {
    body.append(1024, '\0');
    body.append((BLOCK - body.size() % BLOCK) % BLOCK, '\0');
    return body;
}

void forge_gzip_with_zeros(
    const std::filesystem::path& out, const std::string& head, std::uint64_t zeros, int level) {
    // Deflating gigabytes of zeros takes seconds; a full-flushed segment of 1 MiB of zeros is
    // compressed once and written as often as needed, and the CRC is combined arithmetically.
    constexpr size_t SEGMENT = 1U << 20U;
    const std::vector<char> block(SEGMENT, '\0');
    const std::string zero_segment = deflate_segment(block.data(), SEGMENT, level);
    const auto block_crc = crc32(0L, reinterpret_cast<const Bytef*>(block.data()), SEGMENT);

    std::ofstream file(out, std::ios::binary | std::ios::trunc);
    // gzip header: magic, CM=deflate, no flags, MTIME 0, XFL 0, OS 255 (unknown).
    file.write("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
    std::string seg = deflate_segment(head.data(), head.size(), level);
    file.write(seg.data(), static_cast<std::streamsize>(seg.size()));
    uLong crc =
        crc32(0L, reinterpret_cast<const Bytef*>(head.data()), static_cast<uInt>(head.size()));
    std::uint64_t total = head.size() + zeros;
    for (; zeros >= SEGMENT; zeros -= SEGMENT) {
        file.write(zero_segment.data(), static_cast<std::streamsize>(zero_segment.size()));
        crc = crc32_combine(crc, block_crc, static_cast<z_off_t>(SEGMENT));
    }
    if (zeros > 0) {
        auto n = static_cast<size_t>(zeros);
        seg = deflate_segment(block.data(), n, level);
        file.write(seg.data(), static_cast<std::streamsize>(seg.size()));
        crc = crc32_combine(
            crc, crc32(0L, reinterpret_cast<const Bytef*>(block.data()), static_cast<uInt>(n)),
            static_cast<z_off_t>(n));
    }
    std::string tail = deflate_segment(nullptr, 0, level, Z_FINISH);  // the final, empty block
    put_le32(tail, static_cast<std::uint32_t>(crc));
    put_le32(tail, static_cast<std::uint32_t>(total & 0xffffffffU));
    file.write(tail.data(), static_cast<std::streamsize>(tail.size()));
    file.close();
    if (!file) {
        throw std::runtime_error("patch_forge: cannot write " + out.string());
    }
}

}  // namespace patching::test
