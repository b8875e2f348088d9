// SPDX-License-Identifier: Apache-2.0
#include "fleet.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <patch_core/errors.hpp>
#include <patch_core/messages.hpp>
#include <signing/mac.hpp>

#include "installer/plan.hpp"
#include "repo/repo_index.hpp"
#define ZLIB_CONST
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace patching::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace proto = core::protocol;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Headers = std::vector<std::pair<std::string, std::string>>;

namespace {

double epoch_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string gunzip(std::string_view data) {
    z_stream z{};
    if (inflateInit2(&z, MAX_WBITS + 16) != Z_OK) {
        throw core::Error("zlib: inflateInit2 failed");
    }
    std::string out;
    char chunk[65536];
    z.next_in = reinterpret_cast<const Bytef*>(data.data());
    z.avail_in = static_cast<uInt>(data.size());
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        z.next_out = reinterpret_cast<Bytef*>(chunk);
        z.avail_out = sizeof chunk;
        rc = inflate(&z, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            inflateEnd(&z);
            throw core::Error("primary: bad gzip data");
        }
        out.append(chunk, sizeof chunk - z.avail_out);
        if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
            inflateEnd(&z);
            throw core::Error("primary: truncated gzip data");
        }
    }
    inflateEnd(&z);
    return out;
}

/// One keep-alive HTTP connection.
struct Conn {
    explicit Conn(asio::io_context& ioc) : stream(ioc) {}
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    bool open = false;

    void close() {
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream.socket().close(ignored);
        buffer.clear();
        open = false;
    }
};

struct Reply {
    unsigned status = 0;
    std::string body;
    std::string mac;  ///< HEADER_MAC, hex
};

struct SimHost {
    SimHost(asio::io_context& ioc, std::string n) : name(std::move(n)), poll(ioc), work(ioc) {}
    std::string name;
    std::string boot_id = proto::to_hex(signing::random_bytes(6));
    std::string host_key;
    std::string session_hex;
    std::string session_key;
    std::uint64_t next_seq = 1;
    Conn poll;  ///< Long polls only, as the agent's poller thread.
    Conn work;  ///< Enrol, hello, repository fetches and reports, as the agent's worker thread.
    std::uint64_t seen_counter = 0;
    std::optional<std::uint64_t> reported_counter;
    std::string report_id;
    std::uint64_t report_seq = 0;
    std::optional<proto::CommandReport> command;
    bool reporting = false;  ///< A report is on its way on `work` (one at a time per connection).
    // The host lifecycle (FleetOptions::phase_seconds).
    bool locked = false;        ///< Its lock flag.
    bool patched = false;       ///< A simulated install made it current.
    bool needs_reboot = false;  ///< ... and it must reboot.
};

}  // namespace

struct Fleet::Impl {
    explicit Impl(FleetOptions opts)
        : o(std::move(opts)),
          endpoint(asio::ip::make_address(o.address), o.port),
          host_header(o.address + ":" + std::to_string(o.port)),
          base_target("/updates/rel-" + o.release),
          signals(ioc, SIGINT, SIGTERM),
          more_hosts(ioc, SIGUSR1),
          setup_limit(static_cast<std::size_t>(
              o.first_batch > 0 ? std::min(o.first_batch, o.hosts) : o.hosts)) {
        for (int i = 0; i < o.hosts; ++i) {
            char name[64];
            std::snprintf(name, sizeof name, "%s-%05d", o.prefix.c_str(), o.first_index + i);
            hosts.push_back(std::make_unique<SimHost>(ioc, name));
        }
    }

    FleetOptions o;
    asio::io_context ioc{1};
    tcp::endpoint endpoint;
    std::string host_header;
    std::string base_target;
    asio::signal_set signals;
    asio::signal_set more_hosts;
    std::vector<std::unique_ptr<SimHost>> hosts;
    /// primary + group locations -> the plan every (identical) simulated host computes from them.
    std::map<std::string, agent::Plan> plans;

