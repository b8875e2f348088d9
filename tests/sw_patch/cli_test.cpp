// SPDX-License-Identifier: Apache-2.0
// The whole CLI (argument parsing, requests, output, exit codes) against a fake controller.
#include "cli.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <sstream>

#include "output.hpp"
#include "support/test_support.hpp"
#include "sw_patch/fake_controller.hpp"

using namespace patching::client;
using patching::test::CannedResponse;
using patching::test::FakeController;
using patching::test::RecordedRequest;
using patching::test::route_table;
using patching::test::TempDir;
using patching::test::write_file;

namespace {

const std::string NO_MESSAGES = R"("info": "", "warning": "", "error": "")";

std::string op(const std::string& info, const std::string& error = "") {
    nlohmann::json body = {{"info", info}, {"warning", ""}, {"error", error}};
    return body.dump();
}

// Runs sw-patch with a fresh Context pointed at `server` (through SW_PATCH_CONTROLLER); the
// system paths (config, token, build.info) live in a temporary directory.
class Cli {
public:
    explicit Cli(const FakeController& server) { vars["SW_PATCH_CONTROLLER"] = server.url(); }

    int run(const std::vector<std::string>& args, const std::string& input = "") {
        out.str("");
        err.str("");
        std::istringstream in(input);
        Environment env;
        env.getenv = [this](const std::string& name) -> std::optional<std::string> {
            auto it = vars.find(name);
            return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
        };
        env.default_config = dir / "sw-patch.conf";
        env.default_token_file = dir / "admin.token";
        env.build_info = dir / "build.info";
        Context ctx(env, out, err, in);
        ctx.sleep = [this](double seconds) { sleeps.push_back(seconds); };
        return run_cli(args, ctx);
    }

    TempDir dir;
    std::map<std::string, std::string> vars;
    std::ostringstream out;
    std::ostringstream err;
    std::vector<double> sleeps;
};

}  // namespace

TEST_CASE("usage: help, missing or unknown subcommand, bad arguments", "[sw_patch][cli]") {
    FakeController server;
    Cli cli(server);
    CHECK(cli.run({"--help"}) == 0);
    CHECK_THAT(cli.out.str(), Catch::Contains("query-hosts"));
    CHECK_THAT(cli.out.str(), !Catch::Contains("init-release"));  // hidden, as in the reference
    CHECK(cli.run({}) == 2);
    CHECK(cli.run({"frobnicate"}) == 2);
    CHECK(cli.run({"query", "bogus"}) == 2);
    CHECK(cli.run({"show"}) == 2);
    CHECK(cli.run({"apply"}) == 2);
    CHECK_THAT(cli.err.str(), Catch::Contains("give the patch IDs to apply, or --all"));
    CHECK(cli.run({"apply", "--all", "P1"}) == 2);
    CHECK(cli.run({"apply", "--json", "P1"}) == 2);  // --json belongs to the query commands
    CHECK(server.requests().empty());
}

TEST_CASE("query: request, table and exit code", "[sw_patch][cli]") {
    FakeController server(route_table({
        {"GET /v1/query",
         {200, R"({"pd": {"P1": {"sw_version": "22.12", "repostate": "Applied",
            "patchstate": "Applied", "reboot_required": "N"}}, )" +
                   NO_MESSAGES + "}"}},
    }));
    Cli cli(server);
    CHECK(cli.run({"query", "applied", "--release", "22.12"}) == 0);
    CHECK(server.targets().back() == "GET /v1/query?show=applied&release=22.12");
    CHECK(
        cli.out.str() ==
        "Patch ID  RR  Release  Patch State\n"
        "========  ==  =======  ===========\n"
        "P1        N    22.12     Applied\n"
        "\n");
    CHECK(cli.run({"query"}) == 0);
    CHECK(server.targets().back() == "GET /v1/query?show=all");

    CHECK(cli.run({"query", "--json"}) == 0);
    CHECK(nlohmann::json::parse(cli.out.str())["pd"]["P1"]["sw_version"] == "22.12");
    CHECK(cli.run({"query", "--format", "json"}) == 0);
    CHECK(nlohmann::json::parse(cli.out.str()).contains("pd"));
    // --debug may come after the subcommand; it prints the `pd` part only.
    CHECK(cli.run({"query", "--debug"}) == 0);
    CHECK(nlohmann::json::parse(cli.out.str()).contains("P1"));
}

