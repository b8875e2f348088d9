// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace patching::test {

/// One raw tar member for hand-made (possibly hostile) archives.
struct ForgeMember {
    std::string name;
    std::string content;
    char type =
        '0';  ///< '0' regular, '2' symlink, '1' hard link, '3'/'4' device, '5' dir, '6' fifo
    std::string link_target;  ///< For links.
    unsigned mode = 0644;
};

/// Tar formats the forge can write (via libarchive).
enum class ForgeTarFormat { USTAR, GNU, PAX };

/// Builds a tar archive in memory with libarchive, with no validation at all, so tests can
/// produce exactly the hostile layout they want. Padded to 10240-byte records.
std::string forge_tar(
    const std::vector<ForgeMember>& members, ForgeTarFormat format = ForgeTarFormat::USTAR);

/// gzip-compresses `data` (zlib, level `level`).
std::string forge_gzip(const std::string& data, int level = 6);

/// MD5-XOR `signature` text over the given inner tars.
std::string forge_md5_signature(const std::vector<std::string>& inner_tars);

/// RSA-PSS signature.v2 bytes over the concatenated inner tars, with the given PEM key.
std::string forge_pss_signature(
    const std::vector<std::string>& inner_tars, const std::filesystem::path& key_pem);

/// Members of a reference-built patch file (outer gzip tar), in archive order.
std::vector<ForgeMember> forge_read_outer(const std::filesystem::path& patch);

/// Members of an in-memory (uncompressed) tar, in archive order.
std::vector<ForgeMember> forge_read_tar(const std::string& tar);

/// Fields of one raw ustar header block, for layouts libarchive will not write (a PAX or GNU
/// long-name record overriding an innocent name, a "../" prefix field, a size that lies...).
struct RawHeader {
    std::string name;
    std::uint64_t size = 0;  ///< The size field (need not match the content given).
    char type = '0';
    std::string link_target;
    std::string prefix;  ///< ustar prefix field (155 bytes).
    unsigned mode = 0644;
};

/// One header block (checksum computed) followed by `content` zero-padded to 512 bytes.
std::string forge_raw_entry(const RawHeader& header, const std::string& content = {});

/// A PAX extended record ("<len> key=value\n").
std::string forge_pax_record(const std::string& key, const std::string& value);

/// Appends the end-of-archive marker and pads to 10240-byte records.
std::string forge_raw_finish(std::string body);

/// Writes `out` as gzip(head + `zeros` zero bytes), streaming through deflate, so that a
/// decompression bomb of any size costs neither memory nor much disk.
void forge_gzip_with_zeros(
    const std::filesystem::path& out, const std::string& head, std::uint64_t zeros, int level = 9);

}  // namespace patching::test
