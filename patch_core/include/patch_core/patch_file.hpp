// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <patch_core/metadata.hpp>
#include <signing/keys.hpp>
#include <signing/trust_store.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace patching::core {

/// Names of the outer members, in the order the reference writes them.
inline constexpr const char* METADATA_TAR = "metadata.tar";
inline constexpr const char* SOFTWARE_TAR = "software.tar";
inline constexpr const char* SEMANTICS_TAR = "semantics.tar";
inline constexpr const char* SIGNATURE = "signature";
inline constexpr const char* SIGNATURE_V2 = "signature.v2";

/// Called with (bytes done, bytes total) while a large stream is processed.
using ProgressFn = std::function<void(std::uint64_t, std::uint64_t)>;

// ---------------------------------------------------------------------------------------------
// Reading

/// Bounds on untrusted input. Every limit is checked while streaming, so a hostile patch is
/// stopped before it costs more than these amounts of memory, time or disk (it costs no disk).
struct ReadLimits {
    std::uint64_t max_patch_bytes = 64ULL << 30U;      ///< Uncompressed outer tar.
    std::uint64_t max_software_tar = 64ULL << 30U;
    std::uint64_t max_rpm_bytes = (8ULL << 30U) - 1;   ///< Per RPM (ustar size-field limit).
    std::uint64_t max_small_tar = 16ULL << 20U;        ///< metadata.tar and semantics.tar.
    std::uint64_t max_script_bytes = 4ULL << 20U;      ///< Each semantic check script.
    std::uint64_t max_signature_bytes = 1024;          ///< signature and signature.v2.
    std::uint64_t max_rpms = 10000;
    /// Decompression-bomb guard: past `ratio_grace` uncompressed bytes, the uncompressed/
    /// compressed ratio may not exceed this (deflate's own maximum is about 1032).
    double max_compression_ratio = 200.0;
    std::uint64_t ratio_grace = 64ULL << 20U;
};

/// Sees each software.tar member's bytes during the single verification pass, before the
/// signature verdict is known: it must treat the data as untrusted and keep nothing on disk.
/// patch_core_rpm provides one that checks each member is an RPM matching its file name.
/// To reject a member, throw PatchFileError (the reader reports it once the patch's integrity
/// and signature are established, so the operator sees the most fundamental problem first).
class SoftwareInspector {
public:
    virtual ~SoftwareInspector() = default;
    virtual void begin_member(const std::string& name, std::uint64_t size) = 0;
    virtual void member_data(std::span<const std::byte> data) = 0;
    virtual void end_member() = 0;
};

struct ReadOptions {
    ReadLimits limits;
    SoftwareInspector* inspector = nullptr;  ///< Not owned; may be null.
    /// Require the file to be named `<id>.patch` (the controller derives the ID from the name).
    bool require_matching_file_name = true;
    /// Check signature.v2 against the trust store. Only re-signing turns this off (it replaces
    /// the signature, and still requires the MD5 integrity check and every structural check).
    bool verify_signature = true;
    ProgressFn progress;
    /// When set, the patch's bytes come from this function instead of the file at `path`
    /// (then used only in messages and for the file-name check), so a patch can be verified
    /// while it is still arriving. Each call returns the next chunk, valid until the next call;
    /// an empty span means the end. It must not throw: a failing source ends the stream early
    /// (the reader then reports truncation) and the caller reports its own error.
    std::function<std::span<const std::byte>()> source;
};

struct SoftwareMember {
    std::string name;
    std::uint64_t size = 0;
};

struct SemanticScript {
    std::string action;  ///< "pre-apply" or "pre-remove".
    std::string content;
};

/// A patch whose integrity (`signature`) and authenticity (`signature.v2`) were verified and
/// whose every structural check passed.
struct VerifiedPatch {
    std::filesystem::path path;
    PatchMetadata metadata;
    std::string metadata_xml;   ///< The exact bytes, for storing as <ID>-metadata.xml.
    std::string metadata_tar;   ///< Exact inner tar bytes (re-used by modify/re-sign).
    std::string semantics_tar;  ///< Exact bytes, empty when absent.
    bool has_semantics = false;
    std::vector<SoftwareMember> software;  ///< In archive order.
    std::uint64_t software_tar_size = 0;
    std::vector<SemanticScript> semantics;
    signing::VerifyResult signature;  ///< Which certificate verified it.
};

