// SPDX-License-Identifier: Apache-2.0
#include <signing/errors.hpp>
#include <signing/keys.hpp>

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <chrono>
#include <string>
#include <string_view>

namespace {

namespace fs = std::filesystem;
using namespace patching::signing;
using patching::test::run_command;
using patching::test::TempDir;

// Key generation is slow; tests in one process share these.
const PrivateKey& key_2048() {
    static const PrivateKey key = PrivateKey::generate_rsa(2048);
    return key;
}

Sha256Digest sha256_of(std::string_view s) {
    Sha256 sha;
    sha.update(std::as_bytes(std::span(s.data(), s.size())));
    return sha.finish();
}

Certificate self_signed(const PrivateKey& key, const std::string& cn = "test signer") {
    CertificateRequest req;
    req.common_name = cn;
    req.organization = "Patch Tests";
    req.country = "CA";
    return make_self_signed_certificate(key, req);
}

std::string quote(const fs::path& p) { return "'" + p.string() + "'"; }

Signature read_signature(const fs::path& p) {
    std::string data = patching::test::read_file(p);
    return Signature(data.begin(), data.end());
}

void write_signature(const fs::path& p, const Signature& sig) {
    patching::test::write_file(p, std::string(sig.begin(), sig.end()));
}

fs::path fixture_keys() { return patching::test::fixtures_dir() / "keys"; }

}  // namespace

TEST_CASE("RSA key sizes outside 2048..4096 are refused", "[signing][keys]") {
    CHECK_THROWS_AS(PrivateKey::generate_rsa(1024), Error);
    CHECK_THROWS_AS(PrivateKey::generate_rsa(8192), Error);
    CHECK_THROWS_WITH(PrivateKey::generate_rsa(2047), Catch::Contains("2048 to 4096"));
}

TEST_CASE("PSS signatures are modulus-sized", "[signing][keys]") {
    for (int bits : {2048, 3072, 4096}) {
        PrivateKey key = bits == 2048 ? key_2048() : PrivateKey::generate_rsa(bits);
        CHECK(key.bits() == bits);
        Signature sig = key.sign_pss_sha256(sha256_of("payload"));
        CHECK(sig.size() == static_cast<std::size_t>(bits / 8));
    }
}

TEST_CASE("PSS sign/verify round trip", "[signing][keys]") {
    const PrivateKey& key = key_2048();
    Certificate cert = self_signed(key);
    Sha256Digest digest = sha256_of("metadata.tar + software.tar");
    Signature a = key.sign_pss_sha256(digest);
    Signature b = key.sign_pss_sha256(digest);
    CHECK(a != b);  // random salt
    CHECK(cert.verify_sha256(digest, a) == SignatureScheme::PSS);
    CHECK(cert.verify_sha256(digest, b) == SignatureScheme::PSS);

    SECTION("a tampered digest fails") {
        Sha256Digest other = digest;
        other[0] ^= 0x01;
        CHECK_FALSE(cert.verify_sha256(other, a).has_value());
    }
    SECTION("a tampered signature fails") {
        a[a.size() / 2] ^= 0x80;
        CHECK_FALSE(cert.verify_sha256(digest, a).has_value());
    }
    SECTION("another key's certificate fails") {
        Certificate stranger = Certificate::load_pem(fixture_keys() / "untrusted-cert.pem");
        CHECK_FALSE(stranger.verify_sha256(digest, a).has_value());
    }
}

TEST_CASE("Malformed signatures are bad signatures, not errors", "[signing][keys]") {
    Certificate cert = self_signed(key_2048());
    Sha256Digest digest = sha256_of("x");
    std::optional<SignatureScheme> result;
    for (std::size_t len : {std::size_t{0}, std::size_t{1}, std::size_t{10}, std::size_t{255},
                            std::size_t{256}, std::size_t{257}, std::size_t{512}}) {
        CAPTURE(len);
        Signature zeros(len, 0);
        REQUIRE_NOTHROW(result = cert.verify_sha256(digest, zeros));
        CHECK_FALSE(result.has_value());
        Signature ones(len, 0xff);
        REQUIRE_NOTHROW(result = cert.verify_sha256(digest, ones));
        CHECK_FALSE(result.has_value());
    }
}

