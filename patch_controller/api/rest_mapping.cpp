// SPDX-License-Identifier: Apache-2.0
#include "api/rest_mapping.hpp"

#include <patch_core/rest.hpp>

#include <cctype>
#include <set>

namespace patching::controller {

namespace {

std::string lines_text(const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& line : lines) {
        text += line + "\n";
    }
    return text;
}

}  // namespace

int http_status(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::INVALID: return 400;
        case ErrorKind::INVALID_PATCH: return 422;
        case ErrorKind::NOT_FOUND: return 404;
        case ErrorKind::CONFLICT: return 409;
        case ErrorKind::BUSY: return 503;
        case ErrorKind::INTERNAL: return 500;
    }
    return 500;
}

Contract contract_of(const HttpRequest& request) {
    std::string name(core::rest::CLIENT_HEADER);
    for (auto& c : name) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return request.headers.contains(name) ? Contract::OURS : Contract::REFERENCE;
}

int http_status(ErrorKind kind, Contract contract) {
    if (contract == Contract::OURS || kind == ErrorKind::INTERNAL) {
        return http_status(kind);
    }
    return 200;
}

int refusal_status(int status, Contract contract) {
    return contract == Contract::OURS || status >= 500 ? status : 200;
}

HttpResponse json_response(int status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.content_type = "application/json";
    r.body = std::move(body);
    return r;
}

HttpResponse op_response(const OpReport& report) {
    return json_response(200, core::rest::to_json(core::rest::OpReply{lines_text(report.info),
                                                                      lines_text(report.warnings), ""}));
}

HttpResponse error_response(const ServiceError& error, Contract contract) {
    return json_response(http_status(error.kind(), contract),
                         core::rest::to_json(core::rest::OpReply{lines_text(error.partial().info),
                                                                 lines_text(error.partial().warnings),
                                                                 lines_text(error.lines())}));
}

HttpResponse refusal_response(int status, const std::string& message) {
    return json_response(status, core::rest::to_json(core::rest::OpReply{"", "", message}));
}

HttpResponse refusal_response(int status, const std::string& message, Contract contract) {
    return refusal_response(refusal_status(status, contract), message);
}

HostTableRenderer::Fragments HostTableRenderer::make_fragments(const HostView& h) {
    Fragments f;
    f.revision = h.report_revision;
    f.report = h.agent.get();
    core::rest::HostEntry e;
    e.hostname = h.hostname;
    e.nodetype = h.report.nodetype;
    e.subfunctions = h.report.subfunctions;
    e.sw_version = h.report.sw_version;
    if (const auto& a = h.agent) {
        core::rest::HostAgentEntry agent{a->personality, a->locked, a->query_error, a->repo_revision,
                                         a->agent_version, std::nullopt};
        const auto& c = a->command;
        if (c && c->kind == core::protocol::CommandKind::INSTALL && c->status == core::protocol::CommandStatus::RUNNING) {
            agent.install_progress = core::rest::InstallProgressEntry{c->phase, c->done, c->total};
        }
        e.agent = std::move(agent);
        e.failure_reason = a->failure_reason;
        e.packages = core::rest::HostPackagesEntry{a->installed, a->to_remove, a->missing_pkgs, a->duplicated_pkgs};
    }
    f.brief = core::rest::host_report_members(e);
    f.lists = core::rest::host_package_members(e);
    return f;
}

std::string HostTableRenderer::render(const std::vector<HostView>& hosts, bool brief) {
    std::string out = "{\"data\": [";
    bool first = true;
    std::lock_guard lock(mutex_);
    for (const auto& h : hosts) {
        // The live fields: they change without a report (time, interim lists, install requests).
        core::rest::HostEntry live;
        live.ip = h.ip;
        live.patch_current = h.patch_current;
        live.requires_reboot = h.requires_reboot;
        live.allow_insvc_patching = h.allow_insvc_patching;
        live.secs_since_ack = h.secs_since_ack;
        live.patch_failed = h.patch_failed;
        live.state = std::string(core::protocol::to_string(h.state));
        live.install_pending = h.install_pending;
        live.install_status = h.install_status;
        live.install_reject_reason = h.install_reject_reason;
        live.interim_state = h.interim_state;
        live.stale = h.stale;
        Fragments& f = cache_[h.hostname];
        if (f.report != h.agent.get() || f.revision != h.report_revision || f.brief.empty()) {
            f = make_fragments(h);
        }
        std::string entry = "{" + core::rest::host_live_members(live);
        entry += ',' + f.brief;
        if (!brief) {
            entry += ',' + f.lists;
        }
        entry += '}';
        out += first ? "" : ", ";
        out += entry;
        first = false;
    }
    if (cache_.size() > 2 * hosts.size() + 16) {  // dropped hosts
        std::set<std::string> current;
        for (const auto& h : hosts) {
            current.insert(h.hostname);
        }
        std::erase_if(cache_, [&](const auto& kv) { return !current.contains(kv.first); });
    }
    out += "]}";
    return out;
}

}  // namespace patching::controller
