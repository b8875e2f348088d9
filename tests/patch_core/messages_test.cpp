// SPDX-License-Identifier: Apache-2.0
// The agent protocol's shared rules: MAC constructions, the replay window, strict parsers.
#include <catch2/catch.hpp>

#include <patch_core/messages.hpp>

#include <nlohmann/json.hpp>

#include <string>

namespace proto = patching::core::protocol;

namespace {
nlohmann::json json_of(const std::string& text) {
    return nlohmann::json::parse(text);
}
}  // namespace

TEST_CASE("the replay window accepts each sequence number once, out of order within 64", "[protocol]") {
    proto::ReplayWindow w;
    CHECK_FALSE(w.accept(0));
    CHECK(w.accept(1));
    CHECK_FALSE(w.accept(1));
    CHECK(w.accept(5));
    CHECK(w.accept(3));  // a report overtaken by a poll on another connection
    CHECK_FALSE(w.accept(3));
    CHECK(w.accept(2));
    CHECK(w.accept(100));
    CHECK_FALSE(w.accept(36));  // 64 behind: too old to tell whether it was seen
    CHECK(w.accept(37));
    CHECK_FALSE(w.accept(37));
    CHECK(w.accept(1000));
    CHECK_FALSE(w.accept(100));
    CHECK(w.highest() == 1000);
}

TEST_CASE("MACs bind key, session, method, path, sequence number and body", "[protocol]") {
    const std::string key(32, 'k');
    const std::string base = proto::request_mac(key, "POST", "/v1/agent/report", 7, "{}");
    CHECK(base.size() == 32);
    CHECK(proto::mac_equal(base, proto::request_mac(key, "POST", "/v1/agent/report", 7, "{}")));
    CHECK_FALSE(proto::mac_equal(base, proto::request_mac(std::string(32, 'x'), "POST", "/v1/agent/report", 7, "{}")));
    CHECK_FALSE(proto::mac_equal(base, proto::request_mac(key, "GET", "/v1/agent/report", 7, "{}")));
    CHECK_FALSE(proto::mac_equal(base, proto::request_mac(key, "POST", "/v1/agent/poll", 7, "{}")));
    CHECK_FALSE(proto::mac_equal(base, proto::request_mac(key, "POST", "/v1/agent/report", 8, "{}")));
    CHECK_FALSE(proto::mac_equal(base, proto::request_mac(key, "POST", "/v1/agent/report", 7, "{ }")));
    // A response answers one request: its MAC covers the request's sequence number and status.
    const std::string resp = proto::response_mac(key, 7, 200, "{}");
    CHECK_FALSE(proto::mac_equal(resp, proto::response_mac(key, 8, 200, "{}")));
    CHECK_FALSE(proto::mac_equal(resp, proto::response_mac(key, 7, 401, "{}")));
    // Session keys differ per session and per nonce.
    const std::string host_key(32, 'h');
    const std::string s1 = proto::session_key(host_key, "s1", "c", "n");
    CHECK_FALSE(proto::mac_equal(s1, proto::session_key(host_key, "s2", "c", "n")));
    CHECK_FALSE(proto::mac_equal(s1, proto::session_key(host_key, "s1", "c", "m")));
    CHECK_FALSE(proto::mac_equal(proto::hello_mac(host_key, "a", "n"), proto::hello_mac(host_key, "b", "n")));
}

TEST_CASE("hex round trip and bounds", "[protocol]") {
    const std::string raw("\x00\x01\xfe\xff", 4);
    CHECK(proto::to_hex(raw) == "0001feff");
    CHECK(proto::from_hex("0001FEff", 4) == raw);
    CHECK_THROWS_AS(proto::from_hex("abc", 4), proto::ProtocolError);
    CHECK_THROWS_AS(proto::from_hex("zz", 4), proto::ProtocolError);
    CHECK_THROWS_AS(proto::from_hex("0011223344", 4), proto::ProtocolError);
}

TEST_CASE("host names follow RFC 1123 and cannot smuggle anything", "[protocol]") {
    CHECK(proto::is_valid_hostname("controller-0"));
    CHECK(proto::is_valid_hostname("compute-12.lab.example"));
    CHECK_FALSE(proto::is_valid_hostname(""));
    CHECK_FALSE(proto::is_valid_hostname("-x"));
    CHECK_FALSE(proto::is_valid_hostname("a b"));
    CHECK_FALSE(proto::is_valid_hostname("a/b"));
    CHECK_FALSE(proto::is_valid_hostname("a\nb"));
    CHECK_FALSE(proto::is_valid_hostname(std::string(254, 'a')));
}

