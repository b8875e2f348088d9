// SPDX-License-Identifier: Apache-2.0
#include "net/http_client.hpp"

#include <patch_core/errors.hpp>

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <mutex>
#include <string_view>
#include <utility>

namespace patching::agent {

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
    static std::once_flag once;
    static CURLcode rc = CURLE_OK;
    std::call_once(once, [] { rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
    if (rc != CURLE_OK) {
        throw core::Error(std::string("cannot initialise libcurl: ") + curl_easy_strerror(rc));
    }
}

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
        return static_cast<char>(std::tolower(c));
    });
    return out;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0) {
        text.remove_prefix(1);
    }
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) {
        text.remove_suffix(1);
    }
    return text;
}

/// Where the body of one transfer goes, and why it stopped if we stopped it.
struct Sink {
    std::string* memory = nullptr;
    std::FILE* file = nullptr;
    std::uint64_t max_bytes = 0;
    std::uint64_t received = 0;
    bool too_large = false;
    int write_errno = 0;
    std::map<std::string, std::string> headers;  ///< Of the last response, lower-case names.
};

size_t write_body(char* data, size_t size, size_t count, void* user) {
    auto* sink = static_cast<Sink*>(user);
    size_t n = size * count;
    if (n > sink->max_bytes - sink->received) {
        sink->too_large = true;
        return 0;  // libcurl aborts the transfer with CURLE_WRITE_ERROR
    }
    sink->received += n;
    if (sink->file != nullptr) {
        errno = 0;
        if (std::fwrite(data, 1, n, sink->file) != n) {
            sink->write_errno = errno != 0 ? errno : EIO;
            return 0;
        }
        return n;
    }
    try {
        sink->memory->append(data, n);
    } catch (...) {
        // Exceptions must not cross libcurl's C frames.
        sink->write_errno = ENOMEM;
        return 0;
    }
    return n;
}

size_t write_header(char* data, size_t size, size_t count, void* user) {
    auto* sink = static_cast<Sink*>(user);
    size_t n = size * count;
    std::string_view line(data, n);
    try {
        // A new status line starts a new response (100 Continue, then the real one): only the
        // last response's headers are kept.
        if (line.starts_with("HTTP/")) {
            sink->headers.clear();
            return n;
        }
        auto colon = line.find(':');
        if (colon != std::string_view::npos) {
            sink->headers[lower(trim(line.substr(0, colon)))] =
                std::string(trim(line.substr(colon + 1)));
        }
    } catch (...) {
        return 0;
    }
    return n;
}

/// What to check, for people reading the error.
std::string advice(CURLcode rc) {
    switch (rc) {
        case CURLE_COULDNT_CONNECT:
            return "check that the server is running and that the host and port in the URL are "
                   "right";
        case CURLE_COULDNT_RESOLVE_HOST:
            return "check the host name in the URL and the host's DNS or /etc/hosts";
        case CURLE_OPERATION_TIMEDOUT:
            return "check the network and the server's load, or allow a longer timeout";
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CERTPROBLEM:
            return "check the ca_file setting and that the server's certificate is issued for this "
                   "host name";
        case CURLE_UNSUPPORTED_PROTOCOL:
            return "use an http://, https:// or file:// URL";
        case CURLE_URL_MALFORMAT:
            return "check the URL's syntax";
        case CURLE_FILE_COULDNT_READ_FILE:
            return "check that the file exists and is readable";
        default:
            return "check the URL and that the server is reachable";
    }
}

// libcurl calls this about once a second while idle and on every transfer; non-zero aborts.
int abort_check(void* flag, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<const std::atomic<bool>*>(flag)->load() ? 1 : 0;
}

}  // namespace

struct HttpClient::Impl {
    HttpClientOptions options;
    CurlPtr curl;
    char error_buffer[CURL_ERROR_SIZE] = {};

    struct Request {
        const std::string* url = nullptr;
        const std::string* post_body = nullptr;  ///< nullptr: GET.
        const std::map<std::string, std::string>* headers = nullptr;
        std::chrono::milliseconds timeout{0};
    };

    /// Runs one transfer into `sink`; returns the status (200/404 for file:// URLs).
    long perform(const Request& request, Sink& sink);
};

