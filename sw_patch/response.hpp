// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace patching::client {

/// One answer of the controller.
struct Response {
    long status = 0;      ///< HTTP status
    nlohmann::json body;  ///< the JSON body; a non-JSON error body becomes {"error": "<text>"}

    /// The `error` string of the body, or "" when there is none (or the body is not an object).
    std::string error() const {
        if (!body.is_object()) {
            return {};
        }
        auto it = body.find("error");
        return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
    }
    /// The reference's check_rc: true when the status is 200 and `error` is absent or empty.
    bool ok() const { return status == 200 && error().empty(); }
};

}  // namespace patching::client
