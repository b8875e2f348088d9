// SPDX-License-Identifier: Apache-2.0
#include "work/host_flow.hpp"

#include "alarms/alarm_service.hpp"
#include "service/errors.hpp"

#include <nlohmann/json.hpp>

#include <array>

namespace patching::controller {

namespace proto = core::protocol;

namespace {

enum class Phase {
    PRECHECK,
    PRE_LOCK,
    LOCK,
    INSTALL,
    POST_INSTALL,
    REBOOT,
    POST_REBOOT,
    UNLOCK,
    POST_UNLOCK,
    POSTCHECK,
    VERIFY,
    ABORT_UNLOCK,
};

struct PhaseInfo {
    Phase phase;
    const char* id;    ///< In command ids.
    const char* name;  ///< In the work request log (fleet-ops-spec §9.3 spellings).
    const char* hook;  ///< The hook it runs, "" if it is not a hook phase.
};

constexpr std::array<PhaseInfo, 12> PHASES{{
    {Phase::PRECHECK, "precheck", "PRECHECK", "precheck"},
    {Phase::PRE_LOCK, "prelock", "PRE_LOCK", "pre-lock"},
    {Phase::LOCK, "lock", "LOCK", ""},
    {Phase::INSTALL, "install", "INSTALL", ""},
    {Phase::POST_INSTALL, "postinstall", "POST_INSTALL", "post-install"},
    {Phase::REBOOT, "reboot", "REBOOT", ""},
    {Phase::POST_REBOOT, "postreboot", "POST_REBOOT", "post-reboot"},
    {Phase::UNLOCK, "unlock", "UNLOCK", ""},
    {Phase::POST_UNLOCK, "postunlock", "POST_UNLOCK", "post-unlock"},
    {Phase::POSTCHECK, "postcheck", "POSTCHECK", "postcheck"},
    {Phase::VERIFY, "verify", "VERIFY", ""},
    {Phase::ABORT_UNLOCK, "abortunlock", "UNLOCK", ""},
}};

const PhaseInfo& info(Phase p) {
    for (const auto& i : PHASES) {
        if (i.phase == p) {
            return i;
        }
    }
    return PHASES[0];
}

/// Where a child stands, as its command id says.
struct Cursor {
    std::string base;
    Phase phase = Phase::PRECHECK;
    std::int64_t n = 0;   ///< Attempt (VERIFY: its start time).
    bool locked = false;  ///< The flow locked the host.

