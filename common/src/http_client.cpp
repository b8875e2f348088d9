// SPDX-License-Identifier: Apache-2.0
#include <common/http_client.hpp>

#include <common/c_handles.hpp>
#include <common/text.hpp>

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <mutex>
#include <string_view>

namespace patching::common::http {

namespace {

using CurlPtr = CHandle<CURL, curl_easy_cleanup>;
using SlistPtr = CHandle<curl_slist, curl_slist_free_all>;
using MultiPtr = CHandle<CURLM, curl_multi_cleanup>;

void global_init_once() {
    static std::once_flag once;
    static CURLcode rc = CURLE_OK;
    std::call_once(once, [] { rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
    if (rc != CURLE_OK) {
        throw Error(
            ErrorKind::OTHER, std::string("cannot initialise libcurl: ") + curl_easy_strerror(rc));
    }
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

/// The body sent from a file, and the progress callback.
struct Source {
    FilePtr file;
    std::string name;
    std::uint64_t size = 0;
    int read_errno = 0;
    const ProgressFn* progress = nullptr;
    const std::atomic<bool>* abort = nullptr;
    std::exception_ptr callback_error;  ///< What the progress callback threw.
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

size_t read_body(char* buffer, size_t size, size_t count, void* user) {
    auto* source = static_cast<Source*>(user);
    const size_t n = std::fread(buffer, 1, size * count, source->file.get());
    if (n == 0 && std::ferror(source->file.get()) != 0) {
        source->read_errno = errno != 0 ? errno : EIO;
        return CURL_READFUNC_ABORT;
    }
    return n;
}

// libcurl calls this about once a second while idle and on every transfer; non-zero aborts.
int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t ulnow) {
    auto* source = static_cast<Source*>(user);
    if (source->abort != nullptr && source->abort->load()) {
        return 1;
    }
    if (source->progress != nullptr && *source->progress) {
        // Exceptions must not cross libcurl's C frames: kept, and rethrown once it returns.
        try {
            (*source->progress)(static_cast<std::uint64_t>(ulnow), source->size);
        } catch (...) {
            source->callback_error = std::current_exception();
            return 1;
        }
    }
    return 0;
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

ErrorKind kind_of(CURLcode rc) {
    switch (rc) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
            return ErrorKind::CONNECT;
        case CURLE_OPERATION_TIMEDOUT:
            return ErrorKind::TIMEOUT;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CERTPROBLEM:
            return ErrorKind::TLS;
        default:
            return ErrorKind::OTHER;
    }
}

/// One transfer: its easy handle and everything libcurl's callbacks reach. Lives at a fixed
/// address (the callbacks hold pointers into it) from configure() to its destruction, which
/// detaches it from the multi handle first.
struct Transfer {
    CURLM* multi = nullptr;  ///< Set while attached.
    CurlPtr easy;
    Sink sink;
    Source source;
    UniqueFd file;
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

struct Client::Impl {
    ClientOptions options;
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
};

std::unique_ptr<Transfer> Client::Impl::new_transfer() {
    auto t = std::make_unique<Transfer>();
    if (!idle.empty()) {
        t->easy = std::move(idle.back());
        idle.pop_back();
        // Reset drops every option of the previous transfer; the connection pool is the multi's.
        curl_easy_reset(t->easy.get());
    } else {
        t->easy.reset(curl_easy_init());
        if (!t->easy) {
            throw Error(ErrorKind::OTHER, "cannot create a libcurl handle (out of memory?)");
        }
    }
    return t;
}

void Client::Impl::release(std::unique_ptr<Transfer> transfer) {
    transfer->detach();
    idle.push_back(std::move(transfer->easy));
}

void Client::Impl::configure(Transfer& t, const Request& request) {
    CURL* handle = t.easy.get();
    // URLs can come from a repository's metadata: keep control bytes out of messages.
    t.shown_url = escape_unprintable(request.url);
    t.error_buffer[0] = '\0';

    curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, t.error_buffer.data());
    // Without NOSIGNAL libcurl uses SIGALRM for DNS timeouts, which is unsafe in threads.
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    // 16 KiB (the default) means 64 reads and writes per MiB of package; 512 KiB is libcurl's
    // maximum and cuts a loopback download of ten 1 MiB packages by about a third.
    curl_easy_setopt(handle, CURLOPT_BUFFERSIZE, 512L * 1024L);
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, options.protocols.c_str());
    curl_easy_setopt(handle, CURLOPT_USERAGENT, options.user_agent.c_str());
    curl_easy_setopt(
        handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
    if (options.path_as_is) {
        curl_easy_setopt(handle, CURLOPT_PATH_AS_IS, 1L);
    }
    if (options.no_proxy) {
        curl_easy_setopt(handle, CURLOPT_PROXY, "");
    }
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
            throw Error(ErrorKind::OTHER, "out of memory building HTTP request headers");
        }
        static_cast<void>(t.header_list.release());
        t.header_list.reset(next);
    };
    for (const auto& line : options.default_headers) {
        add_header(line);
    }
    for (const auto& line : request.headers) {
        add_header(line);
    }
    const bool has_body = request.body || request.body_file;
    if (has_body) {
        // Waiting for "100 Continue" only adds a round trip (or a 1 s stall) here.
        add_header("Expect:");
    }
    if (t.header_list) {
        curl_easy_setopt(handle, CURLOPT_HTTPHEADER, t.header_list.get());
    }

    if (request.body_file) {
        const std::string name = request.body_file->string();
        t.source.file.reset(std::fopen(name.c_str(), "rb"));
        struct stat st {};
        if (!t.source.file || ::fstat(::fileno(t.source.file.get()), &st) != 0) {
            const int e = errno;
            throw Error(
                ErrorKind::LOCAL_IO, "cannot open " + name + ": " + std::strerror(e), {}, e);
        }
        if (!S_ISREG(st.st_mode)) {
            throw Error(ErrorKind::LOCAL_IO, name + " is not a regular file", {}, EINVAL);
        }
        t.source.size = static_cast<std::uint64_t>(st.st_size);
        t.source.name = name;
        curl_easy_setopt(handle, CURLOPT_POST, 1L);
        curl_easy_setopt(handle, CURLOPT_READFUNCTION, read_body);
        curl_easy_setopt(handle, CURLOPT_READDATA, &t.source);
        curl_easy_setopt(
            handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t.source.size));
    } else if (request.body) {
        curl_easy_setopt(handle, CURLOPT_POST, 1L);
        curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.body->data());
        curl_easy_setopt(
            handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body->size()));
    }
    if (request.method == "HEAD") {
        curl_easy_setopt(handle, CURLOPT_NOBODY, 1L);
    } else if (request.method == "GET" && !has_body) {
        curl_easy_setopt(handle, CURLOPT_HTTPGET, 1L);
    } else if (request.method != "POST" || !has_body) {
        curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    if (request.body_file && request.stall_timeout.count() > 0) {
        curl_easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(handle, CURLOPT_LOW_SPEED_TIME, static_cast<long>(request.stall_timeout.count()));
    } else {
        curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    }
    if (request.max_send_bytes_per_second > 0) {
        curl_easy_setopt(
            handle, CURLOPT_MAX_SEND_SPEED_LARGE,
            static_cast<curl_off_t>(request.max_send_bytes_per_second));
    }
    t.source.abort = options.abort;
    t.source.progress = request.body_file ? &request.on_upload_progress : nullptr;
    if (options.abort != nullptr || (t.source.progress != nullptr && *t.source.progress)) {
        curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(handle, CURLOPT_XFERINFODATA, &t.source);
    }
}

void Client::Impl::attach(Transfer& t) {
    const CURLMcode mc = curl_multi_add_handle(multi.get(), t.easy.get());
    if (mc != CURLM_OK) {
        throw Error(
            ErrorKind::OTHER,
            "cannot start the request to " + t.shown_url + ": " + curl_multi_strerror(mc));
    }
    t.multi = multi.get();
}

std::pair<CURL*, CURLcode> Client::Impl::next_done() {
    for (;;) {
        int running = 0;
        CURLMcode mc = curl_multi_perform(multi.get(), &running);
        if (mc != CURLM_OK) {
            throw Error(ErrorKind::OTHER, std::string("libcurl failed: ") + curl_multi_strerror(mc));
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
            throw Error(ErrorKind::OTHER, std::string("libcurl failed: ") + curl_multi_strerror(mc));
        }
    }
}

long Client::Impl::result_of(Transfer& t, CURLcode rc) const {
    CURL* handle = t.easy.get();
    const Sink& sink = t.sink;
    if (sink.callback_error) {
        std::rethrow_exception(sink.callback_error);
    }
    if (t.source.callback_error) {
        std::rethrow_exception(t.source.callback_error);
    }
    if (t.source.read_errno != 0) {
        throw Error(
            ErrorKind::LOCAL_IO,
            "reading " + t.source.name + ": " + std::strerror(t.source.read_errno),
            {}, t.source.read_errno);
    }
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        throw Error(ErrorKind::ABORTED, "request to " + t.shown_url + " abandoned: the program is stopping");
    }
    if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        throw Error(
            ErrorKind::TOO_LARGE,
            "response from " + t.shown_url + " is larger than " + std::to_string(sink.max_bytes) +
                " bytes: check that the URL names the intended file, or raise the limit");
    }
    if (sink.write_errno != 0) {
        throw Error(
            ErrorKind::LOCAL_IO,
            "cannot store the response from " + t.shown_url + ": " + std::strerror(sink.write_errno),
            {}, sink.write_errno);
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
        Error error(
            kind_of(rc),
            "request to " + t.shown_url + " failed: " + explanation + "; " + advice(rc),
            explanation);
        long status = 0;
        curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
        error.set_partial_response(status, sink.memory != nullptr ? *sink.memory : std::string());
        throw error;
    }
    if (is_file) {
        return 200;
    }
    long status = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>()) {
    global_init_once();
    impl_->options = std::move(options);
    impl_->multi.reset(curl_multi_init());
    if (!impl_->multi) {
        throw Error(ErrorKind::OTHER, "cannot create a libcurl multi handle (out of memory?)");
    }
}