    Clock::time_point started = Clock::now();
    Clock::time_point batch_started = started;
    std::size_t setup_limit;  ///< Hosts to set up in this batch (all of them, or first_batch).
    std::size_t next_setup = 0;
    std::size_t ready = 0;
    std::map<std::uint64_t, std::size_t> at_counter;  ///< counter -> hosts whose report is for it
    std::set<std::uint64_t> announced;
    std::uint64_t newest_news = 0;
    std::vector<double> wave_rtt_ms;
    std::mt19937_64 random{std::random_device{}()};
    int exit_code = 0;
    struct {
        std::uint64_t installs = 0, installs_ok = 0, installs_failed = 0;
        std::uint64_t polls = 0, idle = 0, reports = 0, gets = 0, errors = 0, reconnects = 0,
                      rehellos = 0;
    } stats;

    void line(const char* fmt, auto... args) {
        std::printf(fmt, args...);
        std::fputc('\n', stdout);
        std::fflush(stdout);
    }

    void log_error(const SimHost& h, const std::exception& e) {
        ++stats.errors;
        if (stats.errors <= 20 || stats.errors % 1000 == 0) {
            line(
                "error #%llu %s: %s", static_cast<unsigned long long>(stats.errors), h.name.c_str(),
                e.what());
        }
    }

    awaitable<void> sleep_for(std::chrono::milliseconds d) {
        asio::steady_timer t(ioc, d);
        co_await t.async_wait(use_awaitable);
    }

    // Coroutine parameters are taken by value and co_await operands are never temporaries
    // other than these calls: GCC 12 mishandles temporaries that live across a suspension.
    awaitable<Reply> request(
        Conn& c,
        http::verb verb,
        std::string target,
        std::string body,
        Headers headers,
        std::chrono::milliseconds timeout) {
        for (int attempt = 0;; ++attempt) {
            const bool reused = c.open;
            std::string failure;
            try {
                if (!c.open) {
                    c.stream.expires_after(std::chrono::seconds(10));
                    co_await c.stream.async_connect(endpoint, use_awaitable);
                    c.stream.socket().set_option(tcp::no_delay(true));
                    c.open = true;
                }
                http::request<http::string_body> req{verb, target, 11};
                req.set(http::field::host, host_header);
                req.set(http::field::user_agent, "patch-agent-loadgen");
                for (const auto& [k, v] : headers) {
                    req.set(k, v);
                }
                if (verb == http::verb::post) {
                    req.body() = body;
                    req.prepare_payload();
                }
                c.stream.expires_after(timeout);
                co_await http::async_write(c.stream, req, use_awaitable);
                http::response_parser<http::string_body> parser;
                parser.body_limit(64U << 20U);
                co_await http::async_read(c.stream, c.buffer, parser, use_awaitable);
                auto& res = parser.get();
                Reply r{
                    res.result_int(), std::move(res.body()), std::string(res[proto::HEADER_MAC])};
                if (!res.keep_alive()) {
                    c.close();
                }
                co_return r;
            } catch (const boost::system::system_error& e) {
                failure = e.code().message();
            }
            c.close();
            if (!(reused && attempt == 0)) {
                throw core::Error(target + ": " + failure);
            }
            ++stats.reconnects;  // the server closed an idle keep-alive connection: once more
        }
    }

    awaitable<void> enrol(SimHost& h) {
        Headers headers;
        headers.emplace_back("Authorization", "Bearer " + o.enrolment_token);
        headers.emplace_back("Content-Type", "application/json");
        std::string target(proto::PATH_ENROL);
        std::string body = proto::to_json(proto::EnrolRequest{h.name});
        const Reply r = co_await request(
            h.work, http::verb::post, target, body, headers, std::chrono::seconds(60));
        if (r.status != 200) {
            throw core::Error(
                "enrolment refused (HTTP " + std::to_string(r.status) + "): " + r.body);
        }
        const proto::EnrolReply reply = proto::parse_enrol_reply(r.body);
        if (reply.hostname != h.name || reply.host_key.size() != proto::HOST_KEY_BYTES) {
            throw core::Error("enrolment reply for another host or with a bad key");
        }
        h.host_key = reply.host_key;
    }

