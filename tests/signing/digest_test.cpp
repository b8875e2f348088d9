// SPDX-License-Identifier: Apache-2.0
#include <signing/digest.hpp>
#include <signing/errors.hpp>

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace {

using patching::signing::Md5;
using patching::signing::Sha256;
using patching::signing::to_hex;

std::span<const std::byte> bytes_of(std::string_view s) {
    return std::as_bytes(std::span(s.data(), s.size()));
}

template <class Digest>
std::string hex_of(std::string_view data) {
    Digest d;
    d.update(bytes_of(data));
    auto out = d.finish();
    return to_hex(out);
}

// Feeds `data` in uneven chunks (1, 2, 3, ... bytes, then 64 KiB blocks) to exercise buffering.
template <class Digest>
std::string hex_of_chunked(const std::string& data) {
    Digest d;
    std::size_t pos = 0;
    for (std::size_t n = 1; pos < data.size() && n < 200; ++n) {
        std::size_t take = std::min(n, data.size() - pos);
        d.update(bytes_of(std::string_view(data).substr(pos, take)));
        pos += take;
    }
    while (pos < data.size()) {
        std::size_t take = std::min<std::size_t>(65536, data.size() - pos);
        d.update(bytes_of(std::string_view(data).substr(pos, take)));
        d.update({});  // empty updates are harmless
        pos += take;
    }
    auto out = d.finish();
    return to_hex(out);
}

}  // namespace

TEST_CASE("MD5 known vectors", "[signing][digest]") {
    CHECK(hex_of<Md5>("") == "d41d8cd98f00b204e9800998ecf8427e");
    CHECK(hex_of<Md5>("abc") == "900150983cd24fb0d6963f7d28e17f72");
    CHECK(hex_of<Md5>("The quick brown fox jumps over the lazy dog") ==
          "9e107d9d372bb6826bd81d3542a419d6");
    CHECK(hex_of_chunked<Md5>(std::string(1000000, 'a')) == "7707d6ae4e027c70eea2a935c2296f21");
}

TEST_CASE("SHA-256 known vectors", "[signing][digest]") {
    CHECK(hex_of<Sha256>("") ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(hex_of<Sha256>("abc") ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(hex_of<Sha256>("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(hex_of_chunked<Sha256>(std::string(1000000, 'a')) ==
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("Chunked and one-shot hashing agree", "[signing][digest]") {
    std::string data;
    for (int i = 0; i < 300000; ++i) {
        data += static_cast<char>((i * 7919) & 0xff);
    }
    CHECK(hex_of_chunked<Sha256>(data) == hex_of<Sha256>(data));
    CHECK(hex_of_chunked<Md5>(data) == hex_of<Md5>(data));
}

TEST_CASE("A finished digest cannot be reused", "[signing][digest]") {
    Sha256 sha;
    sha.update(bytes_of("x"));
    (void)sha.finish();
    CHECK_THROWS_AS(sha.update(bytes_of("y")), std::logic_error);
    CHECK_THROWS_AS(sha.finish(), std::logic_error);
}

TEST_CASE("to_hex is lowercase and handles empty input", "[signing][digest]") {
    const std::uint8_t raw[] = {0x00, 0x0f, 0xa5, 0xff};
    CHECK(to_hex(raw) == "000fa5ff");
    CHECK(to_hex({}).empty());
}

TEST_CASE("Digest by repodata name matches the known vectors and file_digest_hex", "[signing][digest]") {
    using patching::signing::Digest;
    auto hex = [](std::string_view algorithm, std::string_view data) {
        Digest d(algorithm);
        d.update(bytes_of(data.substr(0, data.size() / 2)));
        d.update(bytes_of(data.substr(data.size() / 2)));
        return d.finish_hex();
    };
    CHECK(hex("sha256", "abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(hex("sha1", "abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
    CHECK(hex("sha", "abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
    CHECK(hex("md5", "abc") == "900150983cd24fb0d6963f7d28e17f72");
    CHECK(
        hex("sha512", "abc") ==
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
    CHECK_THROWS_AS(Digest("crc32"), patching::signing::Error);

    Digest moved("sha256");
    Digest d = std::move(moved);
    d.update(bytes_of("x"));
    (void)d.finish_hex();
    CHECK_THROWS_AS(d.update(bytes_of("y")), std::logic_error);
    CHECK_THROWS_AS(d.finish_hex(), std::logic_error);
}
