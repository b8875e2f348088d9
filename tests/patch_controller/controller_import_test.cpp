// SPDX-License-Identifier: Apache-2.0
// End-to-end: importing patches into the real daemon (spec §1.10, §3.4 upload/upload_dir,
// init/del_release) through its REST API.
#include "support/controller_harness.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace patching::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::vector<std::string> FIXTURE_RPMS_IN_STORE = {
    "fixture-alpha-1.0-2.noarch.rpm", "fixture-alpha-1.0-3.noarch.rpm", "fixture-beta-1.0-2.noarch.rpm",
    "fixture-delta-1.0-1.noarch.rpm"};

void upload_fixtures(const ControllerHarness& h) {
    for (int n = 1; n <= 3; ++n) {
        Response r = h.upload(fixture_patch(n));
        INFO(r.text);
        REQUIRE(r.status == 200);
        REQUIRE(r.info() == fixture_id(n) + " is now available\n");
    }
}

// Everything an import may leave behind, to prove a refused import left nothing.
std::vector<std::string> state_files(const ControllerHarness& h) {
    std::vector<std::string> all;
    for (const char* sub : {"packages", "tmp", "metadata", "semantics"}) {
        for (const auto& f : list_files(h.state_dir() / sub)) {
            all.push_back(std::string(sub) + "/" + f);
        }
    }
    return all;
}

}  // namespace

TEST_CASE("Uploading the three reference patches makes them available with their metadata", "[controller][e2e]") {
    ControllerHarness h;
    upload_fixtures(h);

    Response r = h.get("/v1/query");
    REQUIRE(r.status == 200);
    CHECK(r.content_type.rfind("application/json", 0) == 0);
    REQUIRE(r.body.is_object());
    REQUIRE(r.body.size() == 1);
    const json& pd = r.body.at("pd");
    REQUIRE(pd.size() == 3);

    const json& p1 = pd.at(fixture_id(1));
    CHECK(p1.at("repostate") == "Available");
    CHECK(p1.at("patchstate") == "Available");
    CHECK(p1.at("sw_version") == "22.12");
    CHECK(p1.at("reboot_required") == "N");
    CHECK(p1.at("status") == "DEV");
    CHECK(p1.at("summary") == "Fix alpha and beta");
    CHECK(p1.at("requires") == json::array());
    CHECK(p1.at("personality-controller") == json({"fixture-alpha", "fixture-beta"}));
    for (const char* pers : {"worker", "storage", "controller-worker", "worker-lowlatency",
                             "controller-worker-lowlatency"}) {
        CHECK(p1.at(std::string("personality-") + pers) == json({"fixture-beta"}));
    }

    const json& p2 = pd.at(fixture_id(2));
    CHECK(p2.at("repostate") == "Available");
    CHECK(p2.at("reboot_required") == "Y");
    CHECK(p2.at("status") == "REL");
    CHECK(p2.at("requires") == json({fixture_id(1)}));
    CHECK(p2.at("personality-worker") == json({"fixture-delta"}));
    CHECK_FALSE(p2.contains("personality-controller"));

    const json& p3 = pd.at(fixture_id(3));
    CHECK(p3.at("reboot_required") == "N");
    CHECK(p3.at("unremovable") == "Y");
    CHECK(p3.at("apply_active_release_only") == "Y");
    CHECK(p3.at("description") == "Line one & <two>\nLine \"three\"");
    CHECK(p3.at("warnings") == "Restart alpha after install");
    CHECK(p3.at("install_instructions") == "No action needed");
    CHECK(p3.at("requires") == json({fixture_id(1)}));
    CHECK(p3.at("personality-controller") == json({"fixture-alpha"}));

    // Every key of every entry has the reference's type: strings, except lists for requires
    // and personalities.
    for (const auto& [id, meta] : pd.items()) {
        for (const auto& [key, value] : meta.items()) {
            INFO(id << " " << key);
            if (key == "requires" || key.rfind("personality-", 0) == 0) {
                CHECK(value.is_array());
            } else {
                CHECK(value.is_string());
            }
        }
    }

    // Filters.
    CHECK(h.query("available").size() == 3);
    CHECK(h.query("applied").empty());
    CHECK(h.query("committed").empty());
    CHECK(h.query("all").size() == 3);
    CHECK(h.get("/v1/query?release=22.12").body.at("pd").size() == 3);
    CHECK(h.get("/v1/query?release=99.99").body.at("pd").empty());
    CHECK(h.get("/v1").body.at("pd").size() == 3);  // the index is a query too

    // The files of spec §1.10 "Placing the files".
    CHECK(list_files(h.packages_dir()) == FIXTURE_RPMS_IN_STORE);
    CHECK(list_files(h.state_dir() / "metadata") ==
          std::vector<std::string>{"available/FIX_22.12_PATCH_0001-metadata.xml",
                                   "available/FIX_22.12_PATCH_0002-metadata.xml",
                                   "available/FIX_22.12_PATCH_0003-metadata.xml"});
    CHECK(list_files(h.state_dir() / "semantics") ==
          std::vector<std::string>{"pre-apply/FIX_22.12_PATCH_0002", "pre-remove/FIX_22.12_PATCH_0002"});
    CHECK(list_files(h.tmp_dir()).empty());
    // The stored RPMs are the patch's bytes.
    CHECK(read_file(h.packages_dir() / "fixture-delta-1.0-1.noarch.rpm") ==
          read_file(fixture_rpm("fixture-delta-1.0-1")));
}

