// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace patching::signing {

using Md5Digest = std::array<std::uint8_t, 16>;
using Sha256Digest = std::array<std::uint8_t, 32>;

/// Incremental MD5 (used only for the reference's integrity-only `signature` file).
/// Not thread-safe; one instance per stream.
class Md5 {
public:
    Md5();
    ~Md5();
    Md5(const Md5&) = delete;
    Md5& operator=(const Md5&) = delete;
    void update(std::span<const std::byte> data);
    /// Finishes the stream; the object must not be updated afterwards.
    Md5Digest finish();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Incremental SHA-256. Not thread-safe; one instance per stream.
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(std::span<const std::byte> data);
    Sha256Digest finish();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Incremental digest with a repodata checksum algorithm, named as repomd.xml and primary.xml
/// name them: "sha256", "sha512", "sha1" (or yum's old name "sha") or "md5". Lets a file be
/// checked while it is downloaded instead of read again afterwards. Not thread-safe; one
/// instance per stream.
class Digest {
public:
    /// @throws Error for an unknown algorithm.
    explicit Digest(std::string_view algorithm);
    ~Digest();
    Digest(const Digest&) = delete;
    Digest& operator=(const Digest&) = delete;
    Digest(Digest&&) noexcept;
    Digest& operator=(Digest&&) noexcept;
    void update(std::span<const std::byte> data);
    /// Finishes the stream and returns the lower-case hex digest; the object must not be updated
    /// afterwards.
    std::string finish_hex();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Lower-case hex digest of a whole file with a repodata checksum algorithm (see Digest).
/// Reads in 64 KiB blocks.
/// @throws Error for an unknown algorithm or a file that cannot be read (naming it).
std::string file_digest_hex(const std::filesystem::path& file, std::string_view algorithm);

/// Lowercase hex of arbitrary bytes.
std::string to_hex(std::span<const std::uint8_t> bytes);

}  // namespace patching::signing
