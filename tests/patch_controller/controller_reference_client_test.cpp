// SPDX-License-Identifier: Apache-2.0
// End-to-end: the REST contract rule (README "REST contract"). Requests made exactly as the
// reference sw-patch client makes them (python3-requests, a requests_toolbelt multipart form for
// uploads, no token on the loopback API, no header of ours) get the reference's answers:
// handled errors are HTTP 200 with `error` set, so the client prints them. Requests with our
// X-Patching-Client header get real statuses and 405 for a wrong method. What the reference
// client would print is computed from spec §6.3, not from its code.
#include "support/controller_harness.hpp"

#include <catch2/catch.hpp>

#include <cstdio>

using namespace patching::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::string P1 = fixture_id(1);  // DEV
const std::string P2 = fixture_id(2);  // requires P1
const std::string P3 = fixture_id(3);

struct RefRequest {
    std::string method;
    std::string path;
    std::optional<fs::path> upload{};
};

struct RefAnswer {
    int status = 0;
    std::string text;
    json body;
    json sent;  ///< The headers the request carried.

    /// What the reference client prints for an operation's answer (spec §6.3): info as is,
    /// warning after "Warning:", error after "Error:" (each through print(), so with a newline
    /// more), only when the status is 200; the internal-error line for a 500; else nothing.
    std::string printed() const {
        if (status == 500) {
            return "An internal error has occurred. Please check /var/log/patching.log for details\n";
        }
        if (status != 200 || !body.is_object()) {
            return "";
        }
        std::string out;
        auto text_of = [&](const char* key) {
            return body.contains(key) && body[key].is_string() ? body[key].get<std::string>() : std::string();
        };
        if (!text_of("info").empty()) {
            out += text_of("info") + "\n";
        }
        if (!text_of("warning").empty()) {
            out += "Warning:\n" + text_of("warning") + "\n";
        }
        if (!text_of("error").empty()) {
            out += "Error:\n" + text_of("error") + "\n";
        }
        return out;
    }
    /// check_rc(): 0 only for HTTP 200 without an error.
    int exit_code() const {
        return status == 200 && !(body.is_object() && body.contains("error") && body["error"].is_string() &&
                                  !body["error"].get<std::string>().empty())
                   ? 0
                   : 1;
    }
};

// Sends `requests` with reference_requests.py (python3-requests, as the reference client).
std::vector<RefAnswer> reference_send(const ControllerHarness& h, const std::vector<RefRequest>& requests) {
    json list = json::array();
    for (const auto& r : requests) {
        json item = {{"method", r.method}, {"path", r.path}};
        if (r.upload) {
            item["upload"] = r.upload->string();
        }
        list.push_back(item);
    }
    const fs::path in = h.root() / "reference-requests.json";
    write_file(in, list.dump());
    std::string output;
    const int rc = run_command("/usr/bin/python3 " + std::string(PATCHING_TEST_SCRIPTS_DIR) +
                                   "/reference_requests.py http://127.0.0.1:" + std::to_string(h.port()) + " < " +
                                   in.string() + " 2>&1",
                               &output);
    INFO(output);
    REQUIRE(rc == 0);
    std::vector<RefAnswer> answers;
    for (const auto& a : json::parse(output)) {
        RefAnswer answer{a.at("status").get<int>(), a.at("text").get<std::string>(), {}, a.at("sent")};
        answer.body = json::parse(answer.text, nullptr, false);
        answers.push_back(std::move(answer));
    }
    REQUIRE(answers.size() == requests.size());
    return answers;
}

RefAnswer reference_send_one(const ControllerHarness& h, const RefRequest& request) {
    return reference_send(h, std::vector<RefRequest>{request}).front();
}

ControllerHarness::Options reference_setup() {
    return {.extra_config = {"allow_unauthenticated_local = true"}};
}

}  // namespace