TEST_CASE("show returns metadata, contents and one error line per unknown ID", "[controller][e2e]") {
    ControllerHarness h;
    upload_fixtures(h);

    for (const char* method : {"GET", "POST"}) {
        Response r = h.api(method, "/v1/show/" + fixture_id(1) + "/NOPE_1/" + fixture_id(2));
        INFO(method << " " << r.text);
        REQUIRE(r.status == 200);
        REQUIRE(r.body.is_object());
        CHECK(r.body.size() == 3);
        CHECK(r.body.at("error") == "NOPE_1 is unrecognized\n");
        CHECK(r.body.at("contents") ==
              json({{fixture_id(1), {"fixture-alpha-1.0-2.noarch.rpm", "fixture-beta-1.0-2.noarch.rpm"}},
                    {fixture_id(2), {"fixture-delta-1.0-1.noarch.rpm"}}}));
        REQUIRE(r.body.at("metadata").size() == 2);
        CHECK(r.body.at("metadata").at(fixture_id(1)) == h.query().at(fixture_id(1)));
    }

    Response unknown = h.get("/v1/show/A_1/B_2");
    CHECK(unknown.body.at("error") == "A_1 is unrecognized\nB_2 is unrecognized\n");
    CHECK(unknown.body.at("metadata") == json::object());
    CHECK(unknown.body.at("contents") == json::object());
}

TEST_CASE("Re-uploading an imported patch updates its metadata only", "[controller][e2e]") {
    ControllerHarness h;
    upload_fixtures(h);
    json before = h.query();
    auto files_before = state_files(h);

    for (int n = 1; n <= 3; ++n) {
        Response r = h.upload(fixture_patch(n));
        INFO(r.text);
        CHECK(r.status == 200);
        CHECK(r.info() == fixture_id(n) + " is already imported. Updated metadata only\n");
        CHECK(r.error().empty());
    }
    CHECK(h.query() == before);
    CHECK(state_files(h) == files_before);

    // An applied patch stays applied when it is uploaded again.
    REQUIRE(h.post("/v1/apply/" + fixture_id(1)).status == 200);
    Response again = h.upload(fixture_patch(1));
    CHECK(again.info() == fixture_id(1) + " is already imported. Updated metadata only\n");
    CHECK(h.query().at(fixture_id(1)).at("repostate") == "Applied");
    CHECK(fs::exists(h.state_dir() / "metadata/applied/FIX_22.12_PATCH_0001-metadata.xml"));
    CHECK_FALSE(fs::exists(h.state_dir() / "metadata/available/FIX_22.12_PATCH_0001-metadata.xml"));
}

