// SPDX-License-Identifier: Apache-2.0
#include <signing/errors.hpp>
#include <signing/trust_store.hpp>

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <ctime>
#include <string>
#include <string_view>

namespace {

namespace fs = std::filesystem;
using namespace patching::signing;
using patching::test::run_command;
using patching::test::TempDir;
using std::chrono::hours;
using std::chrono::system_clock;

// Key generation is slow, so a test process makes each key at most once.
const PrivateKey& key(int n) {
    static std::vector<std::unique_ptr<PrivateKey>> keys;
    while (keys.size() <= static_cast<std::size_t>(n)) {
        keys.push_back(std::make_unique<PrivateKey>(PrivateKey::generate_rsa(2048)));
    }
    return *keys[static_cast<std::size_t>(n)];
}
enum KeyId { FORMAL_KEY, DEV_KEY, CA_KEY, OTHER_KEY };

Sha256Digest sha256_of(std::string_view s) {
    Sha256 sha;
    sha.update(std::as_bytes(std::span(s.data(), s.size())));
    return sha.finish();
}

CertificateRequest request(const std::string& cn, bool ca = false) {
    CertificateRequest req;
    req.common_name = cn;
    req.organization = "Patch Tests";
    req.is_ca = ca;
    return req;
}

void write_marker(const fs::path& path, const Signature& sig) {
    patching::test::write_file(path, std::string(sig.begin(), sig.end()));
}

std::string date_of(system_clock::time_point tp) {
    std::time_t t = system_clock::to_time_t(tp);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

const Sha256Digest DIGEST = sha256_of("metadata.tar software.tar");

}  // namespace

TEST_CASE("Self-signed formal signer", "[signing][trust]") {
    TempDir dir;
    Certificate cert = make_self_signed_certificate(key(FORMAL_KEY), request("formal"));
    cert.save_pem(dir / "formal.pem");
    TrustStore store = TrustStore::load(dir.path());
    REQUIRE(store.formal_signers().size() == 1);
    CHECK(store.dev_signers().empty());
    CHECK(store.ca_certificates().empty());

    VerifyResult r = store.verify(DIGEST, key(FORMAL_KEY).sign_pss_sha256(DIGEST));
    CHECK(r.ok());
    CHECK(r.detail.empty());
    CHECK(r.cert_class == CertClass::FORMAL);
    CHECK(r.scheme == SignatureScheme::PSS);
    REQUIRE(r.signer);
    CHECK(r.signer->fingerprint_sha256() == cert.fingerprint_sha256());

    VerifyResult bad = store.verify(DIGEST, key(OTHER_KEY).sign_pss_sha256(DIGEST));
    CHECK(bad.status == VerifyStatus::BAD_SIGNATURE);
    CHECK(bad.detail == "no trusted certificate (1 formal, 0 dev) verifies the signature");
    CHECK_FALSE(bad.signer);

    Signature zero(256, 0);
    CHECK(store.verify(DIGEST, zero).status == VerifyStatus::BAD_SIGNATURE);
    CHECK(store.verify(DIGEST, Signature{}).status == VerifyStatus::BAD_SIGNATURE);
}

TEST_CASE("The fixture certificate (CA:TRUE, no keyUsage) is a signer", "[signing][trust]") {
    fs::path keys = patching::test::fixtures_dir() / "keys";
    TrustStore store = TrustStore::from_certificates(
        Certificate::load_pem_all(keys / "fixture-signing-cert.pem"));
    CHECK(store.formal_signers().size() == 1);
    CHECK(store.ca_certificates().size() == 1);
    PrivateKey fixture = PrivateKey::load_pem(keys / "fixture-signing-key.pem");
    CHECK(store.verify(DIGEST, fixture.sign_pss_sha256(DIGEST)).ok());
    PrivateKey untrusted = PrivateKey::load_pem(keys / "untrusted-key.pem");
    CHECK(store.verify(DIGEST, untrusted.sign_pss_sha256(DIGEST)).status ==
          VerifyStatus::BAD_SIGNATURE);
}

TEST_CASE("CA-issued signers", "[signing][trust]") {
    TempDir dir;
    Certificate ca = make_self_signed_certificate(key(CA_KEY), request("Patch CA", true));
    Certificate signer =
        make_issued_certificate(key(FORMAL_KEY), request("release signer"), key(CA_KEY), ca);

    SECTION("in separate files") {
        ca.save_pem(dir / "a-ca.pem");
        signer.save_pem(dir / "b-signer.pem");
    }
    SECTION("in one file, signer first") {
        signer.save_pem(dir / "s.pem");
        ca.save_pem(dir / "c.pem");
        patching::test::write_file(dir / "bundle.pem",
                                   patching::test::read_file(dir / "s.pem") +
                                       patching::test::read_file(dir / "c.pem"));
        fs::remove(dir / "s.pem");
        fs::remove(dir / "c.pem");
    }
    TrustStore store = TrustStore::load(dir.path());
    REQUIRE(store.formal_signers().size() == 1);
    CHECK(store.formal_signers()[0].subject() == signer.subject());
    REQUIRE(store.ca_certificates().size() == 1);
    CHECK(store.ca_certificates()[0].subject() == ca.subject());
    CHECK(store.ignored_certificates().empty());

    VerifyResult ok = store.verify(DIGEST, key(FORMAL_KEY).sign_pss_sha256(DIGEST));
    CHECK(ok.ok());

    // The CA certificate itself is not a signer.
    VerifyResult by_ca = store.verify(DIGEST, key(CA_KEY).sign_pss_sha256(DIGEST));
    CHECK(by_ca.status == VerifyStatus::BAD_SIGNATURE);
    CHECK_THAT(by_ca.detail, Catch::Contains("CA certificate CN=Patch CA"));
}

TEST_CASE("A certificate issued by a CA outside the store is ignored", "[signing][trust]") {
    TempDir dir;
    Certificate ca = make_self_signed_certificate(key(CA_KEY), request("Foreign CA", true));
    Certificate signer =
        make_issued_certificate(key(FORMAL_KEY), request("orphan"), key(CA_KEY), ca);
    signer.save_pem(dir / "orphan.pem");

    TrustStore store = TrustStore::load(dir.path());
    CHECK(store.formal_signers().empty());
    REQUIRE(store.ignored_certificates().size() == 1);
    const std::string& why = store.ignored_certificates()[0].reason;
    CHECK_THAT(why, Catch::Contains((dir / "orphan.pem").string()) &&
                        Catch::Contains("does not chain"));

    VerifyResult r = store.verify(DIGEST, key(FORMAL_KEY).sign_pss_sha256(DIGEST));
    CHECK(r.status == VerifyStatus::NO_TRUSTED_CERTS);
    CHECK_THAT(r.detail, Catch::Contains("untrusted certificate") && Catch::Contains("orphan"));
}

TEST_CASE("A formal signer cannot chain to a dev CA", "[signing][trust]") {
    TempDir dir;
    fs::create_directory(dir / "dev");
    Certificate ca = make_self_signed_certificate(key(CA_KEY), request("Dev CA", true));
    ca.save_pem(dir / "dev" / "ca.pem");
    make_issued_certificate(key(FORMAL_KEY), request("formal"), key(CA_KEY), ca)
        .save_pem(dir / "formal.pem");
    make_issued_certificate(key(DEV_KEY), request("dev"), key(CA_KEY), ca)
        .save_pem(dir / "dev" / "dev.pem");
    TrustStore store = TrustStore::load(dir.path());
    CHECK(store.formal_signers().empty());
    CHECK(store.dev_signers().size() == 1);
    CHECK(store.ignored_certificates().size() == 1);
}

TEST_CASE("Validity dates", "[signing][trust]") {
    TempDir dir;
    auto now = system_clock::now();

    SECTION("expired") {
        CertificateRequest req = request("old signer");
        req.not_before = now - hours(24 * 365 * 3);
        req.valid_days = 365;
        Certificate cert = make_self_signed_certificate(key(FORMAL_KEY), req);
        cert.save_pem(dir / "old.pem");
        Signature sig = key(FORMAL_KEY).sign_pss_sha256(DIGEST);

        VerifyResult r = TrustStore::load(dir.path()).verify(DIGEST, sig);
        CHECK(r.status == VerifyStatus::CERT_EXPIRED);
        CHECK_THAT(r.detail, Catch::Contains("CN=old signer") &&
                                 Catch::Contains(cert.fingerprint_sha256()) &&
                                 Catch::Contains("expired on " + date_of(cert.not_after()) +
                                                 " UTC"));
        REQUIRE(r.signer);

        TrustOptions lenient;
        lenient.allow_expired = true;
        CHECK(TrustStore::load(dir.path(), lenient).verify(DIGEST, sig).ok());

        // A valid certificate for the same key wins over the remembered expired one.
        make_self_signed_certificate(key(FORMAL_KEY), request("new signer"))
            .save_pem(dir / "z-new.pem");
        VerifyResult both = TrustStore::load(dir.path()).verify(DIGEST, sig);
        CHECK(both.ok());
        CHECK(both.signer->subject() == "CN=new signer,O=Patch Tests");
    }
    SECTION("not yet valid") {
        CertificateRequest req = request("future signer");
        req.not_before = now + hours(24 * 10);
        make_self_signed_certificate(key(FORMAL_KEY), req).save_pem(dir / "future.pem");
        VerifyResult r =
            TrustStore::load(dir.path()).verify(DIGEST, key(FORMAL_KEY).sign_pss_sha256(DIGEST));
        CHECK(r.status == VerifyStatus::CERT_NOT_YET_VALID);
        CHECK_THAT(r.detail, Catch::Contains("is not valid until"));
    }
    SECTION("injected clock") {
        make_self_signed_certificate(key(FORMAL_KEY), request("signer")).save_pem(dir / "s.pem");
        TrustOptions options;
        options.now = now + hours(24 * 3651);
        VerifyResult r = TrustStore::load(dir.path(), options)
                             .verify(DIGEST, key(FORMAL_KEY).sign_pss_sha256(DIGEST));
        CHECK(r.status == VerifyStatus::CERT_EXPIRED);
    }
}

TEST_CASE("Dev certificates and the enable marker", "[signing][trust]") {
    TempDir dir;
    fs::create_directory(dir / "dev");
    make_self_signed_certificate(key(FORMAL_KEY), request("formal")).save_pem(dir / "formal.pem");
    make_self_signed_certificate(key(DEV_KEY), request("dev")).save_pem(dir / "dev" / "dev.pem");
    Signature dev_sig = key(DEV_KEY).sign_pss_sha256(DIGEST);
    Signature formal_sig = key(FORMAL_KEY).sign_pss_sha256(DIGEST);
    fs::path marker = dir / "dev_certificate_enable.bin";

    SECTION("no marker") {
        TrustStore store = TrustStore::load(dir.path());
        CHECK(store.dev_signers().size() == 1);
        CHECK_FALSE(store.dev_enabled());
        CHECK(store.dev_status() == "dev certificates disabled: no enable marker at " +
                                        marker.string());
        VerifyResult r = store.verify(DIGEST, dev_sig);
        CHECK(r.status == VerifyStatus::DEV_NOT_ENABLED);
        CHECK(r.cert_class == CertClass::DEV);
        CHECK_THAT(r.detail, Catch::StartsWith("signed by development certificate CN=dev") &&
                                 Catch::Contains(marker.string()));
        CHECK(store.verify(DIGEST, formal_sig).ok());
    }
    SECTION("marker signed by the formal key") {
        Signature m = make_dev_marker(key(FORMAL_KEY));
        CHECK(m.size() == 256);
        write_marker(marker, m);
        TrustStore store = TrustStore::load(dir.path());
        CHECK(store.dev_enabled());
        CHECK(store.dev_status() == "dev certificates enabled by " + marker.string());
        VerifyResult r = store.verify(DIGEST, dev_sig);
        CHECK(r.ok());
        CHECK(r.cert_class == CertClass::DEV);
        CHECK(store.verify(DIGEST, formal_sig).cert_class == CertClass::FORMAL);

        SECTION("only_class filters") {
            TrustOptions only_formal;
            only_formal.only_class = CertClass::FORMAL;
            VerifyResult f = TrustStore::load(dir.path(), only_formal).verify(DIGEST, dev_sig);
            CHECK(f.status == VerifyStatus::BAD_SIGNATURE);
            CHECK(f.detail == "no trusted certificate (1 formal, 0 dev) verifies the signature");

            TrustOptions only_dev;
            only_dev.only_class = CertClass::DEV;
            TrustStore dev_store = TrustStore::load(dir.path(), only_dev);
            CHECK(dev_store.verify(DIGEST, dev_sig).ok());
            CHECK(dev_store.verify(DIGEST, formal_sig).status == VerifyStatus::BAD_SIGNATURE);
        }
    }
    SECTION("marker signed with PKCS#1 v1.5 by the openssl tool") {
        key(FORMAL_KEY).save_pem(dir / "formal-key.tmp");
        patching::test::write_file(dir / "msg", DEV_MARKER_MESSAGE);
        REQUIRE(run_command("openssl dgst -sha256 -sign '" + (dir / "formal-key.tmp").string() +
                            "' -out '" + marker.string() + "' '" + (dir / "msg").string() + "'") ==
                0);
        CHECK(TrustStore::load(dir.path()).dev_enabled());
    }
    SECTION("marker signed by the dev key does not enable") {
        write_marker(marker, make_dev_marker(key(DEV_KEY)));
        TrustStore store = TrustStore::load(dir.path());
        CHECK_FALSE(store.dev_enabled());
        CHECK(store.dev_status() ==
              "enable marker " + marker.string() + " is not signed by a formal certificate");
        CHECK(store.verify(DIGEST, dev_sig).status == VerifyStatus::DEV_NOT_ENABLED);
    }
    SECTION("marker at an explicit path") {
        fs::path elsewhere = dir / "elsewhere.bin";
        write_marker(elsewhere, make_dev_marker(key(FORMAL_KEY)));
        TrustOptions options;
        options.dev_marker = elsewhere;
        CHECK(TrustStore::load(dir.path(), options).dev_enabled());
        CHECK_FALSE(TrustStore::load(dir.path()).dev_enabled());
    }
}

TEST_CASE("from_certificates", "[signing][trust]") {
    TempDir dir;
    Certificate formal = make_self_signed_certificate(key(FORMAL_KEY), request("formal"));
    Certificate dev = make_self_signed_certificate(key(DEV_KEY), request("dev"));
    Signature dev_sig = key(DEV_KEY).sign_pss_sha256(DIGEST);

    TrustStore plain = TrustStore::from_certificates({formal}, {dev});
    CHECK_FALSE(plain.dev_enabled());
    CHECK(plain.verify(DIGEST, dev_sig).status == VerifyStatus::DEV_NOT_ENABLED);

    write_marker(dir / "m.bin", make_dev_marker(key(FORMAL_KEY)));
    TrustOptions options;
    options.dev_marker = dir / "m.bin";
    TrustStore enabled = TrustStore::from_certificates({formal}, {dev}, options);
    CHECK(enabled.dev_enabled());
    CHECK(enabled.verify(DIGEST, dev_sig).ok());

    TrustStore empty = TrustStore::from_certificates({});
    VerifyResult r = empty.verify(DIGEST, dev_sig);
    CHECK(r.status == VerifyStatus::NO_TRUSTED_CERTS);
}

TEST_CASE("Trust directory errors name the path", "[signing][trust]") {
    TempDir dir;
    fs::path missing = dir / "no-such-dir";
    CHECK_THROWS_AS(TrustStore::load(missing), Error);
    CHECK_THROWS_WITH(TrustStore::load(missing),
                      Catch::Contains(missing.string()) && Catch::Contains("does not exist"));

    patching::test::write_file(dir / "file", "x");
    CHECK_THROWS_WITH(TrustStore::load(dir / "file"), Catch::Contains("not a directory"));

    patching::test::write_file(dir / "empty.pem", "");
    CHECK_THROWS_WITH(TrustStore::load(dir.path()),
                      Catch::Contains((dir / "empty.pem").string()));

    // Files that are not *.pem are not read.
    fs::remove(dir / "empty.pem");
    patching::test::write_file(dir / "README", "not a certificate");
    CHECK(TrustStore::load(dir.path()).formal_signers().empty());
    CHECK(TrustStore::load(dir.path()).verify(DIGEST, Signature(256, 1)).status ==
          VerifyStatus::NO_TRUSTED_CERTS);
}

TEST_CASE("to_string(CertClass)", "[signing][trust]") {
    CHECK(std::string(to_string(CertClass::FORMAL)) == "formal");
    CHECK(std::string(to_string(CertClass::DEV)) == "dev");
}

TEST_CASE("patch-keys tool", "[signing][tool]") {
    TempDir dir;
    const std::string tool = (patching::test::binary_dir() / "signing" / "patch-keys").string();
    REQUIRE(fs::exists(tool));
    auto run = [&](const std::string& args, std::string* out) {
        int rc = run_command("'" + tool + "' " + args, out);
        INFO("patch-keys " << args << "\n" << *out);
        return rc;
    };
    std::string out;
    const std::string d = dir.path().string();
    fs::create_directories(dir / "trust" / "dev");

    REQUIRE(run("genkey --bits 2048 -o " + d + "/ca.key", &out) == 0);
    CHECK_THAT(out, Catch::Contains("2048-bit"));
    REQUIRE(run("genkey --bits 2048 -o " + d + "/signer.key", &out) == 0);
    REQUIRE(run("genkey --bits 2048 -o " + d + "/dev.key", &out) == 0);

    CHECK(run("genkey --bits 2048 -o " + d + "/ca.key", &out) == 1);
    CHECK_THAT(out, Catch::Contains("patch-keys: error:") && Catch::Contains("--force"));
    CHECK(run("genkey --bits 2048 --force -o " + d + "/ca.key", &out) == 0);
    CHECK(run("genkey --bits 1024 -o " + d + "/small.key", &out) == 2);
    CHECK(run("frobnicate", &out) == 2);
    CHECK(run("--help", &out) == 0);

    REQUIRE(run("gencert --key " + d + "/ca.key --cn 'Patch CA' --org 'Patch Tests' --country CA"
                " --ca -o " + d + "/trust/ca.pem", &out) == 0);
    REQUIRE(run("gencert --key " + d + "/signer.key --cn 'Release signer' --days 30"
                " --issuer-key " + d + "/ca.key --issuer-cert " + d + "/trust/ca.pem -o " + d +
                "/trust/signer.pem", &out) == 0);
    REQUIRE(run("gencert --key " + d + "/dev.key --cn 'Dev signer' -o " + d +
                "/trust/dev/dev.pem", &out) == 0);
    CHECK(run("gencert --key " + d + "/dev.key --cn x --issuer-key " + d + "/ca.key -o " + d +
              "/x.pem", &out) == 2);  // --issuer-key needs --issuer-cert

    REQUIRE(run("show-cert " + d + "/trust/signer.pem", &out) == 0);
    CHECK_THAT(out, Catch::Contains("subject:     CN=Release signer") &&
                        Catch::Contains("issuer:      CN=Patch CA,O=Patch Tests,C=CA") &&
                        Catch::Contains("type:        signer") && Catch::Contains("SHA-256:"));
    REQUIRE(run("show-cert " + d + "/trust/ca.pem", &out) == 0);
    CHECK_THAT(out, Catch::Contains("type:        CA\n"));
    CHECK(run("show-cert " + d + "/missing.pem", &out) == 1);
    CHECK_THAT(out, Catch::Contains(d + "/missing.pem"));

    REQUIRE(run("check-trust " + d + "/trust", &out) == 0);
    CHECK_THAT(out, Catch::Contains("formal signers: 1") && Catch::Contains("dev signers: 1") &&
                        Catch::Contains("CA certificates: 1") &&
                        Catch::Contains("dev certificates disabled"));

    REQUIRE(run("dev-marker --formal-key " + d + "/signer.key -o " + d +
                "/trust/dev_certificate_enable.bin", &out) == 0);
    REQUIRE(run("check-trust " + d + "/trust", &out) == 0);
    CHECK_THAT(out, Catch::Contains("dev certificates enabled by"));
    CHECK(run("check-trust " + d + "/nowhere", &out) == 1);

    // The library accepts what the tool made.
    TrustStore store = TrustStore::load(dir / "trust");
    CHECK(store.dev_enabled());
    PrivateKey signer = PrivateKey::load_pem(dir / "signer.key");
    VerifyResult r = store.verify(DIGEST, signer.sign_pss_sha256(DIGEST));
    CHECK(r.ok());
    CHECK(r.cert_class == CertClass::FORMAL);
    PrivateKey dev = PrivateKey::load_pem(dir / "dev.key");
    CHECK(store.verify(DIGEST, dev.sign_pss_sha256(DIGEST)).cert_class == CertClass::DEV);
}
