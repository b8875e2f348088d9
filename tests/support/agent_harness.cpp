// SPDX-License-Identifier: Apache-2.0
#include "support/agent_harness.hpp"

#include <common/ini.hpp>
#include <common/subprocess.hpp>

#include <patch_core/messages.hpp>
#include <patch_core/rpm/transaction.hpp>

#include "support/rpm_factory.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace patching::test {

namespace fs = std::filesystem;
namespace proto = core::protocol;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

fs::path agent_binary() {
    return binary_dir() / "patch_agent" / "patch-agent";
}

// waitpid with a deadline: the status (128+signal if killed), or nullopt on timeout.
// Random bytes for nonces and tokens (tests only: std::random_device is good enough here).
std::string random_bytes(std::size_t n) {
    static std::random_device device;
    std::string out(n, '\0');
    for (auto& c : out) {
        c = static_cast<char>(device() & 0xffU);
    }
    return out;
}

}  // namespace

// ------------------------------------------------------------------------------------------
// Controller set-up

ControllerHarness::Options agent_controller_options() {
    ControllerHarness::Options o;
    o.start = false;
    o.extra_config = {
        "agent_poll_seconds = " + std::to_string(E2E_AGENT_POLL_SECONDS),
        "agent_stale_seconds = " + std::to_string(E2E_AGENT_STALE_SECONDS),
    };
    return o;
}

fs::path enrolment_token_path(const ControllerHarness& controller) {
    return controller.root() / "enrolment.token";
}

std::string write_enrolment_token(const ControllerHarness& controller) {
    const std::string token = proto::to_hex(random_bytes(24));
    write_file(enrolment_token_path(controller), token + "\n");
    fs::permissions(
        enrolment_token_path(controller), fs::perms::owner_read | fs::perms::owner_write);
    // The controller's configuration gains the key once; ControllerHarness wrote it already.
    const std::string line =
        "enrolment_token_file = " + enrolment_token_path(controller).string() + "\n";
    std::string config = read_file(controller.config_file());
    if (config.find(line) == std::string::npos) {
        write_file(controller.config_file(), config + line);
    }
    return token;
}

void add_to_feed(
    const ControllerHarness& controller,
    const std::vector<fs::path>& rpms,
    const std::string& release) {
    const fs::path packages = controller.feed_dir() / ("rel-" + release) / "Packages";
    fs::create_directories(packages);
    for (const auto& rpm : rpms) {
        fs::copy_file(rpm, packages / rpm.filename(), fs::copy_options::overwrite_existing);
    }
}

// ------------------------------------------------------------------------------------------
// AgentHarness

AgentHarness::AgentHarness(const ControllerHarness& controller, fs::path dir, AgentOptions options)
    : controller_(controller), dir_(std::move(dir)), options_(std::move(options)) {
    fs::create_directories(root());
    fs::create_directories(state_dir());
}

AgentHarness::~AgentHarness() {
    try {
        if (process_.running()) {
            process_.signal_group(SIGCONT);  // a frozen agent cannot take SIGTERM
        }
        stop();
    } catch (...) {
        process_.kill();
    }
}

fs::path AgentHarness::credentials_file() const {
    return options_.credentials_file.value_or(state_dir() / "credentials");
}

fs::path AgentHarness::in_root(const std::string& absolute) const {
    return root() / fs::path(absolute).relative_path();
}

std::string AgentHarness::log() const {
    try {
        return read_file(log_file());
    } catch (const std::exception&) {
        return {};
    }
}

bool AgentHarness::prepare_root(const std::vector<fs::path>& base_rpms, const fs::path& work) {
    if (!prepare_scriptlet_root(root(), work)) {
        return false;
    }
    fs::create_directories(root() / "run");
    if (!base_rpms.empty()) {
        rpm::Transaction tx(root());
        for (const auto& rpm : base_rpms) {
            tx.add_install(rpm);
        }
        const rpm::TransactionResult result = tx.run();
        std::string problems;
        for (const auto& p : result.problems) {
            problems += p + "\n";
        }
        INFO("installing the base packages into " << root() << ":\n" << problems);
        REQUIRE(result.ok);
    }
    return true;
}

void AgentHarness::write_config() const {
    std::string text = "[agent]\n";
    text += "hostname = " + options_.hostname + "\n";
    text += "personality = " + options_.personality + "\n";
    text += "sw_version = " + options_.sw_version + "\n";
    text += "controller_url = http://127.0.0.1:" + std::to_string(controller_.port()) + "\n";
    text += "root = " + root().string() + "\n";
    text += "state_dir = " + state_dir().string() + "\n";
    if (options_.credentials_file) {
        text += "credentials_file = " + options_.credentials_file->string() + "\n";
    }
    if (options_.self_enrol) {
        text += "enrolment_token_file = " + enrolment_token_path(controller_).string() + "\n";
    }
    text += "poll_wait_seconds = " + std::to_string(E2E_AGENT_POLL_SECONDS) + "\n";
    text += "prefetch_spread_seconds = 0\n";  // prefetch at once: tests wait for it
    // Its own textfile directory (never the machine's node exporter's).
    std::filesystem::create_directories(metrics_file().parent_path());
    text += "metrics_textfile_dir = " + metrics_file().parent_path().string() + "\n";
    for (const auto& line : options_.extra_config) {
        text += line + "\n";
    }
    write_file(config_file(), text);
}

