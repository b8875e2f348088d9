// SPDX-License-Identifier: Apache-2.0
// The agent's names for the shared HTTP client (common/http_client.hpp), and the agent's identity
// on the wire.
#pragma once

#include <common/http_client.hpp>

namespace patching::agent {

using HttpClient = common::http::Client;
using HttpClientOptions = common::http::ClientOptions;
using HttpResult = common::http::Response;
using DownloadRequest = common::http::DownloadRequest;
using DownloadFailure = common::http::DownloadFailure;

/// Client options that name the agent: user agent "patch-agent/1" and our clients' header
/// (core::rest::CLIENT_HEADER). http://, https:// and file:// URLs.
inline HttpClientOptions agent_http_options() {
    HttpClientOptions o;
    o.user_agent = "patch-agent/1";
    o.default_headers = {"X-Patching-Client: patch-agent/1"};
    o.protocols = "http,https,file";
    return o;
}

}  // namespace patching::agent
