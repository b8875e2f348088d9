// SPDX-License-Identifier: Apache-2.0
#include "net/http_client.hpp"
#include "text.hpp"

#include <patch_core/errors.hpp>
#include <patch_core/fs.hpp>

#include <curl/curl.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

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

void global_init_once() {
    static std::once_flag once;
    static CURLcode rc = CURLE_OK;
    std::call_once(once, [] { rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
    if (rc != CURLE_OK) {
        throw core::Error(std::string("cannot initialise libcurl: ") + curl_easy_strerror(rc));
    }
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
    int file = -1;
    /// libcurl hands over at most 16 KiB per call: a file's data is gathered here and written
    /// 256 KiB at a time (flush_file()), which is 16 times fewer write(2) calls.
    std::vector<char> pending;
    const std::function<void(std::span<const std::byte>)>* on_data = nullptr;  ///< Files only.
    std::uint64_t max_bytes = 0;
    std::uint64_t received = 0;
    bool too_large = false;
    int write_errno = 0;
    std::exception_ptr callback_error;           ///< What on_data threw.
    std::map<std::string, std::string> headers;  ///< Of the last response, lower-case names.
};

constexpr size_t FILE_WRITE_SIZE = 256U << 10U;

// Writes what the sink has gathered; false (and write_errno set) if the file refuses it.
bool flush_file(Sink& sink) {
    for (size_t written = 0; written < sink.pending.size();) {
        const ssize_t w =
            ::write(sink.file, sink.pending.data() + written, sink.pending.size() - written);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            sink.write_errno = w < 0 ? errno : EIO;
            return false;
        }
        written += static_cast<size_t>(w);
    }
    sink.pending.clear();
    return true;
}

size_t write_body(char* data, size_t size, size_t count, void* user) {
    auto* sink = static_cast<Sink*>(user);
    size_t n = size * count;
    if (n > sink->max_bytes - sink->received) {
        sink->too_large = true;
        return 0;  // libcurl aborts the transfer with CURLE_WRITE_ERROR
    }
    sink->received += n;
    if (sink->file >= 0) {
        try {
            sink->pending.insert(sink->pending.end(), data, data + n);
        } catch (...) {
            sink->write_errno = ENOMEM;
            return 0;
        }
        if (sink->pending.size() >= FILE_WRITE_SIZE && !flush_file(*sink)) {
            return 0;
        }
        if (sink->on_data != nullptr && *sink->on_data) {
            // Exceptions must not cross libcurl's C frames: kept, and rethrown once it returns.
            try {
                (*sink->on_data)(std::as_bytes(std::span<const char>(data, n)));
            } catch (...) {
                sink->callback_error = std::current_exception();
                return 0;
            }
        }
        return n;
    }
    try {
        sink->memory->append(data, n);
    } catch (...) {
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
            sink->headers[ascii_lower(trim(line.substr(0, colon)))] =
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

using MultiPtr = std::unique_ptr<CURLM, CFree<curl_multi_cleanup>>;

struct Request {
    const std::string* url = nullptr;
    const std::string* post_body = nullptr;  ///< nullptr: GET.
    const std::map<std::string, std::string>* headers = nullptr;
    std::chrono::milliseconds timeout{0};
};

/// One transfer: its easy handle and everything libcurl's callbacks reach. Lives at a fixed
/// address (the callbacks hold pointers into it) from configure() to its destruction, which
/// detaches it from the multi handle first.
struct Transfer {
    CURLM* multi = nullptr;  ///< Set while attached.
    CurlPtr easy;
    Sink sink;
    core::UniqueFd file;
    SlistPtr header_list;
    std::string shown_url;
    std::size_t index = 0;
    std::array<char, CURL_ERROR_SIZE> error_buffer{};

    Transfer() = default;
    Transfer(const Transfer&) = delete;
    Transfer& operator=(const Transfer&) = delete;
    ~Transfer() { detach(); }
    void detach() {
        if (multi != nullptr) {
            curl_multi_remove_handle(multi, easy.get());
            multi = nullptr;
        }
    }
};

}  // namespace

struct HttpClient::Impl {
    HttpClientOptions options;
    /// Every transfer runs on this multi handle, so single requests and parallel downloads
    /// share one pool of kept-alive connections.
    MultiPtr multi;
    std::vector<CurlPtr> idle;  ///< Easy handles of finished transfers, for reuse.

    std::unique_ptr<Transfer> new_transfer();
    void release(std::unique_ptr<Transfer> transfer);
    /// Sets every option of `t` for `request` into its sink.
    void configure(Transfer& t, const Request& request);
    void attach(Transfer& t);
    /// Drives the attached transfers until one finishes; returns its handle and result.
    std::pair<CURL*, CURLcode> next_done();
    /// The status of a finished transfer (200/404 for file:// URLs), or throws why it failed.
    long result_of(Transfer& t, CURLcode rc) const;
    /// Runs one transfer to its end.
    long perform(const Request& request, Sink& sink);
};

std::unique_ptr<Transfer> HttpClient::Impl::new_transfer() {
    auto t = std::make_unique<Transfer>();
    if (!idle.empty()) {
        t->easy = std::move(idle.back());
        idle.pop_back();
        // Reset drops every option of the previous transfer; the connection pool is the multi's.
        curl_easy_reset(t->easy.get());
    } else {
        t->easy.reset(curl_easy_init());
        if (!t->easy) {
            throw core::Error("cannot create a libcurl handle (out of memory?)");
        }
    }
    return t;
}

void HttpClient::Impl::release(std::unique_ptr<Transfer> transfer) {
    transfer->detach();
    idle.push_back(std::move(transfer->easy));
}

void HttpClient::Impl::configure(Transfer& t, const Request& request) {
    CURL* handle = t.easy.get();
    const std::string& url = *request.url;
    // URLs can come from a repository's metadata: keep control bytes out of messages.
    t.shown_url = core::escape_unprintable(url);
    t.error_buffer[0] = '\0';

    curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, t.error_buffer.data());
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
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &t.sink);
    curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, write_header);
    curl_easy_setopt(handle, CURLOPT_HEADERDATA, &t.sink);
    // Refuses early when Content-Length already announces too much; the write callback
    // catches bodies without one.
    constexpr auto CURL_OFF_MAX =
        static_cast<std::uint64_t>(std::numeric_limits<curl_off_t>::max());
    curl_easy_setopt(
        handle, CURLOPT_MAXFILESIZE_LARGE,
        static_cast<curl_off_t>(std::min(t.sink.max_bytes, CURL_OFF_MAX)));
    if (!options.ca_file.empty()) {
        curl_easy_setopt(handle, CURLOPT_CAINFO, options.ca_file.c_str());
    }

    auto add_header = [&t](const std::string& line) {
        curl_slist* next = curl_slist_append(t.header_list.get(), line.c_str());
        if (next == nullptr) {
            throw core::Error("out of memory building HTTP request headers");
        }
        static_cast<void>(t.header_list.release());
        t.header_list.reset(next);
    };
    bool has_content_type = false;
    add_header("X-Patching-Client: patch-agent/1");  // our clients' header (core::rest::CLIENT_HEADER)
    if (request.headers != nullptr) {
        for (const auto& [name, value] : *request.headers) {
            has_content_type = has_content_type || ascii_lower(name) == "content-type";
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
    if (t.header_list) {
        curl_easy_setopt(handle, CURLOPT_HTTPHEADER, t.header_list.get());
    }

    if (options.abort != nullptr) {
        curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, abort_check);
        curl_easy_setopt(handle, CURLOPT_XFERINFODATA, options.abort);
    }
}

