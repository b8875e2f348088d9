// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace patching::test {

/// One request as the fake controller received it.
struct RecordedRequest {
    std::string method;
    std::string target;
    std::map<std::string, std::string> headers;  ///< names lower-cased
    std::string body;

    /// The header value, or "" when absent.
    std::string header(const std::string& name) const;
};

/// What the fake controller answers.
struct CannedResponse {
    unsigned status = 200;
    std::string body = "{}";
    std::string content_type = "application/json";
};

/// A tiny synchronous HTTP/1.1 server (Boost.Beast) on 127.0.0.1 and an ephemeral port, served
/// by one background thread, one request per connection. Records every request and answers with
/// the handler's CannedResponse.
class FakeController {
public:
    using Handler = std::function<CannedResponse(const RecordedRequest&)>;

    /// Starts listening at once. The default handler answers 200 "{}".
    explicit FakeController(Handler handler = {});
    ~FakeController();
    FakeController(const FakeController&) = delete;
    FakeController& operator=(const FakeController&) = delete;

    /// "http://127.0.0.1:<port>"
    std::string url() const;
    /// A copy of the requests received so far.
    std::vector<RecordedRequest> requests() const;
    /// The targets ("METHOD /path?query") received so far.
    std::vector<std::string> targets() const;
    void set_handler(Handler handler);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// A handler answering by "METHOD target-prefix" (longest matching prefix wins), 404 otherwise.
FakeController::Handler route_table(std::map<std::string, CannedResponse> routes);

/// A TCP port on 127.0.0.1 with nothing listening (bound, then released).
unsigned short closed_port();

}  // namespace patching::test