TEST_CASE("A re-upload whose contents differ from the imported patch is refused", "[controller][e2e]") {
    ControllerHarness h;
    REQUIRE(h.upload(fixture_patch(1)).status == 200);
    json before = h.query();
    // Same ID, other RPMs.
    fs::path impostor = h.build({.id = fixture_id(1),
                                 .status = "DEV",
                                 .rpms = {{"controller", fixture_rpm("fixture-alpha-1.0-3")}}});
    Response r = h.upload(impostor);
    INFO(r.text);
    CHECK(r.status == 409);
    CHECK(r.error() == "Contents of FIX_22.12_PATCH_0001 do not match re-imported patch\n");
    CHECK(r.info().empty());
    CHECK(h.query() == before);
    CHECK(list_files(h.packages_dir()) ==
          std::vector<std::string>{"fixture-alpha-1.0-2.noarch.rpm", "fixture-beta-1.0-2.noarch.rpm"});
}

TEST_CASE("Every hostile patch is refused with 422 and leaves no trace", "[controller][e2e]") {
    ControllerHarness h;
    REQUIRE(h.upload(fixture_patch(1)).status == 200);
    const json before = h.query();
    const auto files_before = state_files(h);
    const auto repo_before = list_files(h.repo_dir());

    std::vector<fs::path> bad;
    for (const auto& entry : fs::directory_iterator(fixtures_dir() / "bad")) {
        if (entry.path().extension() == ".patch") {
            bad.push_back(entry.path());
        }
    }
    std::sort(bad.begin(), bad.end());
    REQUIRE(bad.size() >= 9);

    for (const auto& file : bad) {
        DYNAMIC_SECTION(file.filename().string()) {
            Response r = h.upload(file);
            INFO(r.text);
            CHECK(r.status == 422);
            const std::string prefix = "Patch validation failed for " + file.stem().string() + ":\n";
            CHECK(r.error().rfind(prefix, 0) == 0);
            CHECK(r.error().size() > prefix.size() + 1);  // a reason follows
            CHECK(r.error().back() == '\n');
            CHECK(r.info().empty());
            CHECK(h.query() == before);
            CHECK(state_files(h) == files_before);
            CHECK(list_files(h.repo_dir()) == repo_before);
        }
    }
    // The escaping member of the path-traversal patch landed nowhere.
    CHECK_FALSE(fs::exists(h.state_dir() / "escaped-fixture-alpha-1.0-2.noarch.rpm"));
    CHECK_FALSE(fs::exists(h.state_dir() / "packages" / "escaped-fixture-alpha-1.0-2.noarch.rpm"));
    CHECK_FALSE(fs::exists(h.root() / "escaped-fixture-alpha-1.0-2.noarch.rpm"));
}

