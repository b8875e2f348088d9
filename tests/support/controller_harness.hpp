// SPDX-License-Identifier: Apache-2.0
// End-to-end harness for the patch controller daemon: a private environment (base feed, trust
// directory, state and repo directories, configuration), the real `patch-controller` binary
// started with common::subprocess, an HTTP client (common::http), a raw TCP client for protocol abuse, and
// a wrapper around the real `patch-build` to make patches the fixtures do not cover.
#pragma once

#include "support/test_support.hpp"

#include <common/subprocess.hpp>

#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace patching::test {

/// One HTTP response (or the transport failure that prevented it).
struct Response {
    long status = 0;              ///< HTTP status; 0 when no response arrived (see transport_error).
    std::string text;             ///< Raw body.
    nlohmann::json body;          ///< Parsed body; is_discarded() when it is not JSON.
    std::string content_type;
    std::string transport_error;  ///< The HTTP client's message when the transfer failed.
    double seconds = 0;           ///< Wall time of the whole exchange.

    /// body[key] when the body is an object holding a string there, else "".
    std::string field(const std::string& key) const;
    std::string info() const { return field("info"); }
    std::string warning() const { return field("warning"); }
    std::string error() const { return field("error"); }
};

/// One sample of a Prometheus exposition.
struct MetricSample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};
/// A Prometheus text exposition (a scrape, an agent's textfile) parsed by the Prometheus
/// project's own parser (python3-prometheus-client, support/parse_metrics.py).
/// @throws std::runtime_error with the parser's complaint.
std::vector<MetricSample> parse_exposition(const std::filesystem::path& file);
/// The value of the sample with this name and exactly these labels; -1 if there is none.
double metric_value(const std::vector<MetricSample>& samples, const std::string& name,
                    const std::map<std::string, std::string>& labels = {});

/// A request body: none, bytes in memory, or a file streamed from disk.
struct Body {
    std::string data;
    std::optional<std::filesystem::path> file;
    std::string content_type = "application/octet-stream";

    static Body text(std::string data, std::string content_type = "application/octet-stream");
    static Body from_file(std::filesystem::path file);
};

struct RequestOptions {
    long timeout_seconds = 60;
    std::int64_t max_send_bytes_per_second = 0;  ///< 0 = unlimited.
    std::vector<std::string> headers;            ///< Extra "Name: value" lines.
    /// Leaves out our clients' X-Patching-Client header, as the reference client does, so the
    /// controller answers with the reference's contract (handled errors are HTTP 200).
    bool reference_client = false;
};

/// Sends one request to http://127.0.0.1:PORT PATH with common::http (PATH is sent as is: no "../"
/// squashing). `token` empty = no Authorization header. Thread-safe.
Response http_request(std::uint16_t port, const std::string& method, const std::string& path,
                      const std::string& token, const Body& body = {}, const RequestOptions& options = {});

/// What a command printed and how it ended.
struct CommandResult {
    int status = 0;
    std::string output;  ///< stdout and stderr.
};

class ControllerHarness;
/// Runs the built sw-manager with `args` (shell words) against `controller` with its admin
/// token, a private sw-patch.conf and no terminal; `tz` sets TZ when not empty. Times out after
/// 120 s.
CommandResult sw_manager(const ControllerHarness& controller, const std::string& args, const std::string& tz = "");

/// Validates every distinct answer this process's http_request() got from `controller` (REST
/// API calls of our clients since the last check) against the OpenAPI document the controller
/// serves, with python3-jsonschema (support/check_openapi.py). "" if all are valid; else the
/// checker's report naming each invalid response. Call at the end of an end-to-end test.
std::string openapi_violations(const ControllerHarness& controller);

/// A plain TCP connection to 127.0.0.1:PORT for sending bytes no HTTP client would.
class RawConnection {
public:
    /// From `source` (e.g. "127.0.0.2", another loopback address: another peer) if given.
    /// @throws std::runtime_error if it cannot connect.
    explicit RawConnection(std::uint16_t port, const std::string& source = "");
    ~RawConnection();
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;

    /// Sends all of `data`; false if the peer closed or reset the connection.
    bool send(std::string_view data);
    /// Reads until the peer closes (or resets) the connection or `timeout` passes; returns what
    /// arrived. peer_closed() tells which of the two ended it.
    std::string read_until_closed(std::chrono::milliseconds timeout);
    /// Reads until `marker` has arrived, the peer closes, or `timeout` passes.
    std::string read_until(std::string_view marker, std::chrono::milliseconds timeout);
    bool peer_closed() const { return peer_closed_; }
    void close();

private:
    int fd_ = -1;
    bool peer_closed_ = false;
};

/// A patch to build with the real `patch-build`, signed with the fixture key.
struct PatchSpec {
    std::string id{};
    std::string release = "22.12";
    std::string status = "REL";
    std::string reboot_required = "N";
    bool unremovable = false;
    bool apply_active_release_only = false;
    std::string summary{};
    std::vector<std::string> required{};  ///< --req IDs.
    /// {personality option without dashes ("controller", "worker", "all-nodes"...) or "" for a
    /// positional RPM, RPM file}.
    std::vector<std::pair<std::string, std::filesystem::path>> rpms{};
    std::optional<std::string> pre_apply{};   ///< Script text (with its #! line).
    std::optional<std::string> pre_remove{};  ///< Script text (with its #! line).
};

