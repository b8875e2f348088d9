// SPDX-License-Identifier: Apache-2.0
#include "api/work_mapping.hpp"

#include "api/rest_mapping.hpp"

#include <ctime>

namespace patching::controller {

using nlohmann::json;

namespace {

std::string code_of(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::INVALID: return "InvalidParameter";
        case ErrorKind::INVALID_PATCH: return "InvalidPatch";
        case ErrorKind::NOT_FOUND: return "NotFound";
        case ErrorKind::CONFLICT: return "Conflict";
        case ErrorKind::BUSY: return "Busy";
        case ErrorKind::INTERNAL: return "InternalError";
    }
    return "InternalError";
}

json id_or_null(std::int64_t id) { return id == 0 ? json(nullptr) : json(id); }

}  // namespace

HttpResponse resource_error(int status, const std::string& code, const std::string& message,
                            const std::string& field) {
    json body = {{"code", code}, {"message", message}, {"field", field.empty() ? json(nullptr) : json(field)}};
    return json_response(status, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

HttpResponse resource_error(const ServiceError& error) {
    if (dynamic_cast<const PreconditionFailed*>(&error) != nullptr) {
        return resource_error(412, "PreconditionFailed", error.what());
    }
    const auto* field = dynamic_cast<const InvalidField*>(&error);
    return resource_error(http_status(error.kind()), code_of(error.kind()), error.what(),
                          field != nullptr ? field->field() : std::string());
}

HttpResponse resource_error(const ResourceRefusal& r) { return resource_error(r.status, r.code, r.message, r.field); }

json rfc3339(std::int64_t seconds) {
    if (seconds == 0) {
        return nullptr;
    }
    std::time_t t = seconds;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

json to_json(const StoredWorkRequest& wr) {
    json j = {{"id", wr.id},
              {"parent_id", id_or_null(wr.parent_id)},
              {"operation", to_string(wr.operation)},
              {"status", to_string(wr.state)},
              {"outcome", wr.outcome == WorkOutcome::NONE ? json(nullptr) : json(to_string(wr.outcome))},
              {"initiator", to_string(wr.initiator)},
              {"created_by", wr.created_by},
              {"retry_of", id_or_null(wr.retry_of)},
              {"rerun_of", id_or_null(wr.rerun_of)},
              {"attempt", wr.attempt},
              {"message", wr.message},
              {"time_accepted", rfc3339(wr.time_accepted)},
              {"time_started", rfc3339(wr.time_started)},
              {"time_finished", rfc3339(wr.time_finished)},
              {"time_scheduled", rfc3339(wr.time_scheduled)},
              {"percent_complete", wr.percent_complete},
              {"etag", etag(wr.revision)}};
    if (wr.parent_id == 0) {
        j["target"] = {{"kind", wr.target_kind}, {"name", wr.target}};
        j["params"] = wr.params.empty() ? json::object() : json::parse(wr.params);
        j["cancel_requested"] = wr.cancel_requested;
        j["canceled_by"] = wr.canceled_by.empty() ? json(nullptr) : json(wr.canceled_by);
        j["counters"] = {{"total", wr.total},         {"waiting", wr.waiting}, {"in_progress", wr.in_progress},
                         {"succeeded", wr.succeeded}, {"failed", wr.failed},   {"skipped", wr.skipped},
                         {"canceled", wr.canceled}};
    } else {
        j["host"] = wr.host;
        j["sw_version"] = wr.sw_version;
        j["target_set"] = wr.target_set;
        j["command_id"] = wr.command_id.empty() ? json(nullptr) : json(wr.command_id);
        j["failure_kind"] = wr.failure_kind.empty() ? json(nullptr) : json(wr.failure_kind);
        j["retryable"] = wr.retryable;
    }
    return j;
}

json to_json(const WorkLogEntry& e) {
    return {{"seq", e.seq},     {"work_request_id", e.wr_id}, {"timestamp", rfc3339(e.time)},
            {"host", e.host},   {"phase", e.phase},           {"message", e.message}};
}

json to_json(const WorkError& e) {
    return {{"seq", e.seq},   {"work_request_id", e.wr_id}, {"timestamp", rfc3339(e.time)}, {"host", e.host},
            {"code", e.code}, {"message", e.message},       {"retryable", e.retryable}};
}

json to_json(const GroupView& g) {
    return {{"name", g.group.name},
            {"description", g.group.description},
            {"sw_version", g.group.sw_version.empty() ? json(nullptr) : json(g.group.sw_version)},
            {"members", g.group.members},
            {"rule", {{"personality", g.group.rule_personality}, {"labels", g.group.rule_labels}}},
            {"hosts", g.hosts},
            {"time_created", rfc3339(g.group.created_at)},
            {"etag", etag(g.group.revision)}};
}

json to_json(const HostLabelsView& v) {
    return {{"host", v.host}, {"labels", v.effective}, {"set", v.set}, {"reported", v.reported}, {"held", v.held}};
}

std::string etag(std::int64_t revision) { return "\"" + std::to_string(revision) + "\""; }

}  // namespace patching::controller
