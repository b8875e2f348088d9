// SPDX-License-Identifier: Apache-2.0
#include "patch_core/systemd/service_manager.hpp"

#include <systemd/sd-daemon.h>

#include <cstdint>

namespace patching::core::service_manager {

namespace {
void send(const std::string& message) {
    // 0 = keep NOTIFY_SOCKET in the environment (children started later, such as scriptlets, never
    // see it anyway: NotifyAccess=main). Errors are not the daemon's problem: the manager that
    // asked for notifications times the start out and says so.
    (void)sd_notify(0, message.c_str());
}

std::string one_line(std::string s) {
    for (char& c : s) {
        if (c == '\n' || c == '\r') {
            c = ' ';
        }
    }
    return s;
}
}  // namespace

void notify_ready(const std::string& status) { send("READY=1\nSTATUS=" + one_line(status)); }

void notify_status(const std::string& status) { send("STATUS=" + one_line(status)); }

void notify_stopping(const std::string& status) { send("STOPPING=1\nSTATUS=" + one_line(status)); }

void notify_watchdog() { send("WATCHDOG=1"); }

std::optional<std::chrono::microseconds> watchdog_interval() {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        return std::chrono::microseconds(usec);
    }
    return std::nullopt;
}

}  // namespace patching::core::service_manager