Client::~Client() = default;

Response Client::send(const Request& request) {
    Response response;
    std::unique_ptr<Transfer> t = impl_->new_transfer();
    t->sink.memory = &response.body;
    t->sink.max_bytes = impl_->options.max_response_bytes;
    impl_->configure(*t, request);
    impl_->attach(*t);
    CURLcode rc = CURLE_OK;
    for (;;) {
        auto [handle, result] = impl_->next_done();
        if (handle == t->easy.get()) {
            rc = result;
            break;
        }
    }
    t->detach();
    response.status = impl_->result_of(*t, rc);
    response.headers = std::move(t->sink.headers);
    char* type = nullptr;
    if (curl_easy_getinfo(t->easy.get(), CURLINFO_CONTENT_TYPE, &type) == CURLE_OK &&
        type != nullptr) {
        response.content_type = type;
    }
    impl_->release(std::move(t));
    return response;
}

namespace {

std::vector<std::string> header_lines(const std::map<std::string, std::string>& headers) {
    std::vector<std::string> lines;
    for (const auto& [name, value] : headers) {
        // "Name;" is libcurl's way to send a header with an empty value.
        lines.push_back(value.empty() ? name + ";" : name + ": " + value);
    }
    return lines;
}

}  // namespace

Response Client::get(
    const std::string& url,
    std::chrono::milliseconds timeout,
    const std::map<std::string, std::string>& headers) {
    Request request;
    request.url = url;
    request.timeout = timeout;
    request.headers = header_lines(headers);
    return send(request);
}