    std::string id() const {
        return base + "." + info(phase).id + "." + std::to_string(n) + (locked ? "L" : "");
    }
};

std::string base_of(const StoredWorkRequest& c) {
    return "wr-" + std::to_string(c.id) + "-" + std::to_string(c.time_accepted);
}

std::optional<Cursor> parse(const StoredWorkRequest& c) {
    Cursor k;
    k.base = base_of(c);
    if (c.command_id.rfind(k.base + ".", 0) != 0) {
        return std::nullopt;
    }
    const std::string rest = c.command_id.substr(k.base.size() + 1);
    const auto dot = rest.find('.');
    if (dot == std::string::npos) {
        return std::nullopt;
    }
    const std::string phase = rest.substr(0, dot);
    std::string n = rest.substr(dot + 1);
    if (!n.empty() && n.back() == 'L') {
        k.locked = true;
        n.pop_back();
    }
    if (n.empty() || n.size() > 18 || n.find_first_not_of("0123456789") != std::string::npos) {
        return std::nullopt;
    }
    k.n = std::stoll(n);
    for (const auto& i : PHASES) {
        if (phase == i.id) {
            k.phase = i.phase;
            return k;
        }
    }
    return std::nullopt;
}

nlohmann::json params_of(const StoredWorkRequest& parent) {
    try {
        return nlohmann::json::parse(parent.params.empty() ? "{}" : parent.params);
    } catch (const nlohmann::json::exception&) {
        return nlohmann::json::object();
    }
}

bool full_flow(const StoredWorkRequest& parent) {
    return parent.operation == WorkOperation::HOST_INSTALL && params_of(parent).value("flow", std::string()) == "full";
}

std::string reason_of(const StoredWorkRequest& parent) {
    std::string reason = params_of(parent).value("reason", std::string());
    if (reason.empty()) {
        reason = std::string(to_string(parent.operation)) + " (work request " + std::to_string(parent.id) + ")";
    }
    return reason;
}

/// The phase after `k` (nullopt: the child is done).
std::optional<Phase> next_phase(const StoredWorkRequest& parent, const Cursor& k, const LifecycleFacts& f) {
    switch (parent.operation) {
        case WorkOperation::HOST_LOCK:
            if (k.phase == Phase::PRE_LOCK) {
                return Phase::LOCK;
            }
            return std::nullopt;
        case WorkOperation::HOST_REBOOT:
            if (k.phase == Phase::REBOOT) {
                return Phase::POST_REBOOT;
            }
            return std::nullopt;
        case WorkOperation::HOST_UNLOCK:
            switch (k.phase) {
                case Phase::REBOOT: return Phase::POST_REBOOT;
                case Phase::POST_REBOOT: return Phase::UNLOCK;
                case Phase::UNLOCK: return Phase::POST_UNLOCK;
                default: return std::nullopt;
            }
        case WorkOperation::HOST_INSTALL: break;
    }
    const bool ask_lock = params_of(parent).value("lock", false);
    switch (k.phase) {
        case Phase::PRECHECK:
            if (!f.admin_locked && (ask_lock || (!f.insvc_allowed && !f.patch_current))) {
                return Phase::PRE_LOCK;
            }
            return Phase::INSTALL;
        case Phase::PRE_LOCK: return Phase::LOCK;
        case Phase::LOCK: return Phase::INSTALL;
        case Phase::INSTALL: return Phase::POST_INSTALL;
        case Phase::POST_INSTALL:
            if (f.requires_reboot) {
                return Phase::REBOOT;
            }
            [[fallthrough]];
        case Phase::POST_REBOOT:
            return k.locked ? Phase::UNLOCK : Phase::POSTCHECK;
        case Phase::REBOOT: return Phase::POST_REBOOT;
        case Phase::UNLOCK: return Phase::POST_UNLOCK;
        case Phase::POST_UNLOCK: return Phase::POSTCHECK;
        case Phase::POSTCHECK: return Phase::VERIFY;
        default: return std::nullopt;
    }
}

std::string failure_kind_of(Phase p, CommandProgress progress) {
    switch (p) {
        case Phase::PRECHECK: return "PRECHECK";
        case Phase::POSTCHECK: return "POSTCHECK";
        case Phase::LOCK: return "LOCK_FAILED";
        case Phase::UNLOCK:
        case Phase::ABORT_UNLOCK: return "UNLOCK_FAILED";
        case Phase::INSTALL: return progress == CommandProgress::REJECTED ? "INSTALL_REJECTED" : "INSTALL";
        case Phase::REBOOT: return "REBOOT_FAILED";
        case Phase::VERIFY: return "VERIFY_MISMATCH";
        default: return "HOOK";
    }
}

std::string output_text(const std::string& output) {
    return output.empty() ? std::string() : "; output:\n" + output;
}

}  // namespace

bool HostFlow::handles(const StoredWorkRequest& parent) {
    return parent.operation != WorkOperation::HOST_INSTALL || full_flow(parent);
}

FlowResult HostFlow::start(const StoredWorkRequest& parent, StoredWorkRequest& child, std::int64_t now) {
    FlowResult r;
    Cursor k;
    k.base = base_of(child);
    switch (parent.operation) {
        case WorkOperation::HOST_LOCK: k.phase = Phase::PRE_LOCK; break;
        case WorkOperation::HOST_REBOOT: k.phase = Phase::REBOOT; break;
        case WorkOperation::HOST_UNLOCK:
            k.phase = hosts_.lifecycle_facts(child.host).requires_reboot ? Phase::REBOOT : Phase::UNLOCK;
            break;
        case WorkOperation::HOST_INSTALL: k.phase = Phase::PRECHECK; break;
    }
    child.command_id = k.id();
    child.message = std::string(info(k.phase).name) + " started";
    r.changed = true;
    r.logs.emplace_back(info(k.phase).name, "host " + child.host + ": " + info(k.phase).name + " started (command " +
                                                child.command_id + ")");
    (void)now;
    return r;
}

void HostFlow::send(const StoredWorkRequest& parent, const StoredWorkRequest& child) {
    const auto k = parse(child);
    if (!k || k->phase == Phase::VERIFY) {
        return;
    }
    const PhaseInfo& i = info(k->phase);
    switch (k->phase) {
        case Phase::INSTALL:
            hosts_.start_install(child.host, child.command_id, params_of(parent).value("force", false));
            return;
        case Phase::LOCK: hosts_.start_command(child.host, child.command_id, proto::CommandKind::LOCK, ""); return;
        case Phase::UNLOCK:
        case Phase::ABORT_UNLOCK:
            hosts_.start_command(child.host, child.command_id, proto::CommandKind::UNLOCK, "");
            return;
        case Phase::REBOOT: hosts_.start_command(child.host, child.command_id, proto::CommandKind::REBOOT, ""); return;
        default: hosts_.start_command(child.host, child.command_id, proto::CommandKind::HOOK, i.hook); return;
    }
}

FlowResult HostFlow::advance(const StoredWorkRequest& parent, StoredWorkRequest& child, std::int64_t now) {
    FlowResult r;
    auto cursor = parse(child);
    if (!cursor) {
        r.final_state = WorkState::FAILED;
        r.failure_kind = "TIMEOUT";
        r.message = "host " + child.host + ": the flow's state (command " + child.command_id + ") is not readable";
        return r;
    }
    Cursor k = *cursor;
    const PhaseInfo& i = info(k.phase);
    const std::string& host = child.host;
    const bool full = full_flow(parent);

    // Moves to `phase` (attempt `n`) and sends its command.
    auto go = [&](Phase phase, std::int64_t n, const std::string& why) {
        hosts_.release(child.command_id);  // its outcome is read; the next phase's is tracked
        k.phase = phase;
        k.n = n;
        child.command_id = k.id();
        child.message = std::string(info(phase).name) + " started";
        r.changed = true;
        r.logs.emplace_back(info(phase).name, "host " + host + ": " + info(phase).name + " started" +
                                                  (why.empty() ? "" : " (" + why + ")") + " (command " +
                                                  child.command_id + ")");
        try {
            send(parent, child);
        } catch (const ServiceError& e) {
            r.final_state = WorkState::FAILED;
            r.failure_kind = "DISPATCH_FAILED";
            r.message = "host " + host + ": " + e.what();
            r.retryable = true;
        }
    };
    // Ends the child FAILED, unlocking the host first if the flow locked it.
    auto fail = [&](const std::string& kind, const std::string& message, bool retryable) {
        const bool unlock_first = full && k.locked && kind != "REBOOT_TIMEOUT" && k.phase != Phase::UNLOCK &&
                                  k.phase != Phase::POST_UNLOCK && k.phase != Phase::ABORT_UNLOCK;
        if (unlock_first) {
            child.failure_kind = kind;
            r.logs.emplace_back(i.name, message);
            go(Phase::ABORT_UNLOCK, 0, "the flow locked the host; unlocking it after the failure");
            child.message = message;
            return;
        }
        r.final_state = WorkState::FAILED;
        r.failure_kind = kind;
        r.message = message;
        r.retryable = retryable;
    };
    // The phase after the current one, or the end.
    auto next = [&] {
        const auto phase = next_phase(parent, k, hosts_.lifecycle_facts(host));
        if (phase && parent.cancel_requested &&
            (*phase == Phase::PRE_LOCK || *phase == Phase::LOCK || *phase == Phase::INSTALL)) {
            // Canceled before its install began (fleet-ops-spec §9.3): it stops here, unlocking
            // the host first if the flow locked it.
            const std::string why = "canceled by " + parent.canceled_by + " before " + info(*phase).name;
            if (k.locked) {
                child.failure_kind = "CANCELED";
                go(Phase::ABORT_UNLOCK, 0, why + "; unlocking the host the flow locked");
                child.message = why;
                return;
            }
            r.final_state = WorkState::CANCELED;
            r.message = why;
            r.logs.emplace_back("CANCEL", "host " + host + ": " + why);
            return;
        }
        if (!phase) {
            r.final_state = WorkState::SUCCEEDED;
            r.message = std::string(to_string(parent.operation)) + (full ? " (full flow)" : "") + " done";
            r.logs.emplace_back("FINISH", "host " + host + ": " + r.message);
            return;
        }
        go(*phase, *phase == Phase::VERIFY ? now : 0, "");
    };

    if (k.phase == Phase::VERIFY) {
        const LifecycleFacts f = hosts_.lifecycle_facts(host);
        const HostFacts hf = hosts_.facts(host);
        const bool same_target = hf.sw_version == child.sw_version && hosts_.desired_set(hf.sw_version) == child.target_set;
        if (f.patch_current && !f.patch_failed && same_target) {
            r.logs.emplace_back("VERIFY", "host " + host + " reports Patch Current for the frozen target");
            next();
        } else if (!same_target || now - k.n > policy_.verify_timeout_seconds) {
            fail("VERIFY_MISMATCH",
                 "host " + host + (same_target ? " did not report Patch Current within " +
                                                     std::to_string(policy_.verify_timeout_seconds) + " s"
                                               : ": the target changed since the work request was accepted"),
                 false);
        }
        return r;
    }

    const CommandOutcome o = hosts_.command_outcome(host, child.command_id);
    if (k.phase == Phase::INSTALL && !o.output.empty() &&
        (o.progress == CommandProgress::SUCCEEDED || o.progress == CommandProgress::FAILED)) {
        // The install's own log, a line per step, as the plain install logs it.
        for (std::size_t start = 0; start < o.output.size();) {
            std::size_t end = o.output.find('\n', start);
            end = end == std::string::npos ? o.output.size() : end;
            if (end > start) {
                r.logs.emplace_back("OUTPUT", o.output.substr(start, end - start));
            }
            start = end + 1;
        }
    }
    switch (o.progress) {
        case CommandProgress::RUNNING:
        case CommandProgress::UNKNOWN: {
            if (k.phase == Phase::REBOOT && o.created_at != 0 && now - o.created_at > policy_.reboot_timeout_seconds) {
                const std::string why = "host " + host + " did not come back within " +
                                        std::to_string(policy_.reboot_timeout_seconds) +
                                        " s of its reboot (no hello with a new boot id)";
                hosts_.abandon_command(child.command_id, why);
                hosts_.host_alarm(ALARM_REBOOT_TIMEOUT, host, true, why + " (work request " +
                                                                       std::to_string(parent.id) + ")");
                hosts_.set_admin_state(host, true, child.created_by,
                                       "left locked: " + why + " (work request " + std::to_string(parent.id) + ")",
                                       parent.id);
                fail("REBOOT_TIMEOUT", why + "; the host stays locked", false);  // an operator must look
            } else if (k.phase != Phase::REBOOT && o.created_at != 0 &&
                       now - o.created_at > policy_.command_timeout_seconds) {
                hosts_.abandon_command(child.command_id, "timed out");
                if (k.phase == Phase::LOCK) {
                    // The agent may have written the flag after all: never a locked host without
                    // a record. Recorded locked with the reason (an unknown state reads as locked,
                    // which blocks nothing unsafe; drift shows a flag that was never written); an
                    // operator unlocks it once the host answers. An UNLOCK sent now would go to the
                    // same unresponsive agent and leave the same doubt.
                    const std::string why = "lock timed out; state unknown (host " + host + ", work request " +
                                            std::to_string(parent.id) + "): sw-manager host-unlock once it answers";
                    hosts_.set_admin_state(host, true, child.created_by, why, parent.id);
                    fail("TIMEOUT",
                         "host " + host + ": lock gave no outcome within " +
                             std::to_string(policy_.command_timeout_seconds) +
                             " s; the host is recorded locked (" + why + ")",
                         false);
                    return r;
                }
                fail(k.phase == Phase::INSTALL ? "STALL" : "TIMEOUT",
                     "host " + host + ": " + i.name + " gave no outcome within " +
                         std::to_string(policy_.command_timeout_seconds) + " s",
                     true);
            }
            return r;
        }
        case CommandProgress::NOT_DELIVERED:
            if (hosts_.facts(host).reachable) {
                try {
                    send(parent, child);
                    r.logs.emplace_back(i.name, "command " + child.command_id + " sent again (the host never got it)");
                } catch (const ServiceError& e) {
                    fail("DISPATCH_FAILED", "host " + host + ": " + e.what(), true);
                }
            } else if (now - child.time_started > policy_.command_timeout_seconds) {
                fail("TIMEOUT", "host " + host + " was unreachable for its " + std::string(i.name), true);
            }
            return r;
        case CommandProgress::SUCCEEDED: {
            std::string line = "host " + host + ": " + i.name + " ok";
            if (*i.hook != '\0') {
                line += o.exit_code == 0 && o.output.empty() && o.reason.empty() ? "" : " (" + o.reason + ")";
                line += output_text(o.output);
            } else if (!o.reason.empty()) {
                line += ": " + o.reason;
            }
            r.logs.emplace_back(k.phase == Phase::REBOOT ? "WAIT_HOST" : i.name, line);
            if (*i.hook != '\0') {
                hosts_.host_alarm(ALARM_HOOK_FAILED, host, false, "");  // the host's hooks work again
            }
            if (k.phase == Phase::LOCK) {
                hosts_.set_admin_state(host, true, child.created_by, reason_of(parent), parent.id);
                k.locked = full;
            } else if (k.phase == Phase::UNLOCK || k.phase == Phase::ABORT_UNLOCK) {
                hosts_.set_admin_state(host, false, child.created_by, reason_of(parent), parent.id);
                k.locked = false;
            } else if (k.phase == Phase::REBOOT) {
                hosts_.host_alarm(ALARM_REBOOT_TIMEOUT, host, false, "");
            }
            if (k.phase == Phase::ABORT_UNLOCK) {
                const bool canceled = child.failure_kind == "CANCELED";
                r.final_state = canceled ? WorkState::CANCELED : WorkState::FAILED;
                r.failure_kind = canceled ? std::string() : child.failure_kind;
                child.failure_kind.clear();
                r.message = child.message + " (the host was unlocked again)";
                return r;
            }
            next();
            return r;
        }
        case CommandProgress::FAILED:
        case CommandProgress::REJECTED: break;
    }
    // The phase failed.
    if (k.phase == Phase::ABORT_UNLOCK) {
        r.final_state = WorkState::FAILED;
        r.failure_kind = child.failure_kind == "CANCELED" ? std::string("UNLOCK_FAILED") : child.failure_kind;
        r.message = child.message + "; unlocking it failed too (" + o.reason + "): the host stays locked";
        return r;
    }
    if (*i.hook != '\0' && o.progress == CommandProgress::FAILED) {
        if (o.exit_code == proto::HOOK_RETRY && k.n < policy_.hook_retries) {
            if (now - o.finished_at >= policy_.hook_retry_seconds) {
                r.logs.emplace_back(i.name, "host " + host + ": " + i.hook + " hook exited 3 (retryable): retry " +
                                                std::to_string(k.n + 1) + " of " +
                                                std::to_string(policy_.hook_retries) + output_text(o.output));
                go(k.phase, k.n + 1, "retry");
            }
            return r;
        }
        if (o.exit_code == proto::HOOK_SKIP && !k.locked &&
            (k.phase == Phase::PRECHECK || k.phase == Phase::PRE_LOCK)) {
            r.final_state = WorkState::SKIPPED;
            r.message = "SKIPPED: the " + std::string(i.hook) + " hook of host " + host + " asked to skip it (exit 2)";
            r.logs.emplace_back(i.name, r.message + output_text(o.output));
            return r;
        }
        const std::string why = "host " + host + ": " + i.hook + " hook failed (" + o.reason + ")";
        hosts_.host_alarm(ALARM_HOOK_FAILED, host, true, why);
        r.logs.emplace_back(i.name, why + output_text(o.output));
        fail(failure_kind_of(k.phase, o.progress), why, o.exit_code == proto::HOOK_RETRY);
        return r;
    }
    fail(failure_kind_of(k.phase, o.progress), "host " + host + ": " + i.name + " failed: " + o.reason,
         k.phase == Phase::INSTALL && o.progress == CommandProgress::FAILED);
    return r;
}

}  // namespace patching::controller