long HttpClient::Impl::perform(const Request& request, Sink& sink) {
    CURL* handle = curl.get();
    const std::string& url = *request.url;
    // URLs can come from a repository's metadata: keep control bytes out of messages.
    const std::string shown = core::escape_unprintable(url);
    // Reset keeps the connection cache, so consecutive requests to one server reuse a
    // connection; it drops every option of the previous request.
    curl_easy_reset(handle);
    error_buffer[0] = '\0';

    curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
    // Without NOSIGNAL libcurl uses SIGALRM for DNS timeouts, which is unsafe in threads.
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    // 16 KiB (the default) means 64 reads and writes per MiB of package; 512 KiB is libcurl's
    // maximum and cuts a loopback download of ten 1 MiB packages by about a third.
    curl_easy_setopt(handle, CURLOPT_BUFFERSIZE, 512L * 1024L);
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(handle, CURLOPT_USERAGENT, "patch-agent/1");
    curl_easy_setopt(
        handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, write_header);
    curl_easy_setopt(handle, CURLOPT_HEADERDATA, &sink);
    // Refuses early when Content-Length already announces too much; the write callback
    // catches bodies without one.
    constexpr auto CURL_OFF_MAX =
        static_cast<std::uint64_t>(std::numeric_limits<curl_off_t>::max());
    curl_easy_setopt(
        handle, CURLOPT_MAXFILESIZE_LARGE,
        static_cast<curl_off_t>(std::min(sink.max_bytes, CURL_OFF_MAX)));
    if (!options.ca_file.empty()) {
        curl_easy_setopt(handle, CURLOPT_CAINFO, options.ca_file.c_str());
    }

    SlistPtr header_list;
    auto add_header = [&header_list](const std::string& line) {
        curl_slist* next = curl_slist_append(header_list.get(), line.c_str());
        if (next == nullptr) {
            throw core::Error("out of memory building HTTP request headers");
        }
        static_cast<void>(header_list.release());
        header_list.reset(next);
    };
    bool has_content_type = false;
    add_header("X-Patching-Client: patch-agent/1");  // our clients' header (core::rest::CLIENT_HEADER)
    if (request.headers != nullptr) {
        for (const auto& [name, value] : *request.headers) {
            has_content_type = has_content_type || lower(name) == "content-type";
            // "Name;" is libcurl's way to send a header with an empty value.
            add_header(value.empty() ? name + ";" : name + ": " + value);
        }
    }
    if (request.post_body != nullptr) {
        curl_easy_setopt(handle, CURLOPT_POST, 1L);
        curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.post_body->data());
        curl_easy_setopt(
            handle, CURLOPT_POSTFIELDSIZE_LARGE,
            static_cast<curl_off_t>(request.post_body->size()));
        if (!has_content_type) {
            add_header("Content-Type: application/octet-stream");
        }
        // Waiting for "100 Continue" only adds a round trip (or a 1 s stall) here.
        add_header("Expect:");
    }
    if (header_list) {
        curl_easy_setopt(handle, CURLOPT_HTTPHEADER, header_list.get());
    }

    if (options.abort != nullptr) {
        curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, abort_check);
        curl_easy_setopt(handle, CURLOPT_XFERINFODATA, options.abort);
    }
    CURLcode rc = curl_easy_perform(handle);
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        throw core::Error("request to " + shown + " abandoned: the agent is stopping");
    }
    if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        throw core::Error(
            "response from " + shown + " is larger than " + std::to_string(sink.max_bytes) +
            " bytes: check that the URL names the intended file, or raise the limit");
    }
    if (sink.write_errno != 0) {
        throw core::SystemError(sink.write_errno, "cannot store the response from " + shown);
    }
    char* scheme = nullptr;
    curl_easy_getinfo(handle, CURLINFO_SCHEME, &scheme);
    bool is_file = scheme != nullptr && lower(scheme) == "file";
    // file:// has no status: map "could not open" to 404 so callers treat a missing local
    // file like a missing remote one.
    if (is_file && rc == CURLE_FILE_COULDNT_READ_FILE) {
        return 404;
    }
    if (rc != CURLE_OK) {
        std::string explanation = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);
        throw core::Error("request to " + shown + " failed: " + explanation + "; " + advice(rc));
    }
    if (is_file) {
        return 200;
    }
    long status = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

HttpClient::HttpClient(HttpClientOptions options) : impl_(std::make_unique<Impl>()) {
    global_init_once();
    impl_->options = std::move(options);
    impl_->curl.reset(curl_easy_init());
    if (!impl_->curl) {
        throw core::Error("cannot create a libcurl handle (out of memory?)");
    }
}

HttpClient::~HttpClient() = default;

HttpResult HttpClient::get(
    const std::string& url,
    std::chrono::milliseconds timeout,
    const std::map<std::string, std::string>& headers) {
    HttpResult result;
    Sink sink;
    sink.memory = &result.body;
    sink.max_bytes = impl_->options.max_response_bytes;
    result.status = impl_->perform({&url, nullptr, &headers, timeout}, sink);
    result.headers = std::move(sink.headers);
    return result;
}

HttpResult HttpClient::post(
    const std::string& url,
    const std::string& body,
    std::chrono::milliseconds timeout,
    const std::map<std::string, std::string>& headers) {
    HttpResult result;
    Sink sink;
    sink.memory = &result.body;
    sink.max_bytes = impl_->options.max_response_bytes;
    result.status = impl_->perform({&url, &body, &headers, timeout}, sink);
    result.headers = std::move(sink.headers);
    return result;
}

long HttpClient::download(
    const std::string& url,
    const std::filesystem::path& file,
    std::uint64_t max_bytes,
    std::chrono::milliseconds timeout) {
    FilePtr out(std::fopen(file.c_str(), "wb"));
    if (!out) {
        throw core::SystemError(
            errno, "cannot create the file to download " + core::escape_unprintable(url) + " into",
            file);
    }
    Sink sink;
    sink.file = out.get();
    sink.max_bytes = max_bytes;
    long status = impl_->perform({&url, nullptr, nullptr, timeout}, sink);
    // fclose flushes: a full disk may only show up here.
    if (std::fclose(out.release()) != 0) {
        throw core::SystemError(
            errno, "cannot write the download of " + core::escape_unprintable(url), file);
    }
    return status;
}

}  // namespace patching::agent