    awaitable<void> hello(SimHost& h) {
        proto::HelloRequest req;
        req.hostname = h.name;
        req.client_nonce = signing::random_bytes(proto::NONCE_BYTES);
        req.mac = proto::hello_mac(h.host_key, h.name, req.client_nonce);
        req.boot_id = h.boot_id;  // random per simulated host; a real agent reads the kernel's
        Headers headers;
        headers.emplace_back("Content-Type", "application/json");
        std::string target(proto::PATH_HELLO);
        std::string body = proto::to_json(req);
        const Reply r = co_await request(
            h.work, http::verb::post, target, body, headers, std::chrono::seconds(60));
        if (r.status != 200) {
            throw core::Error("hello refused (HTTP " + std::to_string(r.status) + "): " + r.body);
        }
        const proto::HelloReply reply = proto::parse_hello_reply(r.body);
        if (!proto::mac_equal(
                reply.mac,
                proto::hello_reply_mac(
                    h.host_key, h.name, req.client_nonce, reply.session, reply.server_nonce))) {
            throw core::Error("hello reply not signed with the host key");
        }
        h.session_hex = proto::to_hex(reply.session);
        h.session_key =
            proto::session_key(h.host_key, reply.session, req.client_nonce, reply.server_nonce);
        h.next_seq = 1;
    }

    /// An authenticated POST; says hello first (and again once on a 401). Returns the verified
    /// body.
    awaitable<std::string> call(
        SimHost& h,
        Conn& c,
        std::string path,
        std::string body,
        std::chrono::milliseconds timeout) {
        for (int attempt = 0;; ++attempt) {
            if (h.session_hex.empty()) {
                co_await hello(h);
            }
            const std::uint64_t seq = h.next_seq++;
            const std::string session = h.session_hex;
            const std::string key = h.session_key;
            Headers headers;
            headers.emplace_back("Content-Type", "application/json");
            headers.emplace_back(proto::HEADER_SESSION, session);
            headers.emplace_back(proto::HEADER_SEQ, std::to_string(seq));
            headers.emplace_back(
                proto::HEADER_MAC, proto::to_hex(proto::request_mac(key, "POST", path, seq, body)));
            const Reply r = co_await request(c, http::verb::post, path, body, headers, timeout);
            if (r.status == 401 && attempt == 0) {
                if (h.session_hex == session) {
                    h.session_hex.clear();
                }
                ++stats.rehellos;
                continue;
            }
            if (r.status != 200) {
                throw core::Error(
                    path + " refused (HTTP " + std::to_string(r.status) + "): " + r.body);
            }
            std::string got;
            try {
                got = proto::from_hex(r.mac, 32);
            } catch (const std::exception&) {
            }
            if (!proto::mac_equal(
                    got, proto::response_mac(key, seq, static_cast<int>(r.status), r.body))) {
                throw core::Error(path + ": response not authenticated");
            }
            co_return r.body;
        }
    }

    awaitable<std::string> get(SimHost& h, std::string target) {
        const Headers none;
        const std::string no_body;
        const Reply r = co_await request(
            h.work, http::verb::get, target, no_body, none, std::chrono::seconds(60));
        ++stats.gets;
        if (r.status != 200) {
            throw core::Error("GET " + target + ": HTTP " + std::to_string(r.status));
        }
        co_return r.body;
    }

    /// The agent's query: repomd.xml, then primary and the comps group file, then the plan
    /// (computed once per repository content, since every simulated host has the same rpmdb).
    awaitable<const agent::Plan*> query(SimHost& h, std::string& revision) {
        const std::string repomd_target = base_target + "/repodata/repomd.xml";
        const std::string repomd_xml = co_await get(h, repomd_target);
        const agent::Repomd repomd = agent::parse_repomd(repomd_xml, "repomd.xml");
        auto primary = repomd.data.find("primary");
        if (primary == repomd.data.end()) {
            throw core::Error("repomd.xml has no primary");
        }
        auto group = repomd.data.find("group");
        if (group == repomd.data.end()) {
            group = repomd.data.find("group_gz");
        }
        const std::string group_location = group == repomd.data.end() ? "" : group->second.location;
        const std::string key = primary->second.location + "|" + group_location;
        revision = repomd.revision;
        if (o.fetch_repodata || !plans.contains(key)) {
            const std::string primary_target = base_target + "/" + primary->second.location;
            std::string primary_xml = co_await get(h, primary_target);
            std::string comps_xml;
            if (!group_location.empty()) {
                const std::string group_target = base_target + "/" + group_location;
                comps_xml = co_await get(h, group_target);
            }
            if (!plans.contains(key)) {
                if (primary->second.location.ends_with(".gz")) {
                    primary_xml = gunzip(primary_xml);
                }
                if (group_location.ends_with(".gz")) {
                    comps_xml = gunzip(comps_xml);
                }
                agent::RepoIndex index;
                index.revision = repomd.revision;
                index.packages = agent::parse_primary(primary_xml, "primary");
                if (!comps_xml.empty()) {
                    index.groups = agent::parse_comps(comps_xml, "comps");
                }
                plans.emplace(key, agent::compute_plan(o.installed, index, o.subfunctions, {}));
            }
        }
        co_return &plans.at(key);
    }