TEST_CASE("A patch file must be named <ID>.patch", "[controller][e2e]") {
    ControllerHarness h;

    SECTION("wrong extension") {
        Response r = h.upload(fixture_patch(1), "FIX_22.12_PATCH_0001.tar");
        CHECK(r.status == 400);
        CHECK(r.error().rfind("File must end in .patch extension: FIX_22.12_PATCH_0001.tar", 0) == 0);
    }
    SECTION("no file name") {
        Response r = h.request("POST", "/v1/upload", h.admin_token(), Body::from_file(fixture_patch(1)));
        CHECK(r.status == 400);
        CHECK(r.error().rfind("File must end in .patch extension", 0) == 0);
    }
    SECTION("a path instead of a name") {
        Response r = h.upload(fixture_patch(1), "..%2FFIX_22.12_PATCH_0001.patch");
        CHECK(r.status == 400);
        CHECK(r.error().rfind("File must end in .patch extension", 0) == 0);
        CHECK_FALSE(fs::exists(h.state_dir() / "FIX_22.12_PATCH_0001.patch"));
    }
    SECTION("a name that is not the patch's ID") {
        Response r = h.upload(fixture_patch(1), "FIX_22.12_PATCH_0009.patch");
        INFO(r.text);
        CHECK(r.status == 422);
        CHECK(r.error().rfind("Patch validation failed for FIX_22.12_PATCH_0009:\n", 0) == 0);
    }
    SECTION("a multipart/form-data form without the file field is refused with a hint") {
        // The form is the reference client's upload (controller_reference_client_test.cpp);
        // its file is the part named "file", whatever the query says.
        Response r = h.request("POST", "/v1/upload?filename=FIX_22.12_PATCH_0001.patch", h.admin_token(),
                               Body::text("--x\r\n\r\n--x--\r\n", "multipart/form-data; boundary=x"));
        CHECK(r.status == 400);
        CHECK(r.error() == "Upload failed: the form has no \"file\" part: send the patch as the field \"file\"\n");
    }
    CHECK(h.query().empty());
    CHECK(list_files(h.tmp_dir()).empty());
    CHECK(list_files(h.packages_dir()).empty());
}

TEST_CASE("An RPM that is not newer than the base release's is refused", "[controller][e2e]") {
    ControllerHarness h;
    fs::path low = h.build({.id = "LOW_22.12_PATCH_0001", .rpms = {{"controller", fixture_rpm("fixture-alpha-1.0-1")}}});
    Response r = h.upload(low);
    INFO(r.text);
    CHECK(r.status == 409);
    CHECK(r.error() == "Patch validation failed for LOW_22.12_PATCH_0001:\n"
                       "RPM fixture-alpha-1.0-1.noarch.rpm in patch LOW_22.12_PATCH_0001 must be higher version "
                       "than original (1.0-1)\n");
    CHECK(h.query().empty());
    CHECK(list_files(h.packages_dir()).empty());
    CHECK(list_files(h.tmp_dir()).empty());
    CHECK(list_files(h.state_dir() / "metadata").empty());

    // A newer one next to it is fine; a base package of another name does not matter.
    fs::path ok = h.build({.id = "OK_22.12_PATCH_0001",
                           .rpms = {{"controller", fixture_rpm("fixture-alpha-1.0-2")},
                                    {"worker", fixture_rpm("fixture-delta-1.0-1")}}});
    CHECK(h.upload(ok).info() == "OK_22.12_PATCH_0001 is now available\n");
}

TEST_CASE("An RPM that another patch already provides is refused", "[controller][e2e]") {
    ControllerHarness h;
    REQUIRE(h.upload(fixture_patch(1)).status == 200);
    fs::path dup = h.build({.id = "DUP_22.12_PATCH_0001", .rpms = {{"worker", fixture_rpm("fixture-alpha-1.0-2")}}});
    Response r = h.upload(dup);
    INFO(r.text);
    CHECK(r.status == 409);
    CHECK(r.error() == "Patch validation failed for DUP_22.12_PATCH_0001:\n"
                       "Patch DUP_22.12_PATCH_0001 contains rpm fixture-alpha-1.0-2.noarch.rpm, which is already "
                       "provided by patch FIX_22.12_PATCH_0001\n");
    CHECK(h.query().size() == 1);

    // Once the provider is deleted, the same patch imports.
    REQUIRE(h.post("/v1/delete/" + fixture_id(1)).status == 200);
    Response again = h.upload(dup);
    CHECK(again.info() == "DUP_22.12_PATCH_0001 is now available\n");
    CHECK(list_files(h.packages_dir()) == std::vector<std::string>{"fixture-alpha-1.0-2.noarch.rpm"});
}

