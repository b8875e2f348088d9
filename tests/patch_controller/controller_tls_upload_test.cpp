// SPDX-License-Identifier: Apache-2.0
// Streamed uploads on the remote (TLS) listener: the handler reads the body on a worker thread,
// past the TLS records that arrived together with the request head.
#include <catch2/catch.hpp>

#include "support/controller_harness.hpp"
#include "support/test_support.hpp"

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

namespace fs = std::filesystem;
using patching::test::ControllerHarness;
using patching::test::fixture_rpm;
using patching::test::run_command;

namespace {

std::string https_port(const std::string& log) {
    std::smatch m;
    static const std::regex pattern(R"(https://127\.0\.0\.1:([0-9]+))");
    return std::regex_search(log, m, pattern) ? m[1].str() : std::string();
}

void append_zeros(const fs::path& file, std::size_t count) {
    std::ofstream out(file, std::ios::binary | std::ios::app);
    const std::string zeros(count, '\0');
    out.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
    REQUIRE(out.good());
}

}  // namespace

// Regression: records already read from the socket sat in asio's TLS engine, where neither
// SSL_pending() nor poll() saw them, so a body whose last bytes had all arrived waited for the
// read timeout (60 s) twice, then the connection was closed without a usable answer.
TEST_CASE("multi-MiB uploads over TLS are answered as soon as the body has arrived", "[controller][e2e][tls]") {
    patching::test::TempDir pki;
    const std::string key = (pki / "server.key").string();
    const std::string cert = (pki / "server.pem").string();
    std::string output;
    REQUIRE(run_command("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
                        "-addext subjectAltName=IP:127.0.0.1 -keyout " + key + " -out " + cert,
                        &output) == 0);
    ControllerHarness::Options options;
    options.extra_config = {"remote_address = 127.0.0.1", "remote_port = 0", "tls_certificate = " + cert,
                            "tls_private_key = " + key};
    ControllerHarness controller(options);
    const std::string port = https_port(controller.log());
    INFO(controller.log());
    REQUIRE_FALSE(port.empty());

    // --max-time well below the read timeout: a stalled upload fails the command. Our clients'
    // header for real statuses (422). "Expect:" so
    // curl sends the body at once instead of waiting a second for a 100 Continue.
    auto upload = [&](const fs::path& body, const std::string& filename) {
        std::string out;
        int rc = run_command("curl -sS --max-time 20 --cacert " + cert + " -H 'Expect:' -H 'X-Patching-Client: test' -H 'Authorization: Bearer " +
                                 controller.admin_token() + "' --data-binary @" + body.string() +
                                 " -w ' %{http_code}' 'https://127.0.0.1:" + port + "/v1/upload?filename=" + filename +
                                 "'",
                             &out);
        INFO(out);
        REQUIRE(rc == 0);
        return out;
    };

    SECTION("a valid patch with 4 MiB of padding is imported") {
        const std::string id = "TLS_22.12_PATCH_0001";
        fs::path patch = controller.build({.id = id, .rpms = {{"worker", fixture_rpm("fixture-delta-1.0-1")}}});
        append_zeros(patch, 4U << 20U);
        std::string out = upload(patch, id + ".patch");
        CHECK(out.find(id + " is now available") != std::string::npos);
        CHECK(out.substr(out.size() - 3) == "200");
        CHECK(controller.query().contains(id));
    }
    SECTION("a 4 MiB body that is no patch is drained and refused") {
        fs::path junk = pki / "junk.patch";
        append_zeros(junk, 4U << 20U);
        std::string out = upload(junk, "TLS_22.12_PATCH_0002.patch");
        CHECK(out.find("Patch validation failed") != std::string::npos);
        CHECK(out.substr(out.size() - 3) == "422");
    }
}