    void note_news(std::uint64_t counter) {
        if (counter > newest_news) {
            newest_news = counter;
            wave_rtt_ms.clear();
            line("news %llu %.6f", static_cast<unsigned long long>(counter), epoch_now());
        }
    }

    void set_reported(SimHost& h, std::uint64_t counter) {
        if (h.reported_counter) {
            if (*h.reported_counter == counter) {
                return;
            }
            --at_counter[*h.reported_counter];
        }
        h.reported_counter = counter;
        if (++at_counter[counter] == setup_limit && announced.insert(counter).second) {
            std::vector<double> rtts = wave_rtt_ms;
            std::sort(rtts.begin(), rtts.end());
            auto pct = [&](double p) {
                return rtts.empty()
                           ? 0.0
                           : rtts[std::min(
                                 rtts.size() - 1,
                                 static_cast<std::size_t>(p * static_cast<double>(rtts.size())))];
            };
            line(
                "all-reported %llu %.6f %.1f %.1f", static_cast<unsigned long long>(counter),
                epoch_now(), pct(0.5), pct(0.99));
        }
    }

    proto::AgentReport build_report(
        SimHost& h, std::uint64_t counter, const agent::Plan& plan, const std::string& revision) {
        proto::AgentReport r;
        r.hostname = h.name;
        r.report_id = h.boot_id + "-" + std::to_string(++h.report_seq);
        r.op_counter = counter;
        r.sw_version = o.release;
        r.personality = o.personality;
        r.subfunctions = o.subfunctions;
        r.nodetype = o.subfunctions.front();
        r.out_of_date = plan.has_changes();
        r.installed = plan.installed;
        r.to_remove = plan.to_remove_names;
        r.missing_pkgs = plan.missing_names;
        r.duplicated_pkgs = plan.duplicated;
        r.repo_revision = revision;
        r.command = h.command;
        r.agent_version = "loadgen";
        r.locked = h.locked;
        r.requires_reboot = h.needs_reboot;
        if (h.patched) {
            r.out_of_date = false;
            r.to_remove.clear();
            r.missing_pkgs.clear();
        }
        return r;
    }

