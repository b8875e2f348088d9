// SPDX-License-Identifier: Apache-2.0
// The remote listener: TLS (OpenSSL) with the same tokens and roles as the loopback API.
#include <catch2/catch.hpp>

#include "support/controller_harness.hpp"
#include "support/test_support.hpp"

#include <regex>
#include <string>

using patching::test::ControllerHarness;
using patching::test::run_command;

namespace {

// The https port the daemon printed in "listening on http://... https://HOST:PORT".
std::string https_port(const std::string& log) {
    std::smatch m;
    static const std::regex pattern(R"(https://127\.0\.0\.1:([0-9]+))");
    return std::regex_search(log, m, pattern) ? m[1].str() : std::string();
}

}  // namespace

TEST_CASE("the remote API is served over TLS only, with tokens", "[controller][e2e][tls]") {
    patching::test::TempDir pki;
    std::string key = (pki / "server.key").string();
    std::string cert = (pki / "server.pem").string();
    std::string output;
    REQUIRE(run_command("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
                        "-addext subjectAltName=IP:127.0.0.1 -keyout " + key + " -out " + cert,
                        &output) == 0);

    ControllerHarness::Options options;
    options.extra_config = {"remote_address = 127.0.0.1", "remote_port = 0", "tls_certificate = " + cert,
                            "tls_private_key = " + key};
    ControllerHarness controller(options);
    std::string port = https_port(controller.log());
    INFO(controller.log());
    REQUIRE_FALSE(port.empty());
    const std::string url = "https://127.0.0.1:" + port;

    // Verified TLS with the server's certificate as CA; a token is still required.
    REQUIRE(run_command("curl -sS --cacert " + cert + " -H 'Authorization: Bearer " + controller.admin_token() +
                            "' -w ' %{http_code}' " + url + "/v1/query",
                        &output) == 0);
    CHECK(output == "{\"pd\":{}} 200");
    REQUIRE(run_command("curl -sS --cacert " + cert + " -w ' %{http_code}' " + url + "/v1/query", &output) == 0);
    CHECK(output.find("authentication required") != std::string::npos);
    CHECK(output.substr(output.size() - 3) == "401");
    // The remote listener never honours the unauthenticated-local opt-in, and plain HTTP to it fails.
    CHECK(run_command("curl -sS --max-time 5 http://127.0.0.1:" + port + "/v1/query", &output) != 0);
    // A client that does not trust the certificate refuses the connection.
    CHECK(run_command("curl -sS --max-time 5 " + url + "/v1/query", &output) != 0);

    // sw-patch over https with its ca_file setting.
    std::string config = (pki / "sw-patch.conf").string();
    patching::test::write_file(config, "controller = " + url + "\nca_file = " + cert + "\n");
    REQUIRE(run_command("SW_PATCH_CONFIG=" + config + " SW_PATCH_TOKEN=" + controller.admin_token() + " " +
                            (patching::test::binary_dir() / "sw_patch" / "sw-patch").string() + " query",
                        &output) == 0);
    CHECK(output.find("Patch ID") != std::string::npos);
}