TEST_CASE("query: controller errors", "[sw_patch][cli]") {
    FakeController server(route_table({
        {"GET /v1/query", {200, R"({"error": "Error: bad release\n"})"}},
    }));
    Cli cli(server);
    CHECK(cli.run({"query"}) == 1);
    CHECK(cli.out.str() == "Error:\nError: bad release\n\n");
    server.set_handler(route_table({{"GET /v1/query", {500, "{}"}}}));
    CHECK(cli.run({"query"}) == 1);
    CHECK(cli.out.str() == std::string(INTERNAL_ERROR_MESSAGE) + "\n");
}

TEST_CASE("apply, remove, delete and the other single-request commands", "[sw_patch][cli]") {
    FakeController server([](const RecordedRequest& req) {
        if (req.target.rfind("/v1/apply/BAD", 0) == 0) {
            return CannedResponse{404, op("", "Patch BAD does not exist\n")};
        }
        return CannedResponse{200, op("done\n")};
    });
    Cli cli(server);
    struct Case {
        std::vector<std::string> args;
        std::string target;
    };
    for (const Case& c : std::vector<Case>{
             {{"apply", "P1", "P2"}, "POST /v1/apply/P1/P2"},
             {{"apply", "--all", "--skip-semantic"}, "POST /v1/apply/--all?skip-semantic=yes"},
             {{"remove", "P1", "--skip-semantic", "--skipappcheck", "--removeunremovable"},
              "POST /v1/remove/P1?removeunremovable=yes&skipappcheck=yes&skip-semantic=yes"},
             {{"remove", "P1"}, "POST /v1/remove/P1"},
             {{"delete", "P1", "P2"}, "POST /v1/delete/P1/P2"},
             {{"drop-host", "compute-0"}, "POST /v1/drop_host/compute-0"},
             {{"host-install-async", "--force", "compute-0"},
              "POST /v1/host_install_async/compute-0/force"},
             {{"host-install-async", "compute-0"}, "POST /v1/host_install_async/compute-0"},
             {{"init-release", "23.09"}, "POST /v1/init_release/23.09"},
             {{"del-release", "23.09"}, "POST /v1/del_release/23.09"},
             {{"what-requires", "P1", "P2"}, "GET /v1/what_requires/P1/P2"},
         }) {
        INFO(c.target);
        CHECK(cli.run(c.args) == 0);
        CHECK(server.targets().back() == c.target);
        CHECK(cli.out.str() == "done\n\n");
    }
    CHECK(cli.run({"apply", "BAD"}) == 1);
    CHECK(cli.out.str() == "Error:\nPatch BAD does not exist\n\n");
}