/// Builds `spec` into `out_dir` (created) and returns the .patch file.
/// @throws std::runtime_error with patch-build's output if it fails.
std::filesystem::path build_patch(const PatchSpec& spec, const std::filesystem::path& out_dir);

/// fixtures/rpms/<nvr>.noarch.rpm, e.g. fixture_rpm("fixture-alpha-1.0-2").
std::filesystem::path fixture_rpm(const std::string& nvr);
/// fixtures/stx/FIX_22.12_PATCH_000<n>.patch.
std::filesystem::path fixture_patch(int n);
/// "FIX_22.12_PATCH_000<n>".
std::string fixture_id(int n);

/// Sorted relative paths of the regular files (and symlinks) under `dir`; empty if it does not exist.
std::vector<std::string> list_files(const std::filesystem::path& dir);

/// Runs the real daemon in a private environment. The destructor always stops it.
class ControllerHarness {
public:
    struct Options {
        bool start = true;                      ///< Start the daemon in the constructor.
        std::vector<std::string> extra_config{};  ///< "key = value" lines appended to [controller].
    };

    ControllerHarness();
    explicit ControllerHarness(Options options);
    ~ControllerHarness();
    ControllerHarness(const ControllerHarness&) = delete;
    ControllerHarness& operator=(const ControllerHarness&) = delete;

    /// Starts the daemon and waits (at most 10 s) for it to write api.port.
    /// @throws std::runtime_error (with the log) if it exits or does not come up in time.
    void start();
    /// SIGTERM, then waits for the exit (SIGKILL after 20 s). Returns the exit status (128+signal
    /// if killed), or -1 if it was not running.
    int stop();
    /// SIGKILL and reap, as a crash would.
    void kill9();
    /// Waits at most `timeout` for the daemon to exit by itself (a fault point's SIGKILL) and
    /// reaps it: its exit status (128+signal if killed), or nullopt if it still runs.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    /// "NAME=value" entries added to the daemon's environment from the next start() on
    /// (e.g. PATCHING_FAULT=apply.after_commit); empty = the test's own environment only.
    void set_environment(std::vector<std::string> entries) { environment_ = std::move(entries); }
    /// stop() then start(); the exit status of the stop must be 0.
    void restart();
    bool running() const { return process_.running(); }
    pid_t pid() const { return process_.pid(); }

    std::uint16_t port() const { return port_; }
    /// The local admin token (from local_token_file, created by the first start).
    const std::string& admin_token() const { return admin_token_; }
    /// `patch-controller --config FILE add-token NAME ROLE`; returns the printed token.
    std::string add_token(const std::string& name, const std::string& role) const;
    /// Everything the daemon printed so far (all runs).
    std::string log() const;

    // Layout of the environment.
    const std::filesystem::path& root() const { return dir_.path(); }
    std::filesystem::path config_file() const { return root() / "controller.conf"; }
    std::filesystem::path state_dir() const { return root() / "state"; }
    std::filesystem::path repo_dir() const { return root() / "repo"; }
    std::filesystem::path feed_dir() const { return root() / "feed"; }
    std::filesystem::path trust_dir() const { return root() / "trust"; }
    std::filesystem::path tokens_file() const { return root() / "tokens"; }
    std::filesystem::path local_token_file() const { return root() / "admin.token"; }
    std::filesystem::path log_file() const { return root() / "controller.log"; }
    std::filesystem::path work_dir() const { return root() / "work"; }
    std::filesystem::path tmp_dir() const { return state_dir() / "tmp"; }
    std::filesystem::path packages_dir(const std::string& release = "22.12") const {
        return state_dir() / "packages" / release;
    }
    std::filesystem::path release_repo(const std::string& release = "22.12") const {
        return repo_dir() / ("rel-" + release);
    }

    // HTTP.
    Response request(const std::string& method, const std::string& path, const std::string& token,
                     const Body& body = {}, const RequestOptions& options = {}) const;
    /// request() with the admin token.
    Response api(const std::string& method, const std::string& path, const Body& body = {}) const;
    Response get(const std::string& path) const { return api("GET", path); }
    Response post(const std::string& path) const { return api("POST", path); }
    /// POST /v1/upload?filename=<filename or the file's name>, the file as the body.
    Response upload(const std::filesystem::path& file, const std::optional<std::string>& filename = std::nullopt,
                    const std::optional<std::string>& token = std::nullopt) const;
    /// GET /v1/query[?show=SHOW]: the "pd" object. Fails the test if the query fails.
    nlohmann::json query(const std::string& show = "") const;

    /// GET /metrics with `token`, parsed by the Prometheus project's own parser
    /// (python3-prometheus-client, support/parse_metrics.py).
    /// @throws std::runtime_error naming the status, or the parser's complaint.
    std::vector<MetricSample> scrape_metrics(const std::string& token) const;

    /// build_patch(spec, work_dir()/"patches").
    std::filesystem::path build(const PatchSpec& spec) const;

private:
    void write_config() const;

    Options options_;
    TempDir dir_;
    common::subprocess::Child process_;
    std::vector<std::string> environment_;
    std::uint16_t port_ = 0;
    std::string admin_token_;
};

}  // namespace patching::test