TEST_CASE("a report survives the round trip", "[protocol]") {
    proto::AgentReport r;
    r.hostname = "worker-1";
    r.report_id = "abc-1";
    r.op_counter = 42;
    r.sw_version = "22.12";
    r.personality = "worker";
    r.subfunctions = {"worker"};
    r.nodetype = "worker";
    r.state = proto::HostState::INSTALL_FAILED;
    r.out_of_date = true;
    r.requires_reboot = true;
    r.patch_failed = true;
    r.failure_reason = "the agent stopped during an install";
    r.installed = {{"alpha", "1.0-1@noarch"}};
    r.to_remove = {"gamma"};
    r.missing_pkgs = {"delta"};
    r.duplicated_pkgs["beta"]["noarch"] = {"1.0-1@noarch", "1.0-2@noarch"};
    r.command = proto::CommandReport{"r1", proto::CommandKind::INSTALL, proto::CommandStatus::FAILED, "why", "", 3, 10};
    const proto::AgentReport back = proto::parse_agent_report(proto::to_json(r));
    CHECK(back.hostname == r.hostname);
    CHECK(back.op_counter == 42);
    CHECK(back.state == r.state);
    CHECK(back.installed == r.installed);
    CHECK(back.to_remove == r.to_remove);
    CHECK(back.missing_pkgs == r.missing_pkgs);
    CHECK(back.duplicated_pkgs == r.duplicated_pkgs);
    REQUIRE(back.command);
    CHECK(back.command->status == proto::CommandStatus::FAILED);
    CHECK(back.command->total == 10);
    CHECK(json_of(proto::to_json(r))["state"] == "install-failed");
    CHECK(json_of(proto::to_json(r))["command"]["status"] == "failed");
}

TEST_CASE("the protocol's words keep their wire spellings", "[protocol]") {
    using proto::CommandKind;
    using proto::CommandStatus;
    using proto::HostState;
    const std::vector<std::pair<HostState, std::string>> states{{HostState::IDLE, "idle"},
                                                                {HostState::INSTALLING, "installing"},
                                                                {HostState::INSTALL_FAILED, "install-failed"},
                                                                {HostState::INSTALL_REJECTED, "install-rejected"},
                                                                {HostState::UNKNOWN, "unknown"}};
    for (const auto& [state, word] : states) {
        CHECK(proto::to_string(state) == word);
        CHECK(proto::parse_host_state(word) == state);
    }
    const std::vector<std::pair<CommandStatus, std::string>> statuses{
        {CommandStatus::QUEUED, "queued"}, {CommandStatus::SENT, "sent"},     {CommandStatus::RUNNING, "running"},
        {CommandStatus::OK, "ok"},         {CommandStatus::FAILED, "failed"}, {CommandStatus::REJECTED, "rejected"}};
    for (const auto& [status, word] : statuses) {
        CHECK(proto::to_string(status) == word);
        CHECK(proto::parse_command_status(word) == status);
    }
    CHECK(proto::is_finished(CommandStatus::OK));
    CHECK_FALSE(proto::is_finished(CommandStatus::SENT));
    CHECK(proto::parse_command_kind("install") == CommandKind::INSTALL);
    CHECK(proto::parse_command_kind("reboot") == CommandKind::REBOOT);
    CHECK_FALSE(proto::parse_command_kind("format-disk"));
    CHECK_FALSE(proto::parse_host_state("Idle"));

    proto::PollReply reply;
    reply.command = proto::Command{"7-abcd", CommandKind::INSTALL, true};
    const proto::PollReply back = proto::parse_poll_reply(proto::to_json(reply));
    REQUIRE(back.command);
    CHECK(back.command->id == "7-abcd");
    CHECK(back.command->force);
    auto wire = json_of(proto::to_json(reply));
    wire["command"]["kind"] = "format-disk";
    CHECK_THROWS_WITH(proto::parse_poll_reply(wire.dump()), Catch::Contains("command.kind"));

    // An agent reports running or an outcome, never the controller's own statuses.
    proto::AgentReport r;
    r.hostname = "h";
    r.report_id = "1";
    r.sw_version = "1.0";
    r.command = proto::CommandReport{"1-a", CommandKind::INSTALL, CommandStatus::QUEUED, "", "", 0, 0};
    CHECK_THROWS_WITH(proto::parse_agent_report(proto::to_json(r)), Catch::Contains("command.status"));
    r.state = HostState::UNKNOWN;
    r.command.reset();
    CHECK_THROWS_WITH(proto::parse_agent_report(proto::to_json(r)), Catch::Contains("state"));
}

TEST_CASE("a message of protocol version 1 is refused naming both versions and the host", "[protocol]") {
    const std::string v1_hello =
        R"({"protocol":1,"hostname":"worker-3","client_nonce":"00112233445566778899aabbccddeeff","mac":"00"})";
    try {
        proto::parse_hello_request(v1_hello);
        FAIL("a version 1 hello was accepted");
    } catch (const proto::ProtocolVersionError& e) {
        CHECK(e.peer_version() == 1);
        CHECK(e.peer_hostname() == "worker-3");
        CHECK_THAT(e.what(), Catch::Contains("version 1") && Catch::Contains("version 2") &&
                                 Catch::Contains("upgrade"));
    }
    proto::HelloRequest hello;
    hello.hostname = "h";
    hello.client_nonce = std::string(proto::NONCE_BYTES, 'n');
    hello.mac = std::string(32, 'm');
    hello.boot_id = "5d9c1f0e-1b7a-4c1e-9d3f-0a1b2c3d4e5f";
    CHECK(proto::parse_hello_request(proto::to_json(hello)).boot_id == hello.boot_id);
    auto wire = json_of(proto::to_json(hello));
    wire.erase("boot_id");
    CHECK_THROWS_WITH(proto::parse_hello_request(wire.dump()), Catch::Contains("boot_id"));
}

