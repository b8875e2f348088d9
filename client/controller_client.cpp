// SPDX-License-Identifier: Apache-2.0
#include "controller_client.hpp"

#include <curl/curl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <patch_core/rest.hpp>

#include "errors.hpp"

namespace patching::client {

namespace {

template <auto FreeFn>
struct CFree {
    template <class T>
    void operator()(T* p) const noexcept {
        FreeFn(p);
    }
};
using CurlPtr = std::unique_ptr<CURL, CFree<curl_easy_cleanup>>;
using SlistPtr = std::unique_ptr<curl_slist, CFree<curl_slist_free_all>>;
using FilePtr = std::unique_ptr<std::FILE, CFree<std::fclose>>;

void global_init_once() {
    static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        throw TransportError(std::string("cannot initialise libcurl: ") + curl_easy_strerror(rc));
    }
}

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

size_t write_to_string(char* data, size_t size, size_t count, void* user) {
    static_cast<std::string*>(user)->append(data, size * count);
    return size * count;
}

struct UploadState {
    std::FILE* file = nullptr;
    std::uint64_t size = 0;
    const ProgressFn* progress = nullptr;
    int read_errno = 0;
    std::exception_ptr failure;
};

size_t read_from_file(char* buffer, size_t size, size_t count, void* user) {
    auto* state = static_cast<UploadState*>(user);
    size_t n = std::fread(buffer, 1, size * count, state->file);
    if (n == 0 && std::ferror(state->file) != 0) {
        state->read_errno = errno != 0 ? errno : EIO;
        return CURL_READFUNC_ABORT;
    }
    return n;
}

int upload_progress(
    void* user,
    curl_off_t /*dltotal*/,
    curl_off_t /*dlnow*/,
    curl_off_t /*ultotal*/,
    curl_off_t ulnow) {
    auto* state = static_cast<UploadState*>(user);
    try {
        (*state->progress)(static_cast<std::uint64_t>(ulnow), state->size);
    } catch (...) {
        // Exceptions must not cross libcurl's C frames: keep it and rethrow after perform.
        state->failure = std::current_exception();
        return 1;
    }
    return 0;
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
    CurlPtr curl;
    char error_buffer[CURL_ERROR_SIZE] = {};
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

ControllerClient::ControllerClient(ClientOptions options)
    : options_(std::move(options)), handle_(std::make_unique<Handle>()) {
    global_init_once();
    handle_->curl.reset(curl_easy_init());
    if (!handle_->curl) {
        throw TransportError("cannot create a libcurl handle");
    }
}

ControllerClient::~ControllerClient() = default;

namespace {

struct Request {
    const char* method = "GET";
    UploadState* upload = nullptr;
    const std::string* json_body = nullptr;             ///< Sent with `method` when set.
    const std::vector<std::string>* headers = nullptr;  ///< Extra header lines.
};

Response perform(
    CURL* curl,
    char* error_buffer,
    const ClientOptions& options,
    const std::string& target,
    const Request& request) {
    std::string url = options.base_url + target;
    std::string body;
    curl_easy_reset(curl);
    error_buffer[0] = '\0';
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "sw-patch/1");
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_to_string);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    if (!options.ca_file.empty()) {
        curl_easy_setopt(curl, CURLOPT_CAINFO, options.ca_file.c_str());
    }
    long timeout_ms = std::lround(options.timeout_s * 1000.0);

    SlistPtr headers;
    auto add_header = [&headers](const std::string& line) {
        curl_slist* next = curl_slist_append(headers.get(), line.c_str());
        if (next == nullptr) {
            throw TransportError("out of memory building request headers");
        }
        static_cast<void>(headers.release());
        headers.reset(next);
    };
    add_header("Accept: application/json");
    // Real HTTP statuses (and 405 for a wrong method) rather than the reference's "HTTP 200
    // with error set", which the controller keeps for callers without this header.
    add_header(std::string(core::rest::CLIENT_HEADER) + ": sw-patch/1");
    if (options.token) {
        add_header("Authorization: Bearer " + *options.token);
    }
    if (request.headers != nullptr) {
        for (const auto& line : *request.headers) {
            add_header(line);
        }
    }

    if (request.upload != nullptr) {
        add_header("Content-Type: application/octet-stream");
        add_header("Expect:");
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_from_file);
        curl_easy_setopt(curl, CURLOPT_READDATA, request.upload);
        curl_easy_setopt(
            curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.upload->size));
        if (*request.upload->progress) {
            curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
            curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, upload_progress);
            curl_easy_setopt(curl, CURLOPT_XFERINFODATA, request.upload);
        }
        // A large upload may legitimately take long: only give up when it stalls.
        if (timeout_ms > 0) {
            curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
            curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, std::max(1L, timeout_ms / 1000));
        }
    } else if (request.json_body != nullptr) {
        add_header("Content-Type: application/json");
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.json_body->c_str());
        curl_easy_setopt(
            curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.json_body->size()));
        if (timeout_ms > 0) {
            curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
        }
    } else {
        if (std::string_view(request.method) == "POST") {
            curl_easy_setopt(curl, CURLOPT_POST, 1L);
            curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
            curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
        } else {
            curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
        }
        if (timeout_ms > 0) {
            curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
        }
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());

    CURLcode rc = curl_easy_perform(curl);
    if (request.upload != nullptr && request.upload->failure) {
        std::rethrow_exception(request.upload->failure);
    }
    if (rc != CURLE_OK) {
        std::string why = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);
        switch (rc) {
            case CURLE_COULDNT_CONNECT:
            case CURLE_COULDNT_RESOLVE_HOST:
            case CURLE_COULDNT_RESOLVE_PROXY:
                throw ConnectionError(
                    "cannot reach the patch controller at " + options.base_url +
                    ": is patch-controller running? (" + why + ")");
            case CURLE_OPERATION_TIMEDOUT:
                throw TransportError(
                    "the patch controller at " + options.base_url + " did not answer in time (" +
                    why + "); the limit is `timeout` in sw-patch.conf");
            case CURLE_PEER_FAILED_VERIFICATION:
            case CURLE_SSL_CACERT_BADFILE:
            case CURLE_SSL_CONNECT_ERROR:
                throw TransportError(
                    "TLS connection to the patch controller at " + options.base_url + " failed (" +
                    why + "); set ca_file in sw-patch.conf to the controller's CA");
            default:
                throw TransportError(
                    "request to the patch controller at " + options.base_url + " failed: " + why);
        }
    }

    Response response;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    auto parsed = nlohmann::json::parse(body, nullptr, false);
    if (!parsed.is_discarded()) {
        response.body = std::move(parsed);
    } else if (response.status == 200) {
        throw ProtocolError(
            "the patch controller at " + options.base_url +
            " sent a response that is not JSON: " + trimmed_snippet(body));
    } else {
        std::string text = trimmed_snippet(body);
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

Response ControllerClient::get(const std::string& target) {
    return perform(handle_->curl.get(), handle_->error_buffer, options_, target, {"GET", nullptr});
}

Response ControllerClient::post(const std::string& target) {
    return perform(handle_->curl.get(), handle_->error_buffer, options_, target, {"POST", nullptr});
}

Response ControllerClient::send(
    const std::string& method,
    const std::string& target,
    const std::string& json_body,
    const std::vector<std::string>& headers) {
    return perform(
        handle_->curl.get(), handle_->error_buffer, options_, target,
        {method.c_str(), nullptr, &json_body, &headers});
}

Response ControllerClient::upload(const std::filesystem::path& file, const ProgressFn& progress) {
    FilePtr stream(std::fopen(file.c_str(), "rb"));
    if (!stream) {
        throw Error("cannot open " + file.string() + ": " + std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(::fileno(stream.get()), &st) != 0) {
        throw Error("cannot stat " + file.string() + ": " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        throw Error(file.string() + " is not a regular file");
    }
    UploadState state;
    state.file = stream.get();
    state.size = static_cast<std::uint64_t>(st.st_size);
    state.progress = &progress;
    std::string target = api_target("upload", {}, {{"filename", file.filename().string()}});
    try {
        return perform(
            handle_->curl.get(), handle_->error_buffer, options_, target, {"POST", &state});
    } catch (const TransportError&) {
        if (state.read_errno != 0) {
            throw Error("reading " + file.string() + ": " + std::strerror(state.read_errno));
        }
        throw;
    }
}

}  // namespace patching::client