TEST_CASE("A patch for a release that is not installed imports only after init-release", "[controller][e2e]") {
    ControllerHarness h;
    fs::path future = h.build({.id = "FUT_99.99_PATCH_0001",
                               .release = "99.99",
                               .rpms = {{"controller", fixture_rpm("fixture-alpha-1.0-2")}}});
    Response refused = h.upload(future);
    INFO(refused.text);
    CHECK(refused.status == 409);
    CHECK(refused.error() ==
          "Patch validation failed for FUT_99.99_PATCH_0001:\nPatch FUT_99.99_PATCH_0001 software release (99.99) is "
          "not installed\n");
    CHECK(h.query().empty());
    CHECK_FALSE(fs::exists(h.packages_dir("99.99") / "fixture-alpha-1.0-2.noarch.rpm"));

    Response init = h.post("/v1/init_release/99.99");
    INFO(init.text);
    REQUIRE(init.status == 200);
    CHECK(init.error().empty());
    CHECK(fs::is_regular_file(h.release_repo("99.99") / "repodata" / "repomd.xml"));
    CHECK(h.request("GET", "/updates/rel-99.99/repodata/repomd.xml", "").status == 200);

    Response again = h.post("/v1/init_release/99.99");
    CHECK(again.status == 200);
    CHECK(again.info() == "Patch repository for 99.99 already exists\n");

    Response imported = h.upload(future);
    INFO(imported.text);
    CHECK(imported.info() == "FUT_99.99_PATCH_0001 is now available\n");
    json pd = h.get("/v1/query?release=99.99").body.at("pd");
    REQUIRE(pd.size() == 1);
    CHECK(pd.at("FUT_99.99_PATCH_0001").at("sw_version") == "99.99");
    CHECK(h.get("/v1/query?release=22.12").body.at("pd").empty());
    CHECK(fs::exists(h.packages_dir("99.99") / "fixture-alpha-1.0-2.noarch.rpm"));

    // The release survives a restart.
    h.restart();
    CHECK(h.query().contains("FUT_99.99_PATCH_0001"));

    Response del = h.post("/v1/del_release/99.99");
    INFO(del.text);
    CHECK(del.status == 200);
    CHECK(del.error().empty());
    CHECK(h.query().empty());
    CHECK_FALSE(fs::exists(h.packages_dir("99.99")));
    CHECK_FALSE(fs::exists(h.release_repo("99.99")));
    CHECK(list_files(h.state_dir() / "metadata").empty());
    CHECK(h.request("GET", "/updates/rel-99.99/repodata/repomd.xml", "").status == 404);

    Response del_again = h.post("/v1/del_release/99.99");
    CHECK(del_again.status == 200);
    CHECK(del_again.info() == "Patch repository for 99.99 does not exist\n");

    // Gone for good: the patch is refused again, also after a restart.
    CHECK(h.upload(future).status == 409);
    h.restart();
    CHECK(h.upload(future).error().find("software release (99.99) is not installed") != std::string::npos);
    CHECK_FALSE(fs::exists(h.release_repo("99.99")));
}

TEST_CASE("init-release and del-release refuse the running release and bad names", "[controller][e2e]") {
    ControllerHarness h;
    for (const char* verb : {"init_release", "del_release"}) {
        Response running = h.post(std::string("/v1/") + verb + "/22.12");
        INFO(verb << " " << running.text);
        CHECK(running.status == 409);
        CHECK(running.error() == "Rejected: Requested release 22.12 is running release\n");
        Response none = h.post(std::string("/v1/") + verb);
        CHECK(none.status == 400);
        CHECK(none.error().rfind("Release must be specified", 0) == 0);
        Response bad = h.post(std::string("/v1/") + verb + "/..");
        CHECK(bad.status >= 400);
        CHECK_FALSE(bad.error().empty());
    }
    CHECK(fs::is_regular_file(h.release_repo() / "repodata" / "repomd.xml"));
    CHECK(fs::is_directory(h.feed_dir() / "rel-22.12" / "Packages"));
}