TEST_CASE("parsers refuse malformed, mistyped, oversized and foreign-version messages", "[protocol]") {
    using nlohmann::json;
    const std::string good = proto::to_json(proto::PollRequest{3, "id", 1000});
    CHECK(proto::parse_poll_request(good).op_counter == 3);
    CHECK_THROWS_WITH(proto::parse_poll_request("{"), Catch::Contains("not valid JSON"));
    CHECK_THROWS_WITH(proto::parse_poll_request("[]"), Catch::Contains("not a JSON object"));
    CHECK_THROWS_WITH(proto::parse_poll_request("{}"), Catch::Contains("no \"protocol\""));
    CHECK_THROWS_WITH(proto::parse_poll_request(R"({"protocol":3})"), Catch::Contains("protocol version 3"));
    CHECK_THROWS_WITH(proto::parse_poll_request(R"({"protocol":2,"op_counter":"x"})"),
                      Catch::Contains("op_counter"));
    CHECK_THROWS_WITH(proto::parse_poll_request(R"({"protocol":2,"op_counter":-1})"),
                      Catch::Contains("non-negative"));
    CHECK_THROWS_WITH(proto::parse_poll_request(R"({"protocol":2,"wait_ms":999999})"), Catch::Contains("wait_ms"));
    CHECK_THROWS_WITH(proto::parse_poll_request(std::string(proto::MAX_SMALL_MESSAGE + 1, ' ')),
                      Catch::Contains("limit"));
    json report = json::parse(proto::to_json(proto::AgentReport{}));
    report["hostname"] = "h";
    report["report_id"] = "1";
    report["sw_version"] = "1.0";
    CHECK(proto::parse_agent_report(report.dump()).hostname == "h");
    report["state"] = "exploded";
    CHECK_THROWS_WITH(proto::parse_agent_report(report.dump()), Catch::Contains("state"));
    report["state"] = "idle";
    report["hostname"] = "../etc";
    CHECK_THROWS_WITH(proto::parse_agent_report(report.dump()), Catch::Contains("host name"));
    report["hostname"] = "h";
    report["installed"] = json::array();
    CHECK_THROWS_WITH(proto::parse_agent_report(report.dump()), Catch::Contains("installed"));
    report["installed"] = json::object();
    report["to_remove"] = json::array({1, 2});
    CHECK_THROWS_WITH(proto::parse_agent_report(report.dump()), Catch::Contains("to_remove"));
    CHECK_THROWS_WITH(proto::parse_hello_request(R"({"protocol":2,"hostname":"h","client_nonce":"00","mac":"00"})"),
                      Catch::Contains("client_nonce"));
}

TEST_CASE("The host lifecycle's words: lock, unlock, hook phases, exit codes, output and health", "[protocol]") {
    using proto::CommandKind;
    using proto::CommandStatus;
    for (const auto& [kind, word] : {std::pair{CommandKind::LOCK, "lock"}, std::pair{CommandKind::UNLOCK, "unlock"},
                                     std::pair{CommandKind::HOOK, "hook"}}) {
        CHECK(proto::to_string(kind) == word);
        CHECK(proto::parse_command_kind(word) == kind);
    }
    for (const char* phase :
         {"precheck", "pre-lock", "post-install", "post-reboot", "post-unlock", "postcheck", "health"}) {
        CHECK(proto::is_hook_phase(phase));
    }
    CHECK_FALSE(proto::is_hook_phase("../../bin/sh"));

    proto::PollReply reply;
    reply.command = proto::Command{"w.prelock.0", CommandKind::HOOK, false, "pre-lock"};
    CHECK(proto::parse_poll_reply(proto::to_json(reply)).command->hook == "pre-lock");
    // The controller names a phase; anything else is refused.
    reply.command->hook = "/tmp/evil";
    CHECK_THROWS_WITH(proto::parse_poll_reply(proto::to_json(reply)), Catch::Contains("command.hook"));

    proto::AgentReport r;
    r.hostname = "h";
    r.report_id = "1";
    r.sw_version = "1.0";
    r.health = "failing";
    r.health_output = "disk full";
    r.command = proto::CommandReport{"w.postcheck.0", CommandKind::HOOK, CommandStatus::FAILED, "exit 3"};
    r.command->exit_code = 3;
    r.command->output = "not ready\n";
    const proto::AgentReport back = proto::parse_agent_report(proto::to_json(r));
    CHECK(back.health == "failing");
    CHECK(back.health_output == "disk full");
    CHECK(back.command->exit_code == 3);
    CHECK(back.command->output == "not ready\n");
    r.health = "fine";
    CHECK_THROWS_WITH(proto::parse_agent_report(proto::to_json(r)), Catch::Contains("health"));
}
