// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <patch_core/rest.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace patching::client {

/// One answer of the controller. `body` is kept as received for --format json and --debug, which
/// print it whole; every field sw-patch reads goes through the typed readers of
/// patch_core/rest.hpp (the accessors below), never through the body by name.
struct Response {
    long status = 0;      ///< HTTP status
    nlohmann::json body;  ///< the JSON body; a non-JSON error body becomes {"error": "<text>"}

    /// The body as JSON text, for the readers (invalid UTF-8 in a synthesised error is replaced).
    std::string json_text() const {
        return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    core::rest::OpReply messages() const { return core::rest::read_op_reply(json_text()); }
    std::optional<core::rest::QueryReply> query() const { return core::rest::read_query_reply(json_text()); }
    core::rest::ShowReply show() const { return core::rest::read_show_reply(json_text()); }
    std::optional<core::rest::DependenciesReply> dependencies() const {
        return core::rest::read_dependencies_reply(json_text());
    }
    core::rest::AppDependenciesReply app_dependencies() const {
        return core::rest::read_app_dependencies_reply(json_text());
    }
    std::optional<core::rest::HostsReply> hosts() const { return core::rest::read_hosts_reply(json_text()); }
    std::optional<bool> boolean() const { return core::rest::read_bool_reply(json_text()); }

    /// The `error` text of the body, or "" when there is none (or the body is not an object).
    std::string error() const { return messages().error; }
    /// The reference's check_rc: true when the status is 200 and `error` is absent or empty.
    bool ok() const { return status == 200 && error().empty(); }
};

}  // namespace patching::client