TEST_CASE("show, query-dependencies, query-hosts", "[sw_patch][cli]") {
    FakeController server(route_table({
        {"POST /v1/show/", {200, R"({"metadata": {"P1": {"sw_version": "22.12",
            "patchstate": "Applied", "summary": "Sum"}}, "contents": {"P1": ["a.rpm"]},
            "error": ""})"}},
        {"GET /v1/query_dependencies/", {200, R"({"patches": ["P2", "P1"], "error": ""})"}},
        {"GET /v1/query_hosts", {200, R"({"data": [{"hostname": "controller-0",
            "ip": "192.168.204.2", "patch_current": true, "requires_reboot": false,
            "sw_version": "22.12", "state": "idle", "patch_failed": false}]})"}},
    }));
    Cli cli(server);
    CHECK(cli.run({"show", "P1"}) == 0);
    CHECK(server.targets().back() == "POST /v1/show/P1");
    CHECK(
        cli.out.str() ==
        "P1:\n    Release:        22.12\n    Patch State:    Applied\n"
        "    Summary:        Sum\n    Contents:\n                    a.rpm\n\n\n");
    CHECK(cli.run({"show", "P1", "--json"}) == 0);
    CHECK(nlohmann::json::parse(cli.out.str())["contents"]["P1"][0] == "a.rpm");

    CHECK(cli.run({"query-dependencies", "P2", "--recursive"}) == 0);
    CHECK(server.targets().back() == "GET /v1/query_dependencies/P2?recursive=yes");
    CHECK(cli.out.str() == "P1\nP2\n");
    CHECK(cli.run({"query-dependencies", "P2", "--json"}) == 0);
    CHECK(nlohmann::json::parse(cli.out.str())["patches"].size() == 2);

    CHECK(cli.run({"query-hosts"}) == 0);
    CHECK(
        cli.out.str() ==
        "  Hostname     IP Address    Patch Current  Reboot Required  Release  State\n"
        "============  =============  =============  ===============  =======  =====\n"
        "controller-0  192.168.204.2       Yes             No          22.12   idle\n");
    CHECK(cli.run({"query-hosts", "--format", "json"}) == 0);
    CHECK(nlohmann::json::parse(cli.out.str())["data"][0]["hostname"] == "controller-0");
}

TEST_CASE("is-applied and is-available print True/False", "[sw_patch][cli]") {
    FakeController server(route_table({
        {"POST /v1/is_applied/P1", {200, "true"}},
        {"POST /v1/is_applied/P2", {200, "false"}},
        {"POST /v1/is_available/P3", {200, "true"}},
    }));
    Cli cli(server);
    CHECK(cli.run({"is-applied", "P1"}) == 0);
    CHECK(cli.out.str() == "True\n");
    CHECK(cli.run({"is-applied", "P2"}) == 1);
    CHECK(cli.out.str() == "False\n");
    CHECK(cli.run({"is-available", "P3"}) == 0);
    CHECK(cli.out.str() == "True\n");
    CHECK(cli.run({"is-applied", "P1", "--json"}) == 0);
    CHECK(cli.out.str() == "true\n");
    CHECK(cli.run({"is-available", "P9"}) == 1);  // 404 from the route table
    CHECK(cli.out.str() == "False\n");
    CHECK_THAT(cli.err.str(), Catch::Contains("no route in the test"));
}

TEST_CASE("application dependencies", "[sw_patch][cli]") {
    FakeController server(route_table({
        {"POST /v1/report_app_dependencies", {200, "true"}},
        {"POST /v1/query_app_dependencies", {200, R"({"app1": ["P1", "P2"]})"}},
    }));
    Cli cli(server);
    CHECK(cli.run({"report-app-dependencies", "--app", "app1", "P1", "P2"}) == 0);
    CHECK(server.targets().back() == "POST /v1/report_app_dependencies/P1/P2?app=app1");
    CHECK(cli.out.str().empty());
    CHECK(cli.run({"report-app-dependencies", "--app", "app1"}) == 0);
    CHECK(server.targets().back() == "POST /v1/report_app_dependencies?app=app1");
    CHECK(cli.run({"report-app-dependencies", "P1"}) == 1);
    CHECK(cli.out.str() == "Application name must be specified with --app argument.\n");

    CHECK(cli.run({"query-app-dependencies"}) == 0);
    CHECK(server.targets().back() == "POST /v1/query_app_dependencies");
    CHECK(
        cli.out.str() ==
        "Application  Required Patches\n"
        "===========  ================\n"
        "app1         P1, P2\n");
    server.set_handler(route_table({{"POST /v1/query_app_dependencies", {200, "{}"}}}));
    CHECK(cli.run({"query-app-dependencies"}) == 0);
    CHECK(cli.out.str() == "There are no application dependencies.\n");
}