TEST_CASE("Cross-check against the openssl command line", "[signing][keys][openssl]") {
    TempDir tmp;
    const PrivateKey& key = key_2048();
    Certificate cert = self_signed(key);
    key.save_pem(tmp / "key.pem");
    cert.save_pem(tmp / "cert.pem");
    const std::string message = "the exact bytes of metadata.tar and software.tar";
    patching::test::write_file(tmp / "data", message);
    Sha256Digest digest = sha256_of(message);
    std::string out;

    SECTION("openssl PKCS#1 v1.5 signature verifies as PKCS1_V15") {
        REQUIRE(run_command("openssl dgst -sha256 -sign " + quote(tmp / "key.pem") + " -out " +
                                quote(tmp / "sig") + " " + quote(tmp / "data"),
                            &out) == 0);
        CHECK(cert.verify_sha256(digest, read_signature(tmp / "sig")) ==
              SignatureScheme::PKCS1_V15);
    }
    SECTION("openssl PSS salt-32 signature verifies as PSS") {
        REQUIRE(run_command("openssl dgst -sha256 -sign " + quote(tmp / "key.pem") +
                                " -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -out " +
                                quote(tmp / "sig") + " " + quote(tmp / "data"),
                            &out) == 0);
        CHECK(cert.verify_sha256(digest, read_signature(tmp / "sig")) == SignatureScheme::PSS);
    }
    SECTION("openssl verifies our PSS signature") {
        write_signature(tmp / "sig", key.sign_pss_sha256(digest));
        REQUIRE(run_command("openssl x509 -in " + quote(tmp / "cert.pem") + " -pubkey -noout > " +
                                quote(tmp / "pub.pem"),
                            &out) == 0);
        int rc = run_command("openssl dgst -sha256 -verify " + quote(tmp / "pub.pem") +
                                 " -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32"
                                 " -signature " +
                                 quote(tmp / "sig") + " " + quote(tmp / "data"),
                             &out);
        INFO(out);
        CHECK(rc == 0);
        CHECK_THAT(out, Catch::Contains("Verified OK"));
    }
    SECTION("openssl reads our key and certificate") {
        CHECK(run_command("openssl pkey -in " + quote(tmp / "key.pem") + " -noout", &out) == 0);
        REQUIRE(run_command("openssl x509 -in " + quote(tmp / "cert.pem") +
                                " -noout -fingerprint -sha256",
                            &out) == 0);
        CHECK_THAT(out, Catch::Contains(cert.fingerprint_sha256()));
    }
}

TEST_CASE("Fixture key matches its certificate only", "[signing][keys]") {
    PrivateKey key = PrivateKey::load_pem(fixture_keys() / "fixture-signing-key.pem");
    Certificate mine = Certificate::load_pem(fixture_keys() / "fixture-signing-cert.pem");
    Certificate other = Certificate::load_pem(fixture_keys() / "untrusted-cert.pem");
    CHECK(key.bits() == 2048);
    CHECK(mine.matches(key));
    CHECK_FALSE(other.matches(key));
    CHECK(mine.is_self_signed());
    // `openssl req -x509` output: CA:TRUE without keyUsage, which still allows signing.
    CHECK(mine.is_ca());
    CHECK(mine.has_signing_usage());
    Sha256Digest digest = sha256_of("fixture");
    Signature sig = key.sign_pss_sha256(digest);
    CHECK(mine.verify_sha256(digest, sig) == SignatureScheme::PSS);
    CHECK_FALSE(other.verify_sha256(digest, sig).has_value());
}

TEST_CASE("Key loading errors name the file", "[signing][keys]") {
    TempDir tmp;
    SECTION("missing file") {
        fs::path missing = tmp / "no-such-key.pem";
        CHECK_THROWS_WITH(PrivateKey::load_pem(missing), Catch::Contains(missing.string()) &&
                                                             Catch::Contains("No such file"));
        CHECK_THROWS_WITH(Certificate::load_pem(missing), Catch::Contains(missing.string()));
    }
    SECTION("not a key") {
        fs::path cert = fixture_keys() / "fixture-signing-cert.pem";
        CHECK_THROWS_WITH(PrivateKey::load_pem(cert), Catch::Contains(cert.string()));
    }
    SECTION("not a certificate") {
        fs::path key = fixture_keys() / "fixture-signing-key.pem";
        CHECK_THROWS_WITH(Certificate::load_pem(key),
                          Catch::Contains(key.string()) && Catch::Contains("no PEM certificate"));
    }
    SECTION("garbage") {
        patching::test::write_file(tmp / "junk.pem", "-----BEGIN CERTIFICATE-----\nnot base64!\n"
                                                      "-----END CERTIFICATE-----\n");
        CHECK_THROWS_WITH(Certificate::load_pem_all(tmp / "junk.pem"),
                          Catch::Contains((tmp / "junk.pem").string()));
    }
    SECTION("an encrypted key is refused without prompting") {
        REQUIRE(run_command("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
                            "-aes256 -pass pass:secret -out " +
                            quote(tmp / "enc.pem")) == 0);
        CHECK_THROWS_WITH(PrivateKey::load_pem(tmp / "enc.pem"),
                          Catch::Contains((tmp / "enc.pem").string()));
    }
    SECTION("an EC key is refused; an EC certificate verifies nothing") {
        REQUIRE(run_command("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " +
                            quote(tmp / "ec.pem")) == 0);
        REQUIRE(run_command("openssl req -x509 -new -key " + quote(tmp / "ec.pem") +
                            " -subj /CN=ec -days 1 -out " + quote(tmp / "ec.crt")) == 0);
        CHECK_THROWS_WITH(PrivateKey::load_pem(tmp / "ec.pem"), Catch::Contains("RSA"));
        Certificate ec = Certificate::load_pem(tmp / "ec.crt");
        CHECK_FALSE(ec.verify_sha256(sha256_of("x"), Signature(64, 1)).has_value());
    }
}

