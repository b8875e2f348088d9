// SPDX-License-Identifier: Apache-2.0
#include "support/controller_harness.hpp"

#include <common/http_client.hpp>
#include <common/subprocess.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace patching::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

fs::path controller_binary() { return binary_dir() / "patch_controller" / "patch-controller"; }
fs::path builder_binary() { return binary_dir() / "patch_build" / "patch-build"; }

// waitpid with a deadline; returns the status code (128+signal) or nullopt on timeout.
}  // namespace

// ------------------------------------------------------------------------------------------
// HTTP

std::string Response::field(const std::string& key) const {
    if (body.is_object() && body.contains(key) && body[key].is_string()) {
        return body[key].get<std::string>();
    }
    return {};
}

Body Body::text(std::string data, std::string content_type) {
    Body b;
    b.data = std::move(data);
    b.content_type = std::move(content_type);
    return b;
}

Body Body::from_file(fs::path file) {
    Body b;
    b.file = std::move(file);
    return b;
}

namespace {

/// Every distinct answer of the REST API to our clients (not to the reference client, whose
/// contract the OpenAPI document does not describe), by port, for openapi_violations().
struct Exchanges {
    std::mutex mutex;
    std::map<std::uint16_t, std::vector<nlohmann::json>> by_port;
    std::set<std::string> seen;
};

Exchanges& exchanges() {
    static Exchanges e;
    return e;
}

void record_exchange(std::uint16_t port, const std::string& method, const std::string& path, const Response& r) {
    if (r.status == 0 || (path.rfind("/v1", 0) != 0 && path.rfind("/patch", 0) != 0) ||
        path.rfind("/v1/openapi.json", 0) == 0 || path.rfind("/v1/agent/", 0) == 0) {
        return;
    }
    nlohmann::json record = {{"method", method},
                             {"path", path},
                             {"status", r.status},
                             {"content_type", r.content_type},
                             {"body", r.text}};
    std::string key = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    Exchanges& e = exchanges();
    std::lock_guard lock(e.mutex);
    if (e.seen.insert(std::to_string(port) + key).second) {
        e.by_port[port].push_back(std::move(record));
    }
}

}  // namespace

CommandResult sw_manager(const ControllerHarness& controller, const std::string& args, const std::string& tz) {
    const fs::path config = controller.root() / "sw-patch.conf";
    if (!fs::exists(config)) {
        write_file(config, "");
    }
    const std::string command = "timeout -k 5 120 env -u SW_PATCH_TOKEN_FILE " +
                                (tz.empty() ? std::string() : "TZ=" + tz + " ") + "SW_PATCH_CONFIG=" +
                                config.string() + " SW_PATCH_CONTROLLER=http://127.0.0.1:" +
                                std::to_string(controller.port()) + " SW_PATCH_TOKEN=" + controller.admin_token() +
                                " " + (binary_dir() / "sw_manager" / "sw-manager").string() + " " + args +
                                " </dev/null 2>&1";
    CommandResult r;
    r.status = run_command(command, &r.output);
    return r;
}

