// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <optional>
#include <string>

/// A daemon's messages to its service manager (systemd's sd_notify protocol). Outside systemd
/// (no NOTIFY_SOCKET in the environment) every call does nothing, so the daemons run the same
/// from a shell, a test or a unit with Type=notify.
namespace patching::core::service_manager {

/// READY=1 with a STATUS= line: the daemon serves from now on (its listeners are open, its state
/// is recovered). Call once.
void notify_ready(const std::string& status);
/// STATUS=: one line systemctl status shows.
void notify_status(const std::string& status);
/// STOPPING=1 with a STATUS= line: shutdown has begun (an agent finishing a transaction says so).
void notify_stopping(const std::string& status);
/// WATCHDOG=1: the daemon checked itself and is healthy.
void notify_watchdog();
/// The interval at which the unit expects WATCHDOG=1 (WatchdogSec=), or nullopt if no watchdog is
/// configured for this process. Ping at half of it.
std::optional<std::chrono::microseconds> watchdog_interval();

/// The exit status for a configuration error (sysexits' EX_CONFIG): the units list it in
/// RestartPreventExitStatus=, so a bad configuration file fails once with its message in the
/// journal instead of restarting in a loop.
inline constexpr int EXIT_CONFIG = 78;

}  // namespace patching::core::service_manager