void AgentHarness::start() {
    if (process_.running()) {
        throw std::runtime_error("agent " + options_.hostname + " is already running");
    }
    write_config();
    common::subprocess::Options options;
    options.argv = {agent_binary().string(), "--config", config_file().string()};
    options.output = common::subprocess::Output::FILE;
    options.output_file = log_file();
    options.new_process_group = true;  // kill9() takes the scriptlets the agent runs with it
    process_ = common::subprocess::Child::spawn(options);
    // A bad configuration makes it exit at once; say so here rather than as a timeout later.
    if (auto status = process_.wait_for(100ms)) {
        throw std::runtime_error(
            "patch-agent " + options_.hostname + " exited with status " + std::to_string(status->code()) +
            " at start; log:\n" + log());
    }
}

int AgentHarness::stop() {
    if (!process_.running()) {
        return -1;
    }
    process_.signal(SIGTERM);
    auto status = process_.wait_for(20s);
    if (!status) {
        status = process_.kill();
    }
    process_.signal_group(SIGKILL);  // scriptlets it left behind
    return status->code();
}

void AgentHarness::kill9() {
    if (process_.running()) {
        process_.kill();
    }
}

void AgentHarness::restart() {
    stop();
    start();
}

void AgentHarness::suspend() {
    if (process_.running()) {
        process_.signal_group(SIGSTOP);
    }
}

void AgentHarness::resume() {
    if (process_.running()) {
        process_.signal_group(SIGCONT);
    }
}

void AgentHarness::lock() const {
    fs::create_directories(in_root("/var/run"));
    write_file(in_root("/var/run/.node_locked"), "");
}

void AgentHarness::unlock() const {
    std::error_code ec;
    fs::remove(in_root("/var/run/.node_locked"), ec);
}

std::string AgentHarness::rpm_query(const std::string& name, const std::string& format) const {
    std::string output;
    run_command(
        "rpm --root " + shell_quote(root().string()) + " -q --qf " + shell_quote(format + "\\n") +
            " " + shell_quote(name),
        &output);
    return trim(output);
}

// ------------------------------------------------------------------------------------------
// Waiting on the controller

json query_hosts(const ControllerHarness& controller) {
    const Response r = controller.get("/v1/query_hosts");
    if (r.status != 200 || !r.body.is_object() || !r.body.contains("data") ||
        !r.body["data"].is_array()) {
        throw std::runtime_error(
            "query_hosts failed: HTTP " + std::to_string(r.status) + " " + r.transport_error + " " +
            r.text);
    }
    return r.body["data"];
}

json host_entry(const ControllerHarness& controller, const std::string& hostname) {
    for (const auto& host : query_hosts(controller)) {
        if (host.value("hostname", "") == hostname) {
            return host;
        }
    }
    return nullptr;
}

std::string patch_state(const ControllerHarness& controller, const std::string& patch_id) {
    const json pd = controller.query();
    if (!pd.contains(patch_id)) {
        return {};
    }
    return pd[patch_id].value("patchstate", "");
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) {
            return true;
        }
        std::this_thread::sleep_for(20ms);
    }
    return condition();
}

json wait_for_host(
    const ControllerHarness& controller,
    const std::string& hostname,
    const std::string& what,
    const std::function<bool(const json&)>& condition,
    std::chrono::milliseconds timeout) {
    const auto started = std::chrono::steady_clock::now();
    const auto deadline = started + timeout;
    json last;
    while (true) {
        last = host_entry(controller, hostname);
        if (!last.is_null() && condition(last)) {
            return last;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            break;
        }
        std::this_thread::sleep_for(50ms);
    }
    throw std::runtime_error(
        "host " + hostname + ": timed out after " +
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()) +
        " ms waiting for: " + what + "\nlast query_hosts entry: " + last.dump(2));
}

json wait_for_host_settled(
    const ControllerHarness& controller,
    const std::string& hostname,
    bool current,
    std::chrono::milliseconds timeout) {
    return wait_for_host(
        controller, hostname,
        std::string("reported, settled and patch_current ") + (current ? "true" : "false"),
        [current](const json& h) {
            return !h.value("stale", false) && !h.value("interim_state", true) &&
                   !h.value("install_pending", true) && h.value("state", "") != "installing" &&
                   h.value("patch_current", !current) == current;
        },
        timeout);
}

void wait_for_patch_state(
    const ControllerHarness& controller,
    const std::string& patch_id,
    const std::string& state,
    std::chrono::milliseconds timeout) {
    std::string last;
    if (!eventually(
            [&] {
                last = patch_state(controller, patch_id);
                return last == state;
            },
            timeout)) {
        throw std::runtime_error(
            "patch " + patch_id + ": timed out waiting for patch state " + state + " (it is \"" +
            last + "\"); hosts: " + query_hosts(controller).dump(2));
    }
}