/// Reads and verifies a .patch file in one streaming pass: nothing is written to disk and
/// memory stays bounded whatever the file size. Checks, in the order they are reported:
/// gzip/tar structure and limits; outer members (exact names, order, regular files, no
/// duplicates); the MD5 `signature`; the RSA `signature.v2` against `trust`; metadata.xml;
/// inner tars (no traversal, absolute paths, links, devices, duplicates; no data after the
/// end of software.tar); software members exactly match <contents>; the inspector's verdicts.
/// @throws PatchFileError "<file>: <problem>" on any failure.
VerifiedPatch read_patch(
    const std::filesystem::path& path,
    const signing::TrustStore& trust,
    const ReadOptions& options = {});

// ---------------------------------------------------------------------------------------------
// Writing

/// One RPM to place in software.tar.
struct SoftwareInput {
    std::filesystem::path path;
    std::string name;  ///< Member name (the basename).
    std::uint64_t size = 0;
};

/// Writes a .patch file: `<output_dir>/<id>.patch`, atomically (nothing is left behind on
/// failure). Inner tars are ustar, padded to 10240-byte records like Python's tarfile; the outer
/// tar holds the members in the reference's order and is gzip-compressed, with already
/// compressed data stored rather than recompressed.
class PatchWriter {
public:
    struct Options {
        std::filesystem::path output;       ///< Full output path (…/<ID>.patch).
        signing::PrivateKey key;
        std::int64_t mtime = 0;             ///< Member mtimes and gzip MTIME.
        ProgressFn progress;
    };

    explicit PatchWriter(Options options);
    ~PatchWriter();
    PatchWriter(const PatchWriter&) = delete;
    PatchWriter& operator=(const PatchWriter&) = delete;

    /// REQUIRES: called first, once.
    void add_metadata_tar(const std::string& tar_bytes);
    /// Builds software.tar from RPM files, streaming. REQUIRES: after add_metadata_tar.
    void add_software_from_files(const std::vector<SoftwareInput>& rpms);
    /// Copies software.tar byte-for-byte from an existing (already verified) patch file.
    void add_software_from_patch(const std::filesystem::path& patch, std::uint64_t size);
    /// Optional; REQUIRES: after software.
    void add_semantics_tar(const std::string& tar_bytes);
    /// Writes `signature` and `signature.v2` and renames the file into place.
    void commit();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// One regular file for an in-memory inner tar.
struct TarMember {
    std::string name;
    std::string content;
    unsigned mode = 0644;
};

/// Builds a small ustar archive in memory (metadata.tar, semantics.tar), padded to 10240 bytes.
std::string make_inner_tar(const std::vector<TarMember>& members, std::int64_t mtime);

/// The reference's integrity-only `signature` text: "%x" of 2^128-1 XOR each MD5.
std::string md5_signature_text(const std::vector<signing::Md5Digest>& digests);

/// Parses `signature` text as Python's int(text, 16) would (whitespace, "0x", "_").
/// Returns nullopt if it is not a hex number of at most 128 bits.
std::optional<signing::Md5Digest> parse_md5_signature_text(std::string_view text);

}  // namespace patching::core

namespace patching::core {

/// Writes the RPMs of an already verified patch into `dest_dir` (which must exist and be
/// private to the caller), streaming: one more pass over the file, no temporary copies.
/// Each file is created with O_EXCL; the names and sizes must match what read_patch verified,
/// so a file swapped between the two passes is refused. On failure the files written so far
/// are removed. Returns the paths written, in archive order.
/// @throws PatchFileError / SystemError naming the patch and the file.
std::vector<std::filesystem::path> extract_software(
    const VerifiedPatch& patch, const std::filesystem::path& dest_dir);

}  // namespace patching::core