TEST_CASE("completion helper", "[sw_patch][cli]") {
    FakeController server(route_table({
        {"GET /v1/query", {200, R"({"pd": {"P2": {}, "P1": {}}})"}},
        {"GET /v1/query_hosts", {200, R"({"data": [{"hostname": "c-1"}, {"hostname": "c-0"}]})"}},
    }));
    Cli cli(server);
    CHECK(cli.run({"completion", "patches"}) == 0);
    CHECK(server.targets().back() == "GET /v1/query");
    CHECK(cli.out.str() == "P1 P2\n");
    CHECK(cli.run({"completion", "hosts"}) == 0);
    CHECK(cli.out.str() == "c-1\nc-0\n");
    CHECK(cli.run({"completion", "other"}) == 2);
}

TEST_CASE("upload: sorted unique files, skipped files, one request each", "[sw_patch][cli]") {
    FakeController server([](const RecordedRequest& req) {
        return CannedResponse{
            200, op(req.target.substr(req.target.find('=') + 1) + " is now available\n")};
    });
    Cli cli(server);
    write_file(cli.dir / "b.patch", "BBBB");
    write_file(cli.dir / "a.patch", "AAA");
    write_file(cli.dir / "notes.txt", "x");
    std::filesystem::create_directory(cli.dir / "d.patch");
    auto path = [&cli](const char* name) { return (cli.dir / name).string(); };

    int rc = cli.run(
        {"upload", path("b.patch"), path("a.patch"), path("b.patch"), path("d.patch"),
         path("missing.patch"), path("notes.txt")});
    CHECK(rc == 1);
    CHECK(
        server.targets() ==
        std::vector<std::string>{
            "POST /v1/upload?filename=a.patch", "POST /v1/upload?filename=b.patch"});
    CHECK(server.requests()[0].body == "AAA");
    CHECK(server.requests()[1].body == "BBBB");
    CHECK(
        cli.out.str() ==
        "a.patch is now available\n\n"
        "b.patch is now available\n\n"
        "Error: " +
            path("d.patch") +
            " is a directory. Please use upload-dir\n"
            "Error: File does not exist: " +
            path("missing.patch") +
            "\n"
            "Error: " +
            path("notes.txt") + ": File must end in .patch extension\n");

    CHECK(cli.run({"upload", path("a.patch")}) == 0);
}

TEST_CASE("upload-dir sends sorted absolute directories", "[sw_patch][cli]") {
    FakeController server([](const RecordedRequest&) { return CannedResponse{200, op("ok\n")}; });
    Cli cli(server);
    CHECK(cli.run({"upload-dir", "/srv/z/", "/srv/a", "/srv/z"}) == 0);
    CHECK(server.targets().back() == "POST /v1/upload_dir?dir0=/srv/a&dir1=/srv/z");
    CHECK(cli.run({"upload-dir", "rel"}) == 0);
    CHECK(
        server.targets().back() ==
        "POST /v1/upload_dir?dir0=" + (std::filesystem::current_path() / "rel").string());
}

TEST_CASE("host-install polls query_hosts until the host is idle", "[sw_patch][cli]") {
    int polls = 0;
    FakeController server([&polls](const RecordedRequest& req) {
        if (req.method == "POST") {
            return CannedResponse{200, op("Patch installation request sent to compute-0.\n")};
        }
        ++polls;
        std::string state = polls < 3 ? "installing" : "idle";
        return CannedResponse{200, R"({"data": [{"hostname": "compute-0", "ip": "10.0.0.5",
            "state": ")" + state + R"(", "interim_state": false}]})"};
    });
    Cli cli(server);
    cli.vars["SW_PATCH_POLL_INTERVAL"] = "0.25";
    CHECK(cli.run({"host-install", "--force", "compute-0"}) == 0);
    CHECK(server.targets().front() == "POST /v1/host_install_async/compute-0/force");
    CHECK(server.targets().back() == "GET /v1/query_hosts?brief=yes");
    CHECK(cli.out.str() == "..\nInstallation was successful.\n");
    CHECK(cli.sleeps == std::vector<double>{0.25, 0.25, 0.25});
}