void HttpClient::Impl::attach(Transfer& t) {
    const CURLMcode mc = curl_multi_add_handle(multi.get(), t.easy.get());
    if (mc != CURLM_OK) {
        throw core::Error(
            "cannot start the request to " + t.shown_url + ": " + curl_multi_strerror(mc));
    }
    t.multi = multi.get();
}

std::pair<CURL*, CURLcode> HttpClient::Impl::next_done() {
    for (;;) {
        int running = 0;
        CURLMcode mc = curl_multi_perform(multi.get(), &running);
        if (mc != CURLM_OK) {
            throw core::Error(std::string("libcurl failed: ") + curl_multi_strerror(mc));
        }
        int queued = 0;
        while (CURLMsg* msg = curl_multi_info_read(multi.get(), &queued)) {
            if (msg->msg == CURLMSG_DONE) {
                return {msg->easy_handle, msg->data.result};
            }
        }
        // Wakes on socket activity or libcurl's next timeout; the 1 s cap keeps the abort
        // check (the transfer's progress callback) running while a long poll is held.
        mc = curl_multi_poll(multi.get(), nullptr, 0, 1000, nullptr);
        if (mc != CURLM_OK) {
            throw core::Error(std::string("libcurl failed: ") + curl_multi_strerror(mc));
        }
    }
}

