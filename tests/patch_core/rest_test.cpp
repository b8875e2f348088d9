// SPDX-License-Identifier: Apache-2.0
// REST replies: what the controller writes (to_json) the client reads back (read_*), and the
// readers take the reference controller's looser replies as its own client did.
#include <patch_core/rest.hpp>

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

namespace rest = patching::core::rest;

TEST_CASE("REST replies read back as written", "[core][rest]") {
    rest::PatchEntry e;
    e.repostate = "Applied";
    e.patchstate = "Partial-Apply";
    e.sw_version = "22.12";
    e.reboot_required = "N";
    e.required = {"P0"};
    e.summary = "Sum";
    e.personalities["worker"] = {"a.rpm", "b.rpm"};
    const rest::QueryReply query{{{"P1", e}}};
    const auto read = rest::read_query_reply(rest::to_json(query));
    REQUIRE(read);
    REQUIRE(read->pd.size() == 1);
    const rest::PatchEntry& r = read->pd.at("P1");
    CHECK(r.repostate == "Applied");
    CHECK(r.patchstate == "Partial-Apply");
    CHECK(r.sw_version == "22.12");
    CHECK(r.reboot_required == "N");
    CHECK(r.required == std::vector<std::string>{"P0"});
    CHECK(r.summary == "Sum");
    CHECK_FALSE(r.description);
    CHECK(r.personalities == e.personalities);

    const rest::ShowReply show{{{"P1", e}}, {{"P1", {"a.rpm"}}}, "P9 is unrecognized\n"};
    const rest::ShowReply s = rest::read_show_reply(rest::to_json(show));
    CHECK(s.metadata.at("P1").summary == "Sum");
    CHECK(s.contents == show.contents);
    CHECK(s.error == show.error);

    const auto deps = rest::read_dependencies_reply(rest::to_json(rest::DependenciesReply{{"P1", "P2"}, ""}));
    REQUIRE(deps);
    CHECK(deps->patches == std::vector<std::string>{"P1", "P2"});
    const rest::AppDependenciesReply apps{{"vim", {"P1", "P2"}}};
    CHECK(rest::read_app_dependencies_reply(rest::to_json(apps)) == apps);
    const rest::OpReply op = rest::read_op_reply(rest::to_json(rest::OpReply{"i\n", "w\n", "e\n"}));
    CHECK((op.info == "i\n" && op.warning == "w\n" && op.error == "e\n"));
}

TEST_CASE("REST readers are as lenient as the reference's client", "[core][rest]") {
    // Not JSON, or not the reply's shape: empty, never a throw.
    CHECK(rest::read_op_reply("<html>").error.empty());
    CHECK_FALSE(rest::read_query_reply("{\"info\": \"\"}"));
    CHECK_FALSE(rest::read_hosts_reply("{\"data\": 5}"));
    CHECK_FALSE(rest::read_dependencies_reply("{}"));
    CHECK(rest::read_app_dependencies_reply("[1]").empty());
    CHECK(rest::read_bool_reply("true") == true);
    CHECK_FALSE(rest::read_bool_reply("\"true\""));

    // A missing reboot_required is "Y" in the query table, absent (no RR line) in show.
    CHECK(rest::read_query_reply(R"({"pd": {"P1": {}}})")->pd.at("P1").reboot_required == "Y");
    CHECK(rest::read_show_reply(R"({"metadata": {"P1": {}}})").metadata.at("P1").reboot_required.empty());
    // Text fields holding other values read as their JSON text; null as "".
    const auto pd = rest::read_query_reply(R"({"pd": {"P1": {"sw_version": 22.12, "patchstate": null}}})")->pd;
    CHECK(pd.at("P1").sw_version == "22.12");
    CHECK(pd.at("P1").patchstate.empty());
    CHECK(rest::read_app_dependencies_reply(R"({"vim": "P1"})").at("vim") == std::vector<std::string>{"P1"});

    // Hosts: flags by truthiness, interim_state and install_pending only when true.
    const auto hosts = rest::read_hosts_reply(
        R"({"data": [{"hostname": "h", "patch_current": 1, "requires_reboot": "", "interim_state": 1,
                      "install_pending": true, "state": null}, 7]})");
    REQUIRE(hosts);
    REQUIRE(hosts->data.size() == 2);
    const rest::HostEntry& h = hosts->data[0];
    CHECK(h.hostname == "h");
    CHECK(h.patch_current);
    CHECK_FALSE(h.requires_reboot);
    CHECK_FALSE(h.interim_state);
    CHECK(h.install_pending);
    CHECK_FALSE(h.state);
    CHECK(hosts->data[1].hostname.empty());  // not an object: an empty host, as the reference's table shows it
}

TEST_CASE("query_hosts entries are written from HostEntry in three parts", "[rest]") {
    rest::HostEntry h;
    h.hostname = "worker-0";
    h.ip = "192.0.2.7";
    h.sw_version = "22.12";
    h.state = "installing";
    h.install_pending = true;
    h.secs_since_ack = 3;
    h.nodetype = "worker";
    h.subfunctions = {"worker"};
    CHECK(rest::host_live_members(h) ==
          R"("allow_insvc_patching":false,"install_pending":true,"install_reject_reason":"","install_status":"",)"
          R"("interim_state":false,"ip":"192.0.2.7","patch_current":false,"patch_failed":false,)"
          R"("requires_reboot":false,"secs_since_ack":3,"stale":false,"stale_details":false,"state":"installing")");
    // Not reported yet: identity only, empty lists.
    CHECK(rest::host_report_members(h) ==
          R"("hostname":"worker-0","nodetype":"worker","subfunctions":["worker"],"sw_version":"22.12")");
    CHECK(rest::host_package_members(h) ==
          R"("duplicated_pkgs":{},"installed":{},"missing_pkgs":[],"to_remove":[])");

    h.agent = rest::HostAgentEntry{"worker", true, "", "r7", "0.1.0", rest::InstallProgressEntry{"download", 2, 5}};
    h.failure_reason = "why";
    h.packages = rest::HostPackagesEntry{{{"alpha", "1.0-1@noarch"}}, {"gamma"}, {}, {}};
    const std::string entry = "{" + rest::host_live_members(h) + "," + rest::host_report_members(h) + "," +
                              rest::host_package_members(h) + "}";
    const auto back = rest::read_hosts_reply("{\"data\": [" + entry + "]}");
    REQUIRE(back);
    REQUIRE(back->data.size() == 1);
    CHECK(back->data[0].hostname == "worker-0");
    CHECK(back->data[0].state == "installing");
    CHECK(back->data[0].install_pending);
    CHECK(back->data[0].failure_reason == "why");
    const auto j = nlohmann::json::parse(entry);
    CHECK(j["install_progress"]["total"] == 5);
    CHECK(j["locked"] == true);
    CHECK(j["installed"]["alpha"] == "1.0-1@noarch");
    CHECK(j["to_remove"] == nlohmann::json::array({"gamma"}));
}