TEST_CASE("upload_dir imports every .patch file of the given directories", "[controller][e2e]") {
    ControllerHarness h;
    fs::path dir1 = h.work_dir() / "drop1";
    fs::path dir2 = h.work_dir() / "drop2";
    fs::create_directories(dir1);
    fs::create_directories(dir2);
    fs::copy_file(fixture_patch(2), dir1 / fixture_patch(2).filename());
    fs::copy_file(fixture_patch(1), dir2 / fixture_patch(1).filename());
    fs::copy_file(fixture_patch(3), dir2 / fixture_patch(3).filename());
    write_file(dir2 / "README.txt", "not a patch\n");

    Response r = h.post("/v1/upload_dir?dir0=" + dir1.string() + "&dir1=" + dir2.string());
    INFO(r.text);
    CHECK(r.status == 200);
    CHECK(r.error().empty());
    // Imported in sorted order over both directories.
    CHECK(r.info() == "FIX_22.12_PATCH_0002 is now available\nFIX_22.12_PATCH_0001 is now available\n"
                      "FIX_22.12_PATCH_0003 is now available\n");
    CHECK(h.query().size() == 3);
    // The controller reads the files in place and leaves them there.
    CHECK(fs::exists(dir1 / fixture_patch(2).filename()));
    CHECK(list_files(h.tmp_dir()).empty());

    SECTION("an empty directory") {
        fs::create_directories(h.work_dir() / "empty");
        Response e = h.post("/v1/upload_dir?dir0=" + (h.work_dir() / "empty").string());
        CHECK(e.status == 200);
        CHECK(e.info() == "No patches found\n");
    }
    SECTION("directories outside the import roots, named or through a link or ..") {
        // The harness's import_roots is its work directory.
        const std::string expected_tail = " is outside the controller's import roots (" + h.work_dir().string() +
                                          "): upload_dir reads only those; copy the patches there or use upload\n";
        fs::path outside = h.root() / "outside";
        fs::create_directories(outside);
        fs::copy_file(fixture_patch(3), outside / fixture_patch(3).filename());
        fs::create_symlink(outside, h.work_dir() / "link");
        for (const std::string& dir : {outside.string(), (h.work_dir() / "link").string(),
                                       (h.work_dir() / ".." / "outside").string(), std::string("/etc")}) {
            Response r = h.post("/v1/upload_dir?dir0=" + dir);
            INFO(r.text);
            CHECK(r.status == 400);
            CHECK(r.error() == "Directory " + dir + expected_tail);
        }
        // A link inside a root that leads out is not followed either.
        fs::path inside = h.work_dir() / "inside";
        fs::create_directories(inside);
        fs::create_symlink(outside / fixture_patch(3).filename(), inside / fixture_patch(3).filename());
        Response linked = h.post("/v1/upload_dir?dir0=" + inside.string());
        CHECK(linked.info() == "No patches found\n");
    }
    SECTION("a relative or missing directory") {
        Response rel = h.post("/v1/upload_dir?dir0=work/drop1");
        CHECK(rel.status == 400);
        CHECK(rel.error().rfind("Not an absolute directory path on the controller: work/drop1", 0) == 0);
        Response missing = h.post("/v1/upload_dir?dir0=" + (h.work_dir() / "nothing").string());
        CHECK(missing.status == 400);
    }
    SECTION("good and bad patches together") {
        fs::path dir3 = h.work_dir() / "drop3";
        fs::create_directories(dir3);
        fs::copy_file(fixtures_dir() / "bad" / "bad-md5.patch", dir3 / "bad-md5.patch");
        fs::path extra = h.build({.id = "EXTRA_22.12_PATCH_0001", .rpms = {{"", fixture_rpm("fixture-beta-1.0-2")}}});
        REQUIRE(h.post("/v1/delete/" + fixture_id(1)).status == 200);  // frees beta-1.0-2
        fs::copy_file(extra, dir3 / extra.filename());
        Response mixed = h.post("/v1/upload_dir?dir0=" + dir3.string());
        INFO(mixed.text);
        CHECK(mixed.status == 422);
        CHECK(mixed.info() == "EXTRA_22.12_PATCH_0001 is now available\n");
        CHECK(mixed.error().rfind("Patch validation failed for bad-md5:\n", 0) == 0);
        CHECK(h.query().contains("EXTRA_22.12_PATCH_0001"));
        CHECK_FALSE(h.query().contains("bad-md5"));
    }
}

