// SPDX-License-Identifier: Apache-2.0
#include <signing/digest.hpp>

#include "ossl_handles.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace patching::signing {

namespace {

// Shared by Md5 and Sha256: one EVP_MD_CTX, fed directly so that hashing large streams costs
// nothing beyond the digest itself.
struct DigestState {
    detail::EvpMdCtxPtr ctx;
    bool finished = false;

    explicit DigestState(const EVP_MD* md) : ctx(EVP_MD_CTX_new()) {
        ERR_clear_error();
        if (!ctx || EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1) {
            detail::throw_openssl(std::string("cannot initialise ") + EVP_MD_get0_name(md));
        }
    }

    void update(std::span<const std::byte> data) {
        if (finished) {
            throw std::logic_error("digest updated after finish()");
        }
        if (data.empty()) {
            return;
        }
        if (EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1) {
            detail::throw_openssl("digest update failed");
        }
    }

    template <std::size_t N>
    std::array<std::uint8_t, N> finish() {
        if (finished) {
            throw std::logic_error("digest finished twice");
        }
        finished = true;
        std::array<std::uint8_t, N> out{};
        unsigned int len = 0;
        if (EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != N) {
            detail::throw_openssl("digest finalisation failed");
        }
        return out;
    }
};

}  // namespace

struct Md5::Impl : DigestState {
    Impl() : DigestState(detail::md5_md()) {}
};

Md5::Md5() : impl_(std::make_unique<Impl>()) {}
Md5::~Md5() = default;
void Md5::update(std::span<const std::byte> data) { impl_->update(data); }
Md5Digest Md5::finish() { return impl_->finish<16>(); }

struct Sha256::Impl : DigestState {
    Impl() : DigestState(detail::sha256_md()) {}
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {}
Sha256::~Sha256() = default;
void Sha256::update(std::span<const std::byte> data) { impl_->update(data); }
Sha256Digest Sha256::finish() { return impl_->finish<32>(); }

std::string to_hex(std::span<const std::uint8_t> bytes) {
    static constexpr char DIGITS[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (std::uint8_t b : bytes) {
        out += DIGITS[b >> 4];
        out += DIGITS[b & 0x0f];
    }
    return out;
}

namespace {

const EVP_MD* repodata_md(std::string_view algorithm) {
    if (algorithm == "sha256") {
        return EVP_sha256();
    }
    if (algorithm == "sha512") {
        return EVP_sha512();
    }
    if (algorithm == "sha1" || algorithm == "sha") {
        return EVP_sha1();
    }
    if (algorithm == "md5") {
        return EVP_md5();
    }
    throw Error("unsupported checksum type \"" + std::string(algorithm) + "\"");
}

}  // namespace

struct Digest::Impl : DigestState {
    explicit Impl(const EVP_MD* md) : DigestState(md) {}
};

Digest::Digest(std::string_view algorithm)
    : impl_(std::make_unique<Impl>(repodata_md(algorithm))) {}
Digest::~Digest() = default;
Digest::Digest(Digest&&) noexcept = default;
Digest& Digest::operator=(Digest&&) noexcept = default;
void Digest::update(std::span<const std::byte> data) { impl_->update(data); }

std::string Digest::finish_hex() {
    if (impl_->finished) {
        throw std::logic_error("digest finished twice");
    }
    impl_->finished = true;
    unsigned int len = 0;
    std::array<std::uint8_t, EVP_MAX_MD_SIZE> digest{};
    if (EVP_DigestFinal_ex(impl_->ctx.get(), digest.data(), &len) != 1) {
        detail::throw_openssl("cannot finish a digest");
    }
    return to_hex(std::span<const std::uint8_t>(digest.data(), len));
}

std::string file_digest_hex(const std::filesystem::path& file, std::string_view algorithm) {
    Digest digest(algorithm);
    const common::FilePtr closer(std::fopen(file.c_str(), "rbe"));
    if (!closer) {
        throw Error("cannot open " + file.string() + ": " + std::strerror(errno));
    }
    std::FILE* f = closer.get();
    std::vector<std::byte> buf(64U << 10U);
    for (;;) {
        const std::size_t n = std::fread(buf.data(), 1, buf.size(), f);
        if (n > 0) {
            digest.update(std::span<const std::byte>(buf.data(), n));
        }
        if (n < buf.size()) {
            if (std::ferror(f) != 0) {
                throw Error("cannot read " + file.string() + ": " + std::strerror(errno));
            }
            break;
        }
    }
    return digest.finish_hex();
}

}  // namespace patching::signing