std::string openapi_violations(const ControllerHarness& controller) {
    std::vector<nlohmann::json> records;
    {
        Exchanges& e = exchanges();
        std::lock_guard lock(e.mutex);
        records = std::move(e.by_port[controller.port()]);
        e.by_port.erase(controller.port());
    }
    const Response doc = http_request(controller.port(), "GET", "/v1/openapi.json", controller.admin_token());
    if (doc.status != 200) {
        return "GET /v1/openapi.json answered " + std::to_string(doc.status) + ": " + doc.text;
    }
    const fs::path dir = controller.root() / "openapi-check";
    fs::create_directories(dir);
    write_file(dir / "openapi.json", doc.text);
    std::string lines;
    for (const auto& r : records) {
        lines += r.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
    write_file(dir / "responses.jsonl", lines);
    std::string out;
    const int rc = run_command("python3 " + std::string(PATCHING_TEST_SUPPORT_DIR) + "/check_openapi.py " +
                                   shell_quote((dir / "openapi.json").string()) + " " +
                                   shell_quote((dir / "responses.jsonl").string()) + " 2>&1",
                               &out);
    std::cerr << "openapi check: " << (out.empty() ? std::string("(no output)\n") : out.substr(out.rfind('\n', out.size() - 2) + 1));
    return rc == 0 ? std::string() : out;
}

Response http_request(std::uint16_t port, const std::string& method, const std::string& path, const std::string& token,
                      const Body& body, const RequestOptions& options) {
    // A fresh client (and connection) per request, as each test expects.
    common::http::Client client({.user_agent = "test-harness",
                                 .protocols = "http",
                                 .connect_timeout = std::chrono::seconds(options.timeout_seconds),
                                 .max_response_bytes = 1ULL << 40U,
                                 .path_as_is = true,
                                 .no_proxy = true});
    common::http::Request request;
    request.method = method;
    request.url = "http://127.0.0.1:" + std::to_string(port) + path;
    request.timeout = std::chrono::seconds(options.timeout_seconds);
    request.max_send_bytes_per_second = static_cast<std::uint64_t>(std::max<std::int64_t>(0, options.max_send_bytes_per_second));
    if (!token.empty()) {
        request.headers.push_back("Authorization: Bearer " + token);
    }
    if (!options.reference_client) {
        request.headers.emplace_back("X-Patching-Client: test-harness");
    }
    request.headers.insert(request.headers.end(), options.headers.begin(), options.headers.end());
    const bool has_body = body.file.has_value() || !body.data.empty() || method == "POST" || method == "PUT";
    if (has_body) {
        request.headers.push_back("Content-Type: " + body.content_type);
        if (body.file) {
            request.body_file = *body.file;
        } else {
            request.body = body.data;
        }
    }

    Response response;
    auto started = std::chrono::steady_clock::now();
    try {
        common::http::Response reply = client.send(request);
        response.status = reply.status;
        response.text = std::move(reply.body);
        response.content_type = std::move(reply.content_type);
    } catch (const common::http::Error& e) {
        if (e.kind() == common::http::ErrorKind::LOCAL_IO) {
            throw std::runtime_error(e.what());
        }
        response.transport_error = e.detail().empty() ? e.what() : e.detail();
        response.status = e.status();
        response.text = e.partial_body();
    }
    response.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    response.body = nlohmann::json::parse(response.text, nullptr, false);
    if (!options.reference_client) {
        record_exchange(port, method, path, response);
    }
    return response;
}

// ------------------------------------------------------------------------------------------
// Raw TCP

RawConnection::RawConnection(std::uint16_t port, const std::string& source) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    }
    if (!source.empty()) {
        sockaddr_in from{};
        from.sin_family = AF_INET;
        if (::inet_pton(AF_INET, source.c_str(), &from.sin_addr) != 1 ||
            ::bind(fd_, reinterpret_cast<const sockaddr*>(&from), sizeof from) != 0) {
            int e = errno;
            ::close(fd_);
            fd_ = -1;
            throw std::runtime_error("cannot bind to " + source + ": " + std::strerror(e));
        }
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        int e = errno;
        ::close(fd_);
        fd_ = -1;
        throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(e));
    }
}

RawConnection::~RawConnection() { close(); }

void RawConnection::close() {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

bool RawConnection::send(std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            peer_closed_ = true;
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

std::string RawConnection::read_until(std::string_view marker, std::chrono::milliseconds timeout) {
    std::string got;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!peer_closed_ && (marker.empty() || got.find(marker) == std::string::npos)) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            break;
        }
        pollfd p{fd_, POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        char buf[65536];
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n > 0) {
            got.append(buf, static_cast<std::size_t>(n));
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
            peer_closed_ = true;
        }
    }
    return got;
}

std::string RawConnection::read_until_closed(std::chrono::milliseconds timeout) { return read_until({}, timeout); }

// ------------------------------------------------------------------------------------------
// Patches and files

fs::path fixture_rpm(const std::string& nvr) { return fixtures_dir() / "rpms" / (nvr + ".noarch.rpm"); }

std::string fixture_id(int n) { return "FIX_22.12_PATCH_000" + std::to_string(n); }

fs::path fixture_patch(int n) { return fixtures_dir() / "stx" / (fixture_id(n) + ".patch"); }