TEST_CASE("Reference client: uploads as a multipart form, refusals printed, exit codes from error",
          "[controller][e2e][reference]") {
    ControllerHarness h(reference_setup());

    // Uploads: one request per file, the file name as given on the command line.
    std::vector<RefRequest> uploads;
    for (int n = 1; n <= 3; ++n) {
        uploads.push_back({"POST", "/patch/upload", fixture_patch(n)});
    }
    auto uploaded = reference_send(h, uploads);
    for (int n = 1; n <= 3; ++n) {
        const RefAnswer& a = uploaded[static_cast<std::size_t>(n - 1)];
        INFO(a.text);
        CHECK(a.sent.value("Content-Type", "").rfind("multipart/form-data; boundary=", 0) == 0);
        CHECK_FALSE(a.sent.contains("X-Patching-Client"));
        CHECK(a.status == 200);
        CHECK(a.printed() == fixture_id(n) + " is now available\n\n");
        CHECK(a.exit_code() == 0);
    }
    CHECK(h.query().size() == 3);
    CHECK(list_files(h.tmp_dir()).empty());

    SECTION("requires refusals on apply and remove") {
        RefAnswer apply = reference_send_one(h, {"POST", "/patch/apply/" + P2});
        CHECK(apply.status == 200);
        CHECK(apply.printed() == "Error:\n" + P1 + " is required by: " + P2 + "\n\n");
        CHECK(apply.exit_code() == 1);
        Response ours = h.post("/v1/apply/" + P2);
        CHECK(ours.status == 409);
        CHECK(ours.error() == P1 + " is required by: " + P2 + "\n");

        REQUIRE(reference_send_one(h, {"POST", "/patch/apply/" + P1 + "/" + P2}).exit_code() == 0);
        RefAnswer remove = reference_send_one(h, {"POST", "/patch/remove/" + P1});
        CHECK(remove.status == 200);
        CHECK(remove.printed() == "Error:\n" + P1 + " is required by: " + P2 + "\n\n");
        CHECK(remove.exit_code() == 1);
        CHECK(h.post("/v1/remove/" + P1).status == 409);
        CHECK(h.query().at(P1).at("repostate") == "Applied");
    }
    SECTION("commit dry run with non-REL patches") {
        REQUIRE(h.post("/v1/apply/" + P1 + "/" + P2).status == 200);
        const std::string expected =
            "A commit cannot be performed with non-REL status patches in the system:\n    " + P1 + "\n";
        RefAnswer dry = reference_send_one(h, {"POST", "/patch/commit_dry_run/" + P2});
        CHECK(dry.status == 200);
        CHECK(dry.body.value("error", "") == expected);
        CHECK(dry.exit_code() == 1);
        Response ours = h.post("/v1/commit_dry_run/" + P2);
        CHECK(ours.status == 409);
        CHECK(ours.error() == expected);
    }
    SECTION("a hostile upload") {
        const fs::path bad = fixtures_dir() / "bad" / "bad-md5.patch";
        RefAnswer ref = reference_send_one(h, {"POST", "/patch/upload", bad});
        CHECK(ref.status == 200);
        CHECK(ref.printed().rfind("Error:\nPatch validation failed for bad-md5:\n", 0) == 0);
        CHECK(ref.exit_code() == 1);
        Response ours = h.upload(bad);
        CHECK(ours.status == 422);
        CHECK(ours.error().rfind("Patch validation failed for bad-md5:\n", 0) == 0);
        // The same form with our header: the real status.
        Body form = Body::text("--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bad-md5.patch\"\r\n\r\n" +
                                   read_file(bad) + "\r\n--xyz--\r\n",
                               "multipart/form-data; boundary=xyz");
        Response ours_form = h.request("POST", "/v1/upload", h.admin_token(), form);
        CHECK(ours_form.status == 422);
        CHECK(ours_form.error().rfind("Patch validation failed for bad-md5:\n", 0) == 0);
        // A name that is no patch's, and a form without the file.
        const fs::path notes = h.work_dir() / "notes.txt";
        fs::create_directories(h.work_dir());
        write_file(notes, "hello");
        RefAnswer named = reference_send_one(h, {"POST", "/patch/upload", notes});
        CHECK(named.status == 200);
        CHECK(named.printed() == "Error:\nFile must end in .patch extension: notes.txt\n\n");
        Response no_file = h.request("POST", "/v1/upload", h.admin_token(),
                                     Body::text("--xyz\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--xyz--\r\n",
                                                "multipart/form-data; boundary=xyz"));
        CHECK(no_file.status == 400);
        CHECK(no_file.error().find("no \"file\" part") != std::string::npos);
        CHECK(list_files(h.tmp_dir()).empty());
        CHECK(h.query().size() == 3);
    }
    SECTION("methods: any on the reference's paths, 405 for ours on a mutating route") {
        RefAnswer get_remove = reference_send_one(h, {"GET", "/patch/remove/NOPE_1"});
        CHECK(get_remove.status == 200);
        CHECK(get_remove.printed() == "Error:\nPatch NOPE_1 does not exist\n\n");
        CHECK(reference_send_one(h, {"POST", "/patch/query"}).body.contains("pd"));

        Response get_apply = h.get("/v1/apply/" + P3);
        CHECK(get_apply.status == 405);
        CHECK(get_apply.error() == "'apply' takes POST, not GET");
        CHECK(h.query().at(P3).at("repostate") == "Available");
        // Read-only routes take what our CLI sends.
        CHECK(h.post("/v1/show/" + P3).status == 200);
        CHECK(h.get("/v1/show/" + P3).status == 200);
        CHECK(h.post("/v1/query").status == 405);
    }
}