TEST_CASE("Keys and certificates round-trip through PEM files", "[signing][keys]") {
    TempDir tmp;
    const PrivateKey& key = key_2048();
    key.save_pem(tmp / "key.pem");
    struct stat st {};
    REQUIRE(::stat((tmp / "key.pem").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    PrivateKey loaded = PrivateKey::load_pem(tmp / "key.pem");
    CHECK(self_signed(key).matches(loaded));

    Certificate cert = self_signed(key, "round trip");
    cert.save_pem(tmp / "cert.pem");
    Certificate back = Certificate::load_pem(tmp / "cert.pem");
    CHECK(back.fingerprint_sha256() == cert.fingerprint_sha256());
    CHECK(back.subject() == "CN=round trip,O=Patch Tests,C=CA");
    CHECK(back.issuer() == back.subject());
    CHECK(back.serial_hex() == cert.serial_hex());

    // Several certificates in one file.
    Certificate second = self_signed(key, "second");
    second.save_pem(tmp / "second.pem");
    patching::test::write_file(tmp / "both.pem",
                               patching::test::read_file(tmp / "cert.pem") +
                                   patching::test::read_file(tmp / "second.pem"));
    std::vector<Certificate> both = Certificate::load_pem_all(tmp / "both.pem");
    REQUIRE(both.size() == 2);
    CHECK(both[0].subject() == "CN=round trip,O=Patch Tests,C=CA");
    CHECK(both[1].subject() == "CN=second,O=Patch Tests,C=CA");
}

TEST_CASE("Certificate creation", "[signing][keys]") {
    using namespace std::chrono;
    const PrivateKey& ca_key = key_2048();
    PrivateKey leaf_key = PrivateKey::load_pem(fixture_keys() / "fixture-signing-key.pem");

    CertificateRequest ca_req;
    ca_req.common_name = "Patch CA";
    ca_req.is_ca = true;
    ca_req.valid_days = 30;
    auto start = floor<seconds>(system_clock::now()) - hours(1);
    ca_req.not_before = start;
    Certificate ca = make_self_signed_certificate(ca_key, ca_req);
    CHECK(ca.is_ca());
    CHECK_FALSE(ca.has_signing_usage());
    CHECK(ca.is_self_signed());
    CHECK(ca.not_before() == start);
    CHECK(ca.not_after() - ca.not_before() == hours(24 * 30));
    CHECK(ca.subject() == "CN=Patch CA");
    CHECK(ca.serial_hex().size() >= 8);

    CertificateRequest leaf_req;
    leaf_req.common_name = "leaf";
    Certificate leaf = make_issued_certificate(leaf_key, leaf_req, ca_key, ca);
    CHECK_FALSE(leaf.is_ca());
    CHECK(leaf.has_signing_usage());
    CHECK_FALSE(leaf.is_self_signed());
    CHECK(leaf.issuer() == "CN=Patch CA");
    CHECK(leaf.matches(leaf_key));
    CHECK(leaf.serial_hex() != ca.serial_hex());

    Certificate signer = self_signed(leaf_key);
    CHECK_FALSE(signer.is_ca());
    CHECK(signer.is_self_signed());  // even without keyCertSign

    CHECK_THROWS_WITH(make_issued_certificate(ca_key, leaf_req, leaf_key, signer),
                      Catch::Contains("not a CA"));
    CHECK_THROWS_WITH(make_issued_certificate(leaf_key, leaf_req, leaf_key, ca),
                      Catch::Contains("does not match"));
    CertificateRequest bad;
    CHECK_THROWS_AS(make_self_signed_certificate(ca_key, bad), Error);  // no CN
    bad.common_name = "x";
    bad.country = "Canada";
    CHECK_THROWS_WITH(make_self_signed_certificate(ca_key, bad), Catch::Contains("two-letter"));
}