TEST_CASE("host-install reports errors and timeouts", "[sw_patch][cli]") {
    FakeController server(route_table({
        {"POST /v1/host_install_async/", {200, op("", "Unknown host specified: nohost\n")}},
    }));
    Cli cli(server);
    CHECK(cli.run({"host-install", "nohost"}) == 1);
    CHECK(cli.out.str() == "Error:\nUnknown host specified: nohost\n\n");
    CHECK(cli.sleeps.empty());

    server.set_handler(route_table({
        {"POST /v1/host_install_async/", {200, op("sent\n")}},
        {"GET /v1/query_hosts", {200, R"({"data": []})"}},
    }));
    CHECK(cli.run({"host-install", "gone"}) == 1);
    CHECK(cli.out.str() == "gone agent has timed out.\n");
    CHECK(cli.sleeps.size() == 41);  // the reference's 20 s budget (4 misses x 5 s) at 0.5 s polls
}

TEST_CASE("commit with confirmation", "[sw_patch][cli]") {
    FakeController server(route_table({
        {"GET /v1/query_dependencies/P2?recursive=yes",
         {200, R"({"patches": ["P2", "P1"], "error": ""})"}},
        {"POST /v1/commit_dry_run/", {200, op("This commit operation would free 12.50 MiB\n")}},
        {"POST /v1/commit/", {200, op("The patches have been committed.\n")}},
    }));
    Cli cli(server);
    const std::string preamble =
        "The following patches will be committed:\n    P1\n    P2\n\n"
        "This commit operation would free 12.50 MiB\n\n"
        "\nWARNING: Committing a patch is an irreversible operation. Committed\n"
        "         patches cannot be removed.\n\n"
        "Would you like to continue? [y/N]: ";

    SECTION("yes") {
        CHECK(cli.run({"commit", "P2"}, "y\n") == 0);
        CHECK(
            server.targets() == std::vector<std::string>{
                                    "GET /v1/query_dependencies/P2?recursive=yes",
                                    "POST /v1/commit_dry_run/P2", "POST /v1/commit/P2"});
        CHECK(cli.out.str() == preamble + "The patches have been committed.\n\n");
    }
    SECTION("no") {
        CHECK(cli.run({"commit", "P2"}, "n\n") == 1);
        CHECK(cli.out.str() == preamble + "Aborting...\n");
        CHECK(server.targets().back() == "POST /v1/commit_dry_run/P2");
    }
    SECTION("end of input") {
        CHECK(cli.run({"commit", "P2"}) == 1);
        CHECK(server.targets().back() == "POST /v1/commit_dry_run/P2");
    }
    SECTION("--yes skips the question") {
        CHECK(cli.run({"commit", "-y", "P2"}) == 0);
        CHECK(server.targets().back() == "POST /v1/commit/P2");
        CHECK_THAT(cli.out.str(), !Catch::Contains("Would you like"));
    }
    SECTION("--dry-run stops after the dry run") {
        CHECK(cli.run({"commit", "--dry-run", "P2"}) == 0);
        CHECK(
            cli.out.str() ==
            "The following patches will be committed:\n    P1\n    P2\n\n"
            "This commit operation would free 12.50 MiB\n\n");
        CHECK(server.targets().back() == "POST /v1/commit_dry_run/P2");
    }
    SECTION("--release needs --all") {
        CHECK(cli.run({"commit", "--release", "21.12", "P2"}) == 1);
        CHECK(cli.out.str() == "Use of --release option requires --all\n");
        CHECK(server.requests().empty());
    }
}