Response Client::post(
    const std::string& url,
    const std::string& body,
    std::chrono::milliseconds timeout,
    const std::map<std::string, std::string>& headers) {
    Request request;
    request.method = "POST";
    request.url = url;
    request.timeout = timeout;
    request.body = body;
    request.headers = header_lines(headers);
    const bool has_content_type = std::any_of(headers.begin(), headers.end(), [](const auto& h) {
        return ascii_lower(h.first) == "content-type";
    });
    if (!has_content_type) {
        request.headers.emplace_back("Content-Type: application/octet-stream");
    }
    return send(request);
}

long Client::download(
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

std::optional<DownloadFailure> Client::download_all(
    const std::vector<DownloadRequest>& requests,
    std::chrono::milliseconds timeout,
    std::size_t max_parallel) {
    std::vector<std::unique_ptr<Transfer>> running;
    std::size_t next = 0;
    auto store_error = [](const DownloadRequest& r, int error) {
        return Error(
            ErrorKind::LOCAL_IO,
            "cannot write the download of " + escape_unprintable(r.url) + " " + r.file.string() +
                ": " + std::strerror(error),
            {}, error);
    };
    auto start_next = [&] {
        const DownloadRequest& r = requests[next];
        std::unique_ptr<Transfer> t = impl_->new_transfer();
        t->index = next++;
        t->file = UniqueFd(::open(r.file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!t->file) {
            const int e = errno;
            throw Error(
                ErrorKind::LOCAL_IO,
                "cannot create the file to download " + escape_unprintable(r.url) + " into " +
                    r.file.string() + ": " + std::strerror(e),
                {}, e);
        }
        t->sink.file = t->file.get();
        t->sink.pending.reserve(FILE_WRITE_SIZE + CURL_MAX_WRITE_SIZE);
        t->sink.on_data = &r.on_data;
        t->sink.max_bytes = r.max_bytes;
        Request request;
        request.url = r.url;
        request.timeout = timeout;
        impl_->configure(*t, request);
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
            if (it == running.end()) {
                continue;  // not one of ours: cannot happen, the multi handle is this client's
            }
            std::unique_ptr<Transfer> t = std::move(*it);
            running.erase(it);
            t->detach();
            current = t->index;
            const DownloadRequest& r = requests[t->index];
            const long status = impl_->result_of(*t, rc);
            if (!flush_file(t->sink)) {
                throw store_error(r, t->sink.write_errno);
            }
            if (::close(t->file.release()) != 0) {
                throw store_error(r, errno);
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
    } catch (...) {
        return DownloadFailure{current, std::current_exception()};
    }
    return std::nullopt;
}

}  // namespace patching::common::http