long HttpClient::Impl::result_of(Transfer& t, CURLcode rc) const {
    CURL* handle = t.easy.get();
    const Sink& sink = t.sink;
    if (sink.callback_error) {
        std::rethrow_exception(sink.callback_error);
    }
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        throw core::Error("request to " + t.shown_url + " abandoned: the agent is stopping");
    }
    if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        throw core::Error(
            "response from " + t.shown_url + " is larger than " + std::to_string(sink.max_bytes) +
            " bytes: check that the URL names the intended file, or raise the limit");
    }
    if (sink.write_errno != 0) {
        throw core::SystemError(sink.write_errno, "cannot store the response from " + t.shown_url);
    }
    char* scheme = nullptr;
    curl_easy_getinfo(handle, CURLINFO_SCHEME, &scheme);
    bool is_file = scheme != nullptr && ascii_lower(scheme) == "file";
    // file:// has no status: map "could not open" to 404 so callers treat a missing local
    // file like a missing remote one.
    if (is_file && rc == CURLE_FILE_COULDNT_READ_FILE) {
        return 404;
    }
    if (rc != CURLE_OK) {
        std::string explanation =
            t.error_buffer[0] != '\0' ? t.error_buffer.data() : curl_easy_strerror(rc);
        throw core::Error(
            "request to " + t.shown_url + " failed: " + explanation + "; " + advice(rc));
    }
    if (is_file) {
        return 200;
    }
    long status = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

long HttpClient::Impl::perform(const Request& request, Sink& sink) {
    std::unique_ptr<Transfer> t = new_transfer();
    t->sink = std::move(sink);
    configure(*t, request);
    attach(*t);
    CURLcode rc = CURLE_OK;
    for (;;) {
        auto [handle, result] = next_done();
        if (handle == t->easy.get()) {
            rc = result;
            break;
        }
    }
    t->detach();
    sink = std::move(t->sink);
    const long status = result_of(*t, rc);
    release(std::move(t));
    return status;
}

HttpClient::HttpClient(HttpClientOptions options) : impl_(std::make_unique<Impl>()) {
    global_init_once();
    impl_->options = std::move(options);
    impl_->multi.reset(curl_multi_init());
    if (!impl_->multi) {
        throw core::Error("cannot create a libcurl multi handle (out of memory?)");
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
    long status = 0;
    DownloadRequest request{url, file, max_bytes, {}, [&status](long s) { status = s; }};
    if (auto failure = download_all({request}, timeout, 1)) {
        std::rethrow_exception(failure->error);
    }
    return status;
}

std::optional<DownloadFailure> HttpClient::download_all(
    const std::vector<DownloadRequest>& requests,
    std::chrono::milliseconds timeout,
    std::size_t max_parallel) {
    std::vector<std::unique_ptr<Transfer>> running;
    std::size_t next = 0;
    auto start_next = [&] {
        const DownloadRequest& r = requests[next];
        std::unique_ptr<Transfer> t = impl_->new_transfer();
        t->index = next++;
        t->file = core::UniqueFd(
            ::open(r.file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!t->file) {
            throw core::SystemError(
                errno,
                "cannot create the file to download " + core::escape_unprintable(r.url) + " into",
                r.file);
        }
        t->sink.file = t->file.get();
        t->sink.pending.reserve(FILE_WRITE_SIZE + CURL_MAX_WRITE_SIZE);
        t->sink.on_data = &r.on_data;
        t->sink.max_bytes = r.max_bytes;
        impl_->configure(*t, {&r.url, nullptr, nullptr, timeout});
        impl_->attach(*t);
        running.push_back(std::move(t));
    };
    // The transfers still running when this returns early are detached by their destructors.
    std::size_t current = 0;
    try {
        max_parallel = std::max<std::size_t>(max_parallel, 1);
        while (next < requests.size() && running.size() < max_parallel) {
            current = next;
            start_next();
        }
        while (!running.empty()) {
            auto [handle, rc] = impl_->next_done();
            auto it = std::find_if(running.begin(), running.end(), [handle = handle](const auto& t) {
                return t->easy.get() == handle;
            });
            PATCHING_ASSERT(it != running.end(), "libcurl finished a transfer it was not given");
            std::unique_ptr<Transfer> t = std::move(*it);
            running.erase(it);
            t->detach();
            current = t->index;
            const DownloadRequest& r = requests[t->index];
            const long status = impl_->result_of(*t, rc);
            if (!flush_file(t->sink)) {
                throw core::SystemError(
                    t->sink.write_errno,
                    "cannot write the download of " + core::escape_unprintable(r.url), r.file);
            }
            if (::close(t->file.release()) != 0) {
                throw core::SystemError(
                    errno, "cannot write the download of " + core::escape_unprintable(r.url),
                    r.file);
            }
            if (r.on_done) {
                r.on_done(status);
            }
            impl_->release(std::move(t));
            if (next < requests.size()) {
                current = next;
                start_next();
            }
        }
    } catch (const core::AssertionError&) {
        throw;
    } catch (...) {
        return DownloadFailure{current, std::current_exception()};
    }
    return std::nullopt;
}

}  // namespace patching::agent