    /// Query and report until the controller's counter stops moving under us (as the agent's
    /// worker does: the report's ack carries the published counter).
    awaitable<void> requery_and_report(SimHost& h) {
        for (;;) {
            const std::uint64_t counter = h.seen_counter;
            std::string revision;
            const agent::Plan* plan = co_await query(h, revision);
            const proto::AgentReport report = build_report(h, counter, *plan, revision);
            const auto t0 = Clock::now();
            const std::string path(proto::PATH_REPORT);
            const std::string body = proto::to_json(report);
            const std::string answer =
                co_await call(h, h.work, path, body, std::chrono::seconds(60));
            const proto::PollReply ack = proto::parse_poll_reply(answer);
            wave_rtt_ms.push_back(
                std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
            ++stats.reports;
            h.report_id = report.report_id;
            set_reported(h, counter);
            if (ack.op_counter == h.seen_counter) {
                co_return;
            }
            h.seen_counter = ack.op_counter;
            note_news(ack.op_counter);
        }
    }

    /// requery_and_report, one at a time per host (the poll loop and finishing installs share
    /// the host's work connection).
    awaitable<void> report_serialized(SimHost& h) {
        while (h.reporting) {
            co_await sleep_for(std::chrono::milliseconds(20));
        }
        h.reporting = true;
        try {
            co_await requery_and_report(h);
        } catch (...) {
            h.reporting = false;
            throw;
        }
        h.reporting = false;
    }

    /// A simulated install: its outcome install_seconds after the command arrived.
    awaitable<void> finish_install(SimHost& h, std::string command_id) {
        co_await sleep_for(std::chrono::milliseconds(static_cast<long>(o.install_seconds * 1000)));
        if (!h.command || h.command->id != command_id) {
            co_return;
        }
        const bool fail = std::uniform_real_distribution<double>(0, 1)(random) < o.install_failure_rate;
        h.command->status = fail ? proto::CommandStatus::FAILED : proto::CommandStatus::OK;
        h.command->reason = fail ? "simulated failure (patch-agent-loadgen --install-failure-rate)" : "";
        h.command->phase.clear();
        ++(fail ? stats.installs_failed : stats.installs_ok);
        if (!fail && o.phase_seconds >= 0) {
            h.patched = true;
            h.needs_reboot = o.reboot_required;
        }
        try {
            co_await report_serialized(h);
        } catch (const std::exception& e) {
            log_error(h, e);  // the next poll's report carries the outcome
        }
    }

    /// A simulated lock, unlock, hook or reboot: "ok" after phase_seconds (reboot_seconds, then a
    /// new boot id and a hello, as a host that came back).
    awaitable<void> finish_lifecycle(SimHost& h, std::string command_id, proto::CommandKind kind) {
        const double seconds = kind == proto::CommandKind::REBOOT ? o.reboot_seconds : o.phase_seconds;
        co_await sleep_for(std::chrono::milliseconds(static_cast<long>(seconds * 1000)));
        if (!h.command || h.command->id != command_id) {
            co_return;
        }
        if (kind == proto::CommandKind::LOCK || kind == proto::CommandKind::UNLOCK) {
            h.locked = kind == proto::CommandKind::LOCK;
        }
        h.command->status = proto::CommandStatus::OK;
        try {
            if (kind == proto::CommandKind::REBOOT) {
                h.boot_id = proto::to_hex(signing::random_bytes(6));
                h.needs_reboot = false;
                while (h.reporting) {  // the hello goes on the work connection, as reports do
                    co_await sleep_for(std::chrono::milliseconds(20));
                }
                h.reporting = true;
                try {
                    co_await hello(h);  // the controller finishes the reboot at this hello
                } catch (...) {
                    h.reporting = false;
                    throw;
                }
                h.reporting = false;
            }
            co_await report_serialized(h);
        } catch (const std::exception& e) {
            log_error(h, e);  // the next poll's report carries the outcome
        }
    }

    awaitable<void> poll_loop(SimHost& h) {
        auto backoff = std::chrono::milliseconds(250);
        for (;;) {
            bool failed = false;
            try {
                proto::PollRequest req;
                req.op_counter = h.seen_counter;
                req.report_id = h.report_id;
                req.wait_ms = o.poll_wait_ms;
                const std::string path(proto::PATH_POLL);
                const std::string body = proto::to_json(req);
                const std::string answer = co_await call(
                    h, h.poll, path, body, std::chrono::milliseconds(o.poll_wait_ms + 10000));
                const proto::PollReply reply = proto::parse_poll_reply(answer);
                ++stats.polls;
                backoff = std::chrono::milliseconds(250);
                bool act = reply.send_report;
                if (reply.command && (!h.command || h.command->id != reply.command->id)) {
                    if (o.phase_seconds >= 0 && reply.command->kind != proto::CommandKind::INSTALL) {
                        h.command = proto::CommandReport{reply.command->id, reply.command->kind,
                                                         proto::CommandStatus::RUNNING, ""};
                        asio::co_spawn(ioc, finish_lifecycle(h, reply.command->id, reply.command->kind),
                                       asio::detached);
                    } else if (o.install_seconds < 0 || reply.command->kind != proto::CommandKind::INSTALL) {
                        // Not simulated: answer as an agent that refuses, so the controller
                        // stops repeating the command.
                        h.command = proto::CommandReport{reply.command->id,
                                                         reply.command->kind,
                                                         proto::CommandStatus::REJECTED,
                                                         "simulated host (patch-agent-loadgen)",
                                                         "",
                                                         0,
                                                         0};
                    } else {
                        h.command = proto::CommandReport{reply.command->id,
                                                         reply.command->kind,
                                                         proto::CommandStatus::RUNNING,
                                                         "",
                                                         "transaction",
                                                         0,
                                                         0};
                        ++stats.installs;
                        asio::co_spawn(ioc, finish_install(h, reply.command->id), asio::detached);
                    }
                    act = true;
                }
                if (reply.op_counter != h.seen_counter) {
                    h.seen_counter = reply.op_counter;
                    note_news(reply.op_counter);
                    act = true;
                }
                if (act) {
                    co_await report_serialized(h);
                } else {
                    ++stats.idle;
                }
            } catch (const std::exception& e) {
                log_error(h, e);
                failed = true;
            }
            if (failed) {
                co_await sleep_for(backoff);
                backoff = std::min(backoff * 2, std::chrono::milliseconds(10000));
            }
        }
    }

    awaitable<void> setup_worker() {
        while (next_setup < setup_limit) {
            SimHost& h = *hosts[next_setup++];
            for (int attempt = 1;; ++attempt) {
                std::string failure;
                try {
                    if (h.host_key.empty()) {
                        co_await enrol(h);
                    }
                    co_await requery_and_report(h);
                    break;
                } catch (const std::exception& e) {
                    log_error(h, e);
                    failure = e.what();
                }
                if (attempt == 5) {
                    line(
                        "fatal %s: setup failed 5 times, last: %s", h.name.c_str(),
                        failure.c_str());
                    exit_code = 1;
                    ioc.stop();
                    co_return;
                }
                co_await sleep_for(std::chrono::seconds(1));
            }
            asio::co_spawn(ioc, poll_loop(h), asio::detached);
            if (++ready == setup_limit) {
                line(
                    "ready %zu %.3f", ready,
                    std::chrono::duration<double>(Clock::now() - batch_started).count());
                print_stats();
            }
        }
    }

    void print_stats() {
        std::size_t open = 0;
        for (const auto& h : hosts) {
            open += (h->poll.open ? 1 : 0) + (h->work.open ? 1 : 0);
        }
        line(
            "stats t=%.1f ready=%zu polls=%llu idle=%llu reports=%llu gets=%llu errors=%llu "
            "reconnects=%llu "
            "rehellos=%llu connections=%zu installs=%llu installs_ok=%llu installs_failed=%llu",
            std::chrono::duration<double>(Clock::now() - started).count(), ready,
            static_cast<unsigned long long>(stats.polls),
            static_cast<unsigned long long>(stats.idle),
            static_cast<unsigned long long>(stats.reports),
            static_cast<unsigned long long>(stats.gets),
            static_cast<unsigned long long>(stats.errors),
            static_cast<unsigned long long>(stats.reconnects),
            static_cast<unsigned long long>(stats.rehellos), open,
            static_cast<unsigned long long>(stats.installs),
            static_cast<unsigned long long>(stats.installs_ok),
            static_cast<unsigned long long>(stats.installs_failed));
    }

    void start_setup() {
        const int workers =
            std::max(1, std::min(o.setup_concurrency, static_cast<int>(setup_limit - next_setup)));
        for (int i = 0; i < workers; ++i) {
            asio::co_spawn(ioc, setup_worker(), asio::detached);
        }
    }

    void wait_for_more_hosts() {
        more_hosts.async_wait([this](const boost::system::error_code& ec, int) {
            if (ec) {
                return;
            }
            if (setup_limit < hosts.size() && ready == setup_limit) {
                setup_limit = hosts.size();
                batch_started = Clock::now();
                start_setup();
            }
            wait_for_more_hosts();
        });
    }

    awaitable<void> stats_loop() {
        for (;;) {
            co_await sleep_for(std::chrono::seconds(o.stats_seconds));
            print_stats();
        }
    }
};

Fleet::Fleet(FleetOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Fleet::~Fleet() = default;

int Fleet::run() {
    Impl& s = *impl_;
    s.signals.async_wait([&s](const boost::system::error_code&, int) {
        s.print_stats();
        s.ioc.stop();
    });
    s.wait_for_more_hosts();
    s.start_setup();
    asio::co_spawn(s.ioc, s.stats_loop(), asio::detached);
    s.ioc.run();
    return s.exit_code;
}

}  // namespace patching::bench