TEST_CASE("commit --all lists every patch of the release", "[sw_patch][cli]") {
    FakeController server(route_table({
        {"GET /v1/query?show=all&release=21.12", {200, R"({"pd": {"B": {}, "A": {}}})"}},
        {"GET /v1/query?show=all&release=22.12", {200, R"({"pd": {}})"}},
        {"POST /v1/commit_dry_run/", {200, op("This commit operation would free 0.00 MiB\n")}},
        {"POST /v1/commit/", {200, op("The patches have been committed.\n")}},
        {"GET /v1/query_dependencies/",
         {200, R"({"patches": [], "error": "X is unrecognized\n"})"}},
    }));
    Cli cli(server);
    CHECK(cli.run({"commit", "--all", "--release", "21.12", "--yes"}) == 0);
    CHECK(
        server.targets() == std::vector<std::string>{
                                "GET /v1/query?show=all&release=21.12",
                                "POST /v1/commit_dry_run/A/B", "POST /v1/commit/A/B"});

    write_file(cli.dir / "build.info", "SW_VERSION=\"22.12\"\n");
    CHECK(cli.run({"commit", "--all"}) == 0);
    CHECK(cli.out.str() == "There are no 22.12 patches to commit.\n");

    std::filesystem::remove(cli.dir / "build.info");
    CHECK(cli.run({"commit", "--all"}) == 2);
    CHECK_THAT(cli.err.str(), Catch::Contains("pass --release R"));

    CHECK(cli.run({"commit", "X"}) == 1);
    CHECK(cli.out.str() == "Error:\nX is unrecognized\n\nAborting...\n");
}

TEST_CASE("people-facing errors", "[sw_patch][cli]") {
    SECTION("controller not running") {
        FakeController server;
        Cli cli(server);
        cli.vars["SW_PATCH_CONTROLLER"] =
            "http://127.0.0.1:" + std::to_string(patching::test::closed_port());
        CHECK(cli.run({"query"}) == 1);
        CHECK_THAT(cli.err.str(), Catch::StartsWith("Error: cannot reach the patch controller at"));
        CHECK_THAT(cli.err.str(), Catch::Contains("is patch-controller running?"));
    }
    SECTION("--controller wins over the environment") {
        FakeController server;
        Cli cli(server);
        cli.vars["SW_PATCH_CONTROLLER"] = "http://127.0.0.1:1";
        CHECK(cli.run({"--controller", server.url(), "delete", "P1"}) == 0);
        CHECK(server.targets().back() == "POST /v1/delete/P1");
    }
    SECTION("token rejected") {
        FakeController server([](const RecordedRequest&) {
            return CannedResponse{401, R"({"error": "invalid token"})"};
        });
        Cli cli(server);
        write_file(cli.dir / "my.token", "abc\n");
        CHECK(cli.run({"apply", "P1", "--token-file", (cli.dir / "my.token").string()}) == 1);
        CHECK(server.requests().at(0).header("authorization") == "Bearer abc");
        CHECK_THAT(
            cli.err.str(), Catch::StartsWith("Error: the patch controller rejected the token"));
    }
    SECTION("bad config") {
        FakeController server;
        Cli cli(server);
        write_file(cli.dir / "sw-patch.conf", "colour = blue\n");
        CHECK(cli.run({"query"}) == 1);
        CHECK_THAT(cli.err.str(), Catch::Contains("unknown key \"colour\""));
    }
    SECTION("install-local refuses after the initial configuration") {
        FakeController server;
        Cli cli(server);
        write_file(cli.dir / "configured", "");
        cli.vars["SW_PATCH_INITIAL_CONFIG_MARKER"] = (cli.dir / "configured").string();
        CHECK(cli.run({"install-local"}) == 1);
        CHECK_THAT(cli.err.str(), Catch::Contains("before the initial configuration"));
        CHECK(server.requests().empty());
    }
    SECTION("install-local says when the agent is missing") {
        FakeController server;
        Cli cli(server);
        cli.vars["SW_PATCH_INITIAL_CONFIG_MARKER"] = (cli.dir / "absent").string();
        cli.vars["SW_PATCH_AGENT"] = (cli.dir / "no-such-agent").string();
        CHECK(cli.run({"install-local"}) == 1);
        CHECK_THAT(cli.err.str(), Catch::Contains("cannot run"));
    }
}
