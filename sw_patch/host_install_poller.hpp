// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "response.hpp"

namespace patching::client {

/// The host-install wait loop of the reference (wait_for_install_complete) as a pure state
/// machine: the caller sleeps, polls GET /v1/query_hosts, and feeds what it saw; each call says
/// what to print and whether to stop.
///
///  - host entry (matched by hostname or IP) with state "installing", interim_state true or
///    install_pending true: print "." and poll again;
///  - "install-rejected" / "install-failed": the reference messages, exit 1;
///  - "idle": "Installation was successful.", exit 0;
///  - any other state: "Patch agent is reporting unknown state: X", exit 1;
///  - host missing (or without a state), or the controller unreachable: retried; the fifth such
///    observation in total ends with "HOST agent has timed out." or "Lost communications with
///    the patch controller", exit 1;
///  - a body without `data`, or a non-200 answer: reported, exit 1.
class HostInstallPoller {
public:
    /// What to do after one observation.
    struct Step {
        bool done = false;   ///< stop polling
        int exit_code = 0;   ///< meaningful when done
        std::string output;  ///< text to write to stdout now (may be "" or ".")
    };

    /// REQUIRES: max_retries >= 0 (the reference allows 4).
    explicit HostInstallPoller(std::string host, int max_retries = 4);

    /// A query_hosts answer (any HTTP status).
    Step observe(const Response& response);
    /// The controller could not be reached (connection refused, reset, timeout).
    Step observe_unreachable();

private:
    std::string host_;
    int max_retries_;
    int retries_ = 0;
};

}  // namespace patching::client