// ------------------------------------------------------------------------------------------
// Commands

CommandResult run_sw_patch(const ControllerHarness& controller, const std::string& args) {
    // An empty configuration file, so nothing from /etc/patching or the environment is used.
    const fs::path config = controller.root() / "sw-patch.conf";
    if (!fs::exists(config)) {
        write_file(config, "");
    }
    // Bounded, so a host-install that would wait forever fails the test instead of hanging it.
    const std::string command =
        "timeout -k 5 90 env -u SW_PATCH_TOKEN_FILE -u SW_PATCH_POLL_INTERVAL SW_PATCH_CONFIG=" +
        shell_quote(config.string()) +
        " SW_PATCH_CONTROLLER=http://127.0.0.1:" + std::to_string(controller.port()) +
        " SW_PATCH_TOKEN=" + shell_quote(controller.admin_token()) + " " +
        shell_quote((binary_dir() / "sw_patch" / "sw-patch").string()) + " " + args + " </dev/null";
    CommandResult r;
    r.status = run_command(command, &r.output);
    return r;
}

CommandResult run_patch_controller(const ControllerHarness& controller, const std::string& args) {
    CommandResult r;
    r.status = run_command(
        shell_quote((binary_dir() / "patch_controller" / "patch-controller").string()) +
            " --config " + shell_quote(controller.config_file().string()) + " " + args +
            " </dev/null",
        &r.output);
    return r;
}

std::string table_row(const std::string& table, const std::string& hostname) {
    std::istringstream in(table);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(hostname + " ", 0) == 0) {
            return line;
        }
    }
    return {};
}

// ------------------------------------------------------------------------------------------
// ProtocolClient

ProtocolClient::ProtocolClient(
    const ControllerHarness& controller, const fs::path& credentials_file)
    : controller_(controller) {
    std::string host_key;
    common::ini::Schema schema;
    schema.section("").text("hostname", hostname_).text("host_key", host_key);
    schema.load(credentials_file);
    host_key_ = proto::from_hex(host_key, proto::HOST_KEY_BYTES);
    if (hostname_.empty() || host_key_.size() != proto::HOST_KEY_BYTES) {
        throw std::runtime_error(credentials_file.string() + " is not a credentials file");
    }
}

ProtocolClient::ProtocolClient(
    const ControllerHarness& controller, std::string hostname, std::string host_key)
    : controller_(controller), hostname_(std::move(hostname)), host_key_(std::move(host_key)) {}

Response ProtocolClient::hello() {
    proto::HelloRequest request;
    request.hostname = hostname_;
    request.client_nonce = random_bytes(proto::NONCE_BYTES);
    request.mac = proto::hello_mac(host_key_, request.hostname, request.client_nonce);
    Response r = controller_.request(
        "POST", std::string(proto::PATH_HELLO), "",
        Body::text(proto::to_json(request), "application/json"));
    if (r.status != 200) {
        return r;
    }
    const proto::HelloReply reply = proto::parse_hello_reply(r.text);
    if (!proto::mac_equal(
            reply.mac,
            proto::hello_reply_mac(
                host_key_, hostname_, request.client_nonce, reply.session, reply.server_nonce))) {
        throw std::runtime_error("the hello reply is not signed with " + hostname_ + "'s key");
    }
    session_id_ = proto::to_hex(reply.session);
    session_key_ =
        proto::session_key(host_key_, reply.session, request.client_nonce, reply.server_nonce);
    next_seq_ = 1;
    return r;
}

Response ProtocolClient::send(
    const std::string& path,
    const std::string& body,
    std::uint64_t seq,
    const std::string& mac_hex) {
    next_seq_ = std::max(next_seq_, seq + 1);
    RequestOptions options;
    options.timeout_seconds = 30;
    options.headers = {
        std::string(proto::HEADER_SESSION) + ": " + session_id_,
        std::string(proto::HEADER_SEQ) + ": " + std::to_string(seq),
        std::string(proto::HEADER_MAC) + ": " +
            (mac_hex.empty()
                 ? proto::to_hex(proto::request_mac(session_key_, "POST", path, seq, body))
                 : mac_hex),
    };
    return controller_.request("POST", path, "", Body::text(body, "application/json"), options);
}

std::string ProtocolClient::report_body(
    const std::string& hostname, const std::string& state) const {
    proto::AgentReport report;
    report.hostname = hostname.empty() ? hostname_ : hostname;
    report.report_id = "forged-" + proto::to_hex(random_bytes(4));
    report.sw_version = "22.12";
    report.personality = "controller";
    report.subfunctions = {"controller"};
    report.nodetype = "controller";
    report.state = proto::parse_host_state(state).value_or(proto::HostState::IDLE);
    report.out_of_date = true;
    report.patch_failed = true;
    report.failure_reason = "forged by " + hostname_;
    return proto::to_json(report);
}

}  // namespace patching::test