TEST_CASE("A re-upload of a re-signed patch updates its status", "[controller][e2e]") {
    ControllerHarness h;
    const std::string id = "MOD_22.12_PATCH_0001";
    fs::path p = h.build({.id = id, .status = "DEV", .rpms = {{"worker", fixture_rpm("fixture-delta-1.0-1")}}});
    REQUIRE(h.upload(p).status == 200);
    REQUIRE(h.post("/v1/apply/" + id).status == 200);
    CHECK(h.query().at(id).at("status") == "DEV");

    // What modify_patch --released does: same software, new metadata, new signature.
    std::string out;
    REQUIRE(run_command((binary_dir() / "patch_build" / "patch-build").string() + " modify --released --sign-key " +
                            (fixtures_dir() / "keys" / "fixture-signing-key.pem").string() + " --trust-dir " +
                            h.trust_dir().string() + " --file " + p.string(),
                        &out) == 0);
    Response r = h.upload(p);
    INFO(out << r.text);
    CHECK(r.status == 200);
    CHECK(r.info() == id + " is already imported. Updated metadata only\n");
    json meta = h.query().at(id);
    CHECK(meta.at("status") == "REL");
    CHECK(meta.at("repostate") == "Applied");
    CHECK(read_file(h.state_dir() / "metadata/applied" / (id + "-metadata.xml")).find("<status>REL</status>") !=
          std::string::npos);
    h.restart();
    CHECK(h.query().at(id) == meta);
    // Now that every patch is REL, it can be committed.
    CHECK(h.post("/v1/commit/" + id).info() == "The patches have been committed.\n");
}

TEST_CASE("A re-upload cannot move a patch to another release", "[controller][e2e]") {
    ControllerHarness h;
    REQUIRE(h.post("/v1/init_release/99.99").status == 200);
    REQUIRE(h.upload(fixture_patch(1)).status == 200);
    // Same ID and RPMs, signed metadata for release 99.99.
    fs::path moved = h.build({.id = fixture_id(1),
                              .release = "99.99",
                              .status = "DEV",
                              .rpms = {{"controller", fixture_rpm("fixture-alpha-1.0-2")},
                                       {"all-nodes", fixture_rpm("fixture-beta-1.0-2")}}});
    Response r = h.upload(moved);
    INFO(r.text);
    CHECK(r.status == 409);
    CHECK(r.error().rfind("Contents of FIX_22.12_PATCH_0001 do not match re-imported patch", 0) == 0);
    CHECK(h.query().at(fixture_id(1)).at("sw_version") == "22.12");

    // The patch still works where it was, also after a restart (its RPMs are not orphans).
    h.restart();
    CHECK(list_files(h.packages_dir()) ==
          std::vector<std::string>{"fixture-alpha-1.0-2.noarch.rpm", "fixture-beta-1.0-2.noarch.rpm"});
    Response apply = h.post("/v1/apply/" + fixture_id(1));
    INFO(apply.text);
    CHECK(apply.status == 200);
    CHECK(apply.error().empty());
    CHECK(fs::exists(h.release_repo() / "Packages/noarch/fixture-alpha-1.0-2.noarch.rpm"));
    CHECK(list_files(h.release_repo("99.99") / "Packages").empty());
}
