// SPDX-License-Identifier: Apache-2.0
#include "controller_client.hpp"

#include <common/http_client.hpp>
#include <patch_core/rest.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "errors.hpp"

namespace patching::client {

namespace {

std::string percent_encode(std::string_view text, std::string_view keep) {
    static constexpr char HEX[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
        if (unreserved || keep.find(ch) != std::string_view::npos) {
            out += ch;
        } else {
            out += '%';
            out += HEX[c >> 4U];
            out += HEX[c & 0xFU];
        }
    }
    return out;
}

std::string trimmed_snippet(const std::string& text) {
    std::string out = text.substr(0, 300);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) {
        out.pop_back();
    }
    return out;
}

}  // namespace

struct ControllerClient::Handle {
    common::http::Client http;
    explicit Handle(common::http::ClientOptions options) : http(std::move(options)) {}
};

std::string encode_path_segment(std::string_view text) {
    return percent_encode(text, "");
}

std::string encode_query_value(std::string_view text) {
    return percent_encode(text, "/:");
}

std::string api_target(
    std::string_view verb,
    const std::vector<std::string>& segments,
    const std::vector<std::pair<std::string, std::string>>& query) {
    std::string target = "/v1/";
    target += verb;
    for (const auto& segment : segments) {
        target += '/';
        target += encode_path_segment(segment);
    }
    char sep = '?';
    for (const auto& [key, value] : query) {
        target += sep;
        target += encode_query_value(key);
        target += '=';
        target += encode_query_value(value);
        sep = '&';
    }
    return target;
}

std::string auth_error_message(
    long status, const std::string& server_error, const ClientOptions& options) {
    std::string detail = "HTTP " + std::to_string(status);
    if (!server_error.empty()) {
        detail += ": " + trimmed_snippet(server_error);
    }
    std::string message;
    if (status == 401) {
        if (options.token) {
            message = "the patch controller rejected the token from " + options.token_source +
                      " (" + detail +
                      "): check SW_PATCH_TOKEN, or the token file (--token-file, "
                      "SW_PATCH_TOKEN_FILE, token_file in sw-patch.conf)";
        } else {
            message = "the patch controller requires a token (" + detail +
                      "): set SW_PATCH_TOKEN or SW_PATCH_TOKEN_FILE, pass --token-file PATH, or "
                      "run as root to use " +
                      options.default_token_file;
        }
    } else if (options.token) {
        message = "the patch controller refused this operation for the token from " +
                  options.token_source + " (" + detail +
                  "): its role is not allowed to do this; use an admin token";
    } else {
        message = "the patch controller refused this operation without a token (" + detail +
                  "): set SW_PATCH_TOKEN or SW_PATCH_TOKEN_FILE, or run as root to use " +
                  options.default_token_file;
    }
    if (!options.token_hint.empty()) {
        message += " (note: " + options.token_hint + ")";
    }
    return message;
}

namespace {

common::http::ClientOptions http_options(const ClientOptions& options) {
    common::http::ClientOptions o;
    o.user_agent = "sw-patch/1";
    // Real HTTP statuses (and 405 for a wrong method) rather than the reference's "HTTP 200
    // with error set", which the controller keeps for callers without this header.
    o.default_headers = {"Accept: application/json", std::string(core::rest::CLIENT_HEADER) + ": sw-patch/1"};
    o.protocols = "http,https";
    o.connect_timeout = std::chrono::seconds(10);
    o.ca_file = options.ca_file;
    o.max_response_bytes = 1ULL << 40U;  // the controller's replies; no limit of our own
    return o;
}

Response perform(common::http::Client& http, const ClientOptions& options, common::http::Request request) {
    const std::chrono::milliseconds timeout(std::lround(options.timeout_s * 1000.0));
    if (options.token) {
        request.headers.push_back("Authorization: Bearer " + *options.token);
    }
    if (request.body_file) {
        request.headers.emplace_back("Content-Type: application/octet-stream");
        // A large upload may legitimately take long: only give up when it stalls.
        request.stall_timeout = std::chrono::seconds(std::max<long>(1, static_cast<long>(timeout.count() / 1000)));
        if (timeout.count() <= 0) {
            request.stall_timeout = std::chrono::seconds(0);
        }
    } else {
        request.timeout = std::max(timeout, std::chrono::milliseconds(0));
    }
    common::http::Response reply;
    try {
        reply = http.send(request);
    } catch (const common::http::Error& e) {
        const std::string& why = e.detail();
        switch (e.kind()) {
            case common::http::ErrorKind::CONNECT:
                throw ConnectionError(
                    "cannot reach the patch controller at " + options.base_url +
                    ": is patch-controller running? (" + why + ")");
            case common::http::ErrorKind::TIMEOUT:
                throw TransportError(
                    "the patch controller at " + options.base_url + " did not answer in time (" +
                    why + "); the limit is `timeout` in sw-patch.conf");
            case common::http::ErrorKind::TLS:
                throw TransportError(
                    "TLS connection to the patch controller at " + options.base_url + " failed (" +
                    why + "); set ca_file in sw-patch.conf to the controller's CA");
            case common::http::ErrorKind::LOCAL_IO:
                throw Error(e.what());
            default:
                throw TransportError(
                    "request to the patch controller at " + options.base_url + " failed: " +
                    (why.empty() ? std::string(e.what()) : why));
        }
    }

    Response response;
    response.status = reply.status;
    auto parsed = nlohmann::json::parse(reply.body, nullptr, false);
    if (!parsed.is_discarded()) {
        response.body = std::move(parsed);
    } else if (response.status == 200) {
        throw ProtocolError(
            "the patch controller at " + options.base_url +
            " sent a response that is not JSON: " + trimmed_snippet(reply.body));
    } else {
        std::string text = trimmed_snippet(reply.body);
        response.body = nlohmann::json{
            {"error", text.empty() ? "HTTP " + std::to_string(response.status) : text}};
    }
    if (response.status == 401 || response.status == 403) {
        throw AuthError(
            response.status, auth_error_message(response.status, response.error(), options));
    }
    return response;
}

}  // namespace

ControllerClient::ControllerClient(ClientOptions options)
    : options_(std::move(options)), handle_(std::make_unique<Handle>(http_options(options_))) {}

ControllerClient::~ControllerClient() = default;

Response ControllerClient::get(const std::string& target) {
    common::http::Request request;
    request.url = options_.base_url + target;
    return perform(handle_->http, options_, std::move(request));
}

Response ControllerClient::post(const std::string& target) {
    common::http::Request request;
    request.method = "POST";
    request.url = options_.base_url + target;
    request.body = "";
    return perform(handle_->http, options_, std::move(request));
}

Response ControllerClient::send(
    const std::string& method,
    const std::string& target,
    const std::string& json_body,
    const std::vector<std::string>& headers) {
    common::http::Request request;
    request.method = method;
    request.url = options_.base_url + target;
    request.headers = headers;
    if (method != "GET" && method != "HEAD") {
        request.headers.emplace_back("Content-Type: application/json");
        request.body = json_body;
    }
    return perform(handle_->http, options_, std::move(request));
}

Response ControllerClient::upload(const std::filesystem::path& file, const ProgressFn& progress) {
    common::http::Request request;
    request.method = "POST";
    request.url = options_.base_url + api_target("upload", {}, {{"filename", file.filename().string()}});
    request.body_file = file;
    request.on_upload_progress = progress;
    return perform(handle_->http, options_, std::move(request));
}

}  // namespace patching::client