std::vector<std::string> list_files(const fs::path& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        return out;
    }
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        if (it->is_symlink(ec) || it->is_regular_file(ec)) {
            out.push_back(fs::relative(it->path(), dir).string());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

fs::path build_patch(const PatchSpec& spec, const fs::path& out_dir) {
    fs::create_directories(out_dir);
    std::string cmd = shell_quote(builder_binary().string()) + " --id " + shell_quote(spec.id) + " --release " +
                      shell_quote(spec.release) + " --status " + shell_quote(spec.status) + " --reboot-required " +
                      shell_quote(spec.reboot_required) + " --sign-key " +
                      shell_quote((fixtures_dir() / "keys" / "fixture-signing-key.pem").string()) + " -o " +
                      shell_quote(out_dir.string());
    if (!spec.summary.empty()) {
        cmd += " --summary " + shell_quote(spec.summary);
    }
    if (spec.unremovable) {
        cmd += " --unremovable";
    }
    if (spec.apply_active_release_only) {
        cmd += " --apply-active-release-only";
    }
    for (const auto& r : spec.required) {
        cmd += " --req " + shell_quote(r);
    }
    auto script = [&](const std::optional<std::string>& text, const char* option) {
        if (!text) {
            return;
        }
        fs::path file = out_dir / (spec.id + "." + option + ".sh");
        write_file(file, *text);
        fs::permissions(file, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
        cmd += std::string(" --") + option + " " + shell_quote(file.string());
    };
    script(spec.pre_apply, "pre-apply");
    script(spec.pre_remove, "pre-remove");
    std::string positional;
    for (const auto& [personality, rpm] : spec.rpms) {
        if (personality.empty()) {
            positional += " " + shell_quote(rpm.string());
        } else {
            cmd += " --" + personality + " " + shell_quote(rpm.string());
        }
    }
    cmd += positional;
    std::string output;
    if (run_command(cmd, &output) != 0) {
        throw std::runtime_error("patch-build failed for " + spec.id + ":\n" + cmd + "\n" + output);
    }
    fs::path patch = out_dir / (spec.id + ".patch");
    if (!fs::is_regular_file(patch)) {
        throw std::runtime_error("patch-build did not write " + patch.string() + ":\n" + output);
    }
    return patch;
}

// ------------------------------------------------------------------------------------------
// The daemon

ControllerHarness::ControllerHarness() : ControllerHarness(Options{}) {}

ControllerHarness::ControllerHarness(Options options) : options_(std::move(options)) {
    fs::path packages = feed_dir() / "rel-22.12" / "Packages";
    fs::create_directories(packages);
    for (const char* nvr : {"fixture-alpha-1.0-1", "fixture-beta-1.0-1", "fixture-gamma-1.0-1"}) {
        fs::copy_file(fixture_rpm(nvr), packages / fixture_rpm(nvr).filename());
    }
    fs::create_directories(trust_dir());
    fs::copy_file(fixtures_dir() / "keys" / "fixture-signing-cert.pem", trust_dir() / "fixture-signing-cert.pem");
    fs::create_directories(state_dir());
    fs::create_directories(repo_dir());
    fs::create_directories(work_dir());
    write_config();
    if (options_.start) {
        start();
    }
}

ControllerHarness::~ControllerHarness() {
    try {
        stop();
    } catch (...) {
        process_.kill();
    }
}

void ControllerHarness::write_config() const {
    std::string text = "[controller]\n";
    text += "state_dir = " + state_dir().string() + "\n";
    text += "repo_dir = " + repo_dir().string() + "\n";
    text += "feed_dir = " + feed_dir().string() + "\n";
    text += "trust_dir = " + trust_dir().string() + "\n";
    text += "tokens_file = " + tokens_file().string() + "\n";
    text += "local_token_file = " + local_token_file().string() + "\n";
    text += "running_release = 22.12\n";
    text += "listen_address = 127.0.0.1\n";
    text += "listen_port = 0\n";
    if (std::none_of(options_.extra_config.begin(), options_.extra_config.end(),
                     [](const std::string& line) { return line.rfind("import_roots", 0) == 0; })) {
        text += "import_roots = " + work_dir().string() + "\n";  // upload_dir reads only there
    }
    for (const auto& line : options_.extra_config) {
        text += line + "\n";
    }
    write_file(config_file(), text);
}

void ControllerHarness::start() {
    if (process_.running()) {
        throw std::runtime_error("the controller is already running");
    }
    const fs::path port_file = state_dir() / "api.port";
    std::error_code ec;
    fs::remove(port_file, ec);

    common::subprocess::Options options;
    options.argv = {controller_binary().string(), "--config", config_file().string()};
    options.extra_environment = environment_;  // before the test's own: getenv finds them first
    options.output = common::subprocess::Output::FILE;
    options.output_file = log_file();
    options.new_process_group = false;  // kill9() is a SIGKILL of the daemon alone, as a crash
    process_ = common::subprocess::Child::spawn(options);

    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (true) {
        if (auto status = process_.poll()) {
            throw std::runtime_error("patch-controller exited with status " + std::to_string(status->code()) +
                                     " while starting; log:\n" + log());
        }
        std::string text;
        try {
            if (fs::exists(port_file, ec)) {
                text = read_file(port_file);
            }
        } catch (const std::exception&) {
            text.clear();
        }
        if (!text.empty() && text.back() == '\n') {
            port_ = static_cast<std::uint16_t>(std::stoul(text));
            break;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            kill9();
            throw std::runtime_error("patch-controller did not write api.port within 10 s; log:\n" + log());
        }
        std::this_thread::sleep_for(10ms);
    }
    admin_token_ = trim(read_file(local_token_file()));
}

int ControllerHarness::stop() {
    if (!process_.running()) {
        return -1;
    }
    process_.signal(SIGTERM);
    auto status = process_.wait_for(20s);
    if (!status) {
        status = process_.kill();
    }
    return status->code();
}

void ControllerHarness::kill9() {
    if (process_.running()) {
        process_.kill();
    }
}

std::optional<int> ControllerHarness::wait_exit(std::chrono::milliseconds timeout) {
    if (!process_.running()) {
        return std::nullopt;
    }
    if (auto status = process_.wait_for(timeout)) {
        return status->code();
    }
    return std::nullopt;
}

void ControllerHarness::restart() {
    int status = stop();
    if (status != 0) {
        throw std::runtime_error("patch-controller exited with status " + std::to_string(status) +
                                 " on SIGTERM; log:\n" + log());
    }
    start();
}

std::string ControllerHarness::add_token(const std::string& name, const std::string& role) const {
    std::string output;
    std::string cmd = shell_quote(controller_binary().string()) + " --config " + shell_quote(config_file().string()) +
                      " add-token " + shell_quote(name) + " " + shell_quote(role);
    if (run_command(cmd, &output) != 0) {
        throw std::runtime_error("add-token failed: " + output);
    }
    return trim(output);
}

std::string ControllerHarness::log() const {
    try {
        return read_file(log_file());
    } catch (const std::exception&) {
        return {};
    }
}

Response ControllerHarness::request(const std::string& method, const std::string& path, const std::string& token,
                                    const Body& body, const RequestOptions& options) const {
    return http_request(port_, method, path, token, body, options);
}

Response ControllerHarness::api(const std::string& method, const std::string& path, const Body& body) const {
    return request(method, path, admin_token_, body);
}

Response ControllerHarness::upload(const fs::path& file, const std::optional<std::string>& filename,
                                   const std::optional<std::string>& token) const {
    return request("POST", "/v1/upload?filename=" + filename.value_or(file.filename().string()),
                   token.value_or(admin_token_), Body::from_file(file));
}

nlohmann::json ControllerHarness::query(const std::string& show) const {
    Response r = get(show.empty() ? "/v1/query" : "/v1/query?show=" + show);
    if (r.status != 200 || !r.body.is_object() || !r.body.contains("pd")) {
        throw std::runtime_error("query failed: HTTP " + std::to_string(r.status) + " " + r.transport_error + " " +
                                 r.text);
    }
    return r.body["pd"];
}

fs::path ControllerHarness::build(const PatchSpec& spec) const { return build_patch(spec, work_dir() / "patches"); }

// ------------------------------------------------------------------------------------------
// Metrics

double metric_value(const std::vector<MetricSample>& samples, const std::string& name,
                    const std::map<std::string, std::string>& labels) {
    for (const auto& s : samples) {
        if (s.name == name && s.labels == labels) {
            return s.value;
        }
    }
    return -1;
}

std::vector<MetricSample> ControllerHarness::scrape_metrics(const std::string& token) const {
    Response r = request("GET", "/metrics", token);
    if (r.status != 200 || r.content_type.rfind("text/plain; version=0.0.4", 0) != 0) {
        throw std::runtime_error("GET /metrics: HTTP " + std::to_string(r.status) + " " + r.content_type + "\n" + r.text);
    }
    const auto file = work_dir() / "metrics.txt";
    write_file(file, r.text);
    return parse_exposition(file);
}

std::vector<MetricSample> parse_exposition(const std::filesystem::path& file) {
    std::string out;
    const int rc = run_command("python3 " + std::string(PATCHING_TEST_SUPPORT_DIR) + "/parse_metrics.py " +
                                   shell_quote(file.string()) + " 2>&1",
                               &out);
    if (rc != 0) {
        throw std::runtime_error("the Prometheus parser refused " + file.string() + ":\n" + out + "\n" +
                                 read_file(file));
    }
    std::vector<MetricSample> samples;
    for (const auto& s : nlohmann::json::parse(out)) {
        MetricSample sample{s.at("name").get<std::string>(), {}, s.at("value").get<double>()};
        for (const auto& [k, v] : s.at("labels").items()) {
            sample.labels[k] = v.get<std::string>();
        }
        samples.push_back(std::move(sample));
    }
    return samples;
}

}  // namespace patching::test