TEST_CASE("Reference client and orchestrator paths answer the spec's JSON shapes", "[controller][e2e][reference]") {
    ControllerHarness h(reference_setup());
    fs::path drop = h.work_dir() / "drop";
    fs::create_directories(drop);
    for (int n = 1; n <= 3; ++n) {
        fs::copy_file(fixture_patch(n), drop / fixture_patch(n).filename());
    }
    auto a = reference_send(
        h, {{"POST", "/patch/upload_dir?dir0=" + drop.string()},
            {"POST", "/patch/apply/" + P1},
            {"GET", "/patch/query?show=all"},
            {"GET", "/patch/query_hosts"},
            {"POST", "/patch/show/" + P1 + "/NOPE_9"},
            {"GET", "/patch/what_requires/" + P1},
            {"GET", "/patch/query_dependencies/" + P2 + "?recursive=yes"},
            {"POST", "/patch/is_applied/" + P1},
            {"POST", "/patch/is_available/" + P1},
            {"POST", "/patch/commit_dry_run/" + P1},
            {"POST", "/patch/commit/" + P1},
            {"POST", "/patch/host_install_async/compute-9"},
            {"POST", "/patch/drop_host/compute-9"},
            {"POST", "/patch/report_app_dependencies/" + P3 + "?app=myapp"},
            {"POST", "/patch/query_app_dependencies"},
            {"POST", "/patch/report_app_dependencies/" + P3},
            {"GET", "/v1/query"},
            {"GET", "/v1/query_hosts"},
            {"POST", "/v1/host_install_async/compute-9"}});
    for (const auto& answer : a) {
        INFO(answer.text);
        CHECK(answer.status == 200);
    }
    auto keys = [](const json& j) {
        std::vector<std::string> k;
        for (const auto& [key, value] : j.items()) {
            k.push_back(key);
        }
        return k;
    };
    using Keys = std::vector<std::string>;
    CHECK(a[0].printed() == P1 + " is now available\n" + P2 + " is now available\n" + P3 + " is now available\n\n");
    CHECK(a[1].printed() == P1 + " is now in the repo\n\n");
    CHECK(keys(a[2].body) == Keys{"pd"});
    CHECK(a[2].body["pd"][P1]["repostate"] == "Applied");
    CHECK(a[2].body["pd"][P2]["requires"] == json::array({P1}));
    CHECK(a[3].text == R"({"data": []})");
    CHECK(keys(a[4].body) == Keys{"contents", "error", "metadata"});
    CHECK(a[4].body["error"] == "NOPE_9 is unrecognized\n");
    CHECK(a[4].body["metadata"][P1]["sw_version"] == "22.12");
    CHECK(keys(a[5].body) == Keys{"error", "info", "warning"});
    CHECK(a[5].body["info"] == P1 + " is required by: " + P2 + ", " + P3 + "\n");
    CHECK(keys(a[6].body) == Keys{"error", "patches"});
    CHECK(a[6].body["patches"] == json::array({P1, P2}));
    CHECK(a[6].body["error"] == "");
    CHECK(a[7].text == "true");
    CHECK(a[8].text == "false");
    CHECK(a[9].exit_code() == 1);  // P1 is DEV: the dry run refuses, HTTP 200
    CHECK(a[9].body.contains("info"));
    CHECK(a[10].exit_code() == 1);
    CHECK(a[11].exit_code() == 1);
    CHECK(a[11].body["error"].get<std::string>().find("compute-9") != std::string::npos);
    CHECK(a[12].exit_code() == 1);
    CHECK(a[13].text == "true");
    CHECK(a[14].body == json{{"myapp", json::array({P3})}});
    CHECK(a[15].body.value("status", 0) == 500);
    CHECK(a[15].body.contains("error"));
    CHECK(keys(a[16].body) == Keys{"pd"});
    CHECK(a[17].body == json{{"data", json::array()}});
    CHECK(a[18].exit_code() == 1);
}
