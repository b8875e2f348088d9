// SPDX-License-Identifier: Apache-2.0
#include "api/openapi.hpp"

#include <nlohmann/json.hpp>

#include <cctype>

namespace patching::controller {

using nlohmann::json;

namespace {

/// A path whose success answer differs from its route's (another status or body).
struct PathResponse {
    int status = 200;
    std::string response;  ///< components/schemas name; "" = no body (204)
};

struct RouteDoc {
    std::vector<std::string> paths;  ///< Under /v1 (the reference's routes also answer under /patch).
    std::string summary;
    std::string response;  ///< components/schemas name of the success body; "" = no body (204)
    int status = 200;
    bool body = false;  ///< Takes a JSON body.
    std::map<std::string, PathResponse> by_path = {};  ///< Paths that answer otherwise.
};

// One entry per route table key. A route added without one fails the unit test.
const std::map<std::string, RouteDoc>& docs() {
    static const std::map<std::string, RouteDoc> table = {
        {"", {{"/v1/"}, "The patch list (query)", "Query"}},
        {"query", {{"/v1/query"}, "The patch list; ?show=all|available|applied|committed&release=", "Query"}},
        {"show", {{"/v1/show/{ids}"}, "Patch details", "Object"}},
        {"query_hosts", {{"/v1/query_hosts"}, "The host table; ?brief=yes leaves out package lists", "Object"}},
        {"what_requires", {{"/v1/what_requires/{ids}"}, "Patches that require these", "OpReply"}},
        {"query_dependencies", {{"/v1/query_dependencies/{ids}"}, "Dependencies; ?recursive=yes", "Object"}},
        {"is_applied", {{"/v1/is_applied/{ids}"}, "true if every patch is applied", "Boolean"}},
        {"is_available", {{"/v1/is_available/{ids}"}, "true if every patch is available", "Boolean"}},
        {"query_app_dependencies", {{"/v1/query_app_dependencies"}, "Application dependencies", "Object"}},
        {"commit_dry_run", {{"/v1/commit_dry_run/{ids}"}, "What commit would do", "OpReply"}},
        {"audit", {{"/v1/audit"}, "The audit log (admins); ?after=SEQ", "Object"}},
        {"upload", {{"/v1/upload"}, "Upload a patch (?filename=X.patch body, or multipart field file)", "OpReply"}},
        {"upload_dir", {{"/v1/upload_dir"}, "Import patches from directories (?dir0=...)", "OpReply"}},
        {"apply", {{"/v1/apply/{ids}"}, "Apply patches; ?skip-semantic=yes", "OpReply"}},
        {"remove", {{"/v1/remove/{ids}"}, "Remove patches", "OpReply"}},
        {"delete", {{"/v1/delete/{ids}"}, "Delete available patches", "OpReply"}},
        {"commit", {{"/v1/commit/{ids}"}, "Commit patches", "OpReply"}},
        {"init_release", {{"/v1/init_release/{release}"}, "Create a release", "OpReply"}},
        {"del_release", {{"/v1/del_release/{release}"}, "Delete a release and its patches", "OpReply"}},
        {"host_install", {{"/v1/host_install/{host}"}, "Deprecated: use host_install_async", "OpReply"}},
        {"host_install_async",
         {{"/v1/host_install_async/{host}", "/v1/host_install_async/{host}/force"},
          "Install on one host (creates a one-host work request)",
          "OpReply"}},
        {"drop_host", {{"/v1/drop_host/{host}"}, "Forget a host", "OpReply"}},
        {"report_app_dependencies",
         {{"/v1/report_app_dependencies/{ids}"}, "Record an application's patches (?app=NAME)", "Boolean"}},
        {"work-requests GET",
         {{"/v1/work-requests", "/v1/work-requests/{id}", "/v1/work-requests/{id}/logs", "/v1/work-requests/{id}/errors"},
          "Work requests: list (?status=A,B&operation=&host=&parent=ID|none&limit=&page=), show, logs and errors "
          "(?after=SEQ)",
          "WorkRequest",
          200,
          false,
          {{"/v1/work-requests", {200, "WorkRequestPage"}},
           {"/v1/work-requests/{id}/logs", {200, "WorkLogPage"}},
           {"/v1/work-requests/{id}/errors", {200, "WorkErrorPage"}}}}},
        {"work-requests POST",
         {{"/v1/work-requests/{id}/cancel", "/v1/work-requests/{id}/rerun"},
          "Cancel (If-Match) or rerun the failed children (Idempotency-Key) of a work request",
          "WorkRequest",
          202}},
        {"host-installs POST",
         {{"/v1/host-installs"},
          "Install across hosts or a group: {hosts|group, max_concurrency, max_errors, force, retry_intervals, flow: \"full\" (the host lifecycle flow; refused while management-affecting alarms are raised), lock}",
          "WorkRequest",
          202,
          true}},
        {"groups GET",
         {{"/v1/groups", "/v1/groups/{name}"},
          "Host groups: list, show",
          "Group",
          200,
          false,
          {{"/v1/groups", {200, "GroupList"}}}}},
        {"groups POST",
         {{"/v1/groups", "/v1/groups/{name}/add-hosts", "/v1/groups/{name}/remove-hosts"},
          "Create a group {name, description, sw_version, hosts, rule{personality, labels}}; add or remove static "
          "members {hosts} (If-Match)",
          "Group",
          200,
          true,
          {{"/v1/groups", {201, "Group"}}}}},
        {"groups PATCH",
         {{"/v1/groups/{name}"},
          "Change a group's description, sw_version or rule {personality, labels} (If-Match)",
          "Group",
          200,
          true}},
        {"groups DELETE", {{"/v1/groups/{name}"}, "Delete a group (If-Match)", "", 204}},
        {"host-labels GET",
         {{"/v1/host-labels", "/v1/host-labels/{host}"},
          "Hosts' labels: those an operator set, those its agent reports, and the ones in effect",
          "HostLabels",
          200,
          false,
          {{"/v1/host-labels", {200, "HostLabelsList"}}}}},
        {"host-labels POST",
         {{"/v1/host-labels/{host}"}, "Set or clear ('') labels of a host {labels}", "HostLabels", 200, true}},
        {"openapi.json GET", {{"/v1/openapi.json"}, "This document", "Object"}},
        {"jobs GET",
         {{"/v1/jobs", "/v1/jobs/{name}", "/v1/jobs/{name}/runs"},
          "Scheduled jobs: list (?limit=&page=NAME&group=&target_kind=HOSTS|GROUP), show with the next runs in the "
          "job's zone and UTC (?next=N), the history of every slot (?limit=&page=ID)",
          "Job",
          200,
          false,
          {{"/v1/jobs", {200, "JobPage"}}, {"/v1/jobs/{name}/runs", {200, "JobRunPage"}}}}},
        {"jobs POST",
         {{"/v1/jobs", "/v1/jobs/{name}/run-now", "/v1/jobs/{name}/skip-next", "/v1/jobs/{name}/pause",
           "/v1/jobs/{name}/resume"},
          "Create a job {name, description, start (local YYYY-MM-DDTHH:MM), time_zone (IANA), rule (RRULE; none = "
          "once), hosts|group, operation INSTALL, max_concurrency, max_errors, force, retry_intervals, "
          "window_minutes, overlap_policy SKIP|QUEUE, paused} (201, Idempotency-Key); run-now (202, the work "
          "request; Idempotency-Key), skip-next, pause, resume (If-Match)",
          "Job",
          200,
          true,
          {{"/v1/jobs", {201, "Job"}}, {"/v1/jobs/{name}/run-now", {202, "WorkRequest"}}}}},
        {"jobs PATCH",
         {{"/v1/jobs/{name}"},
          "Change a job: any field of create but the name and the target kind (If-Match); next runs recomputed",
          "Job",
          200,
          true}},
        {"jobs DELETE", {{"/v1/jobs/{name}"}, "Delete a job and its history; its work requests stay (If-Match)", "", 204}},
        {"hosts GET",
         {{"/v1/hosts", "/v1/hosts/{host}"},
          "Hosts with their administrative state (locked, by, reason), availability, lock flag and drift, health",
          "Host",
          200,
          false,
          {{"/v1/hosts", {200, "HostList"}}}}},
        {"hosts POST",
         {{"/v1/hosts/{host}/lock", "/v1/hosts/{host}/unlock", "/v1/hosts/{host}/reboot"},
          "Lock (pre-lock hook), unlock (reboot first if needed, post-unlock hook) or reboot a locked host: "
          "{reason}; a work request (Idempotency-Key)",
          "WorkRequest",
          202,
          true}},
        {"alarms GET", {{"/v1/alarms"}, "Raised alarms; ?entity=E", "AlarmList"}},
        {"alarms POST",
         {{"/v1/alarms", "/v1/alarms/{id}/clear"},
          "Raise an alarm {alarm_id, severity, entity, reason, mgmt_affecting}, or clear one {entity}",
          "Alarm",
          201,
          true,
          {{"/v1/alarms/{id}/clear", {204, ""}}}}},
        {"alarms DELETE", {{"/v1/alarms/{id}"}, "Clear an alarm (?entity=E, default system)", "", 204}},
    };
    return table;
}

/// An object with exactly these properties, all required.
json closed_object(const json& properties) {
    json required = json::array();
    for (const auto& [name, schema] : properties.items()) {
        required.push_back(name);
    }
    return {{"type", "object"}, {"properties", properties}, {"required", required}, {"additionalProperties", false}};
}

json ref(const std::string& name) { return {{"$ref", "#/components/schemas/" + name}}; }

json array_of(const json& items) { return {{"type", "array"}, {"items", items}}; }

json schemas() {
    const json str = {{"type", "string"}};
    const json nstr = {{"type", json::array({"string", "null"})}};
    const json nint = {{"type", json::array({"integer", "null"})}};
    const json integer = {{"type", "integer"}};
    const json boolean = {{"type", "boolean"}};
    const json labels = {{"type", "object"}, {"additionalProperties", str}};
    // The work request fields every parent and child has; parents and children add their own.
    const json common_wr = {{"id", integer},
                            {"operation", {{"enum", json::array({"HOST_INSTALL", "HOST_LOCK", "HOST_UNLOCK", "HOST_REBOOT"})}}},
                            {"status",
                             {{"enum", json::array({"ACCEPTED", "WAITING", "IN_PROGRESS", "SUCCEEDED", "FAILED",
                                                    "CANCELING", "CANCELED", "SKIPPED"})}}},
                            {"outcome",
                             {{"enum", json::array({nullptr, "COMPLETE", "INCOMPLETE", "BUDGET_EXHAUSTED",
                                                    "CANCELED_BY_USER", "CUTOFF_REACHED"})}}},
                            {"initiator", {{"enum", json::array({"USER", "SCHEDULE", "RETRY", "RERUN"})}}},
                            {"created_by", str},
                            {"retry_of", nint},
                            {"rerun_of", nint},
                            {"attempt", integer},
                            {"message", str},
                            {"time_accepted", nstr},
                            {"time_started", nstr},
                            {"time_finished", nstr},
                            {"time_scheduled", nstr},
                            {"percent_complete", {{"type", "integer"}, {"minimum", 0}, {"maximum", 100}}},
                            {"etag", str}};
    json parent = common_wr;
    parent["parent_id"] = {{"type", "null"}};
    parent["target"] = closed_object({{"kind", {{"enum", json::array({"HOST", "HOSTS", "GROUP"})}}}, {"name", str}});
    parent["params"] = {{"type", "object"}};
    parent["cancel_requested"] = boolean;
    parent["canceled_by"] = nstr;
    json counters = json::object();
    for (const char* c : {"total", "waiting", "in_progress", "succeeded", "failed", "skipped", "canceled"}) {
        counters[c] = {{"type", "integer"}, {"minimum", 0}};
    }
    parent["counters"] = closed_object(counters);
    json child = common_wr;
    child["parent_id"] = integer;
    child["host"] = str;
    child["sw_version"] = str;
    child["target_set"] = array_of(str);
    child["command_id"] = nstr;
    child["failure_kind"] = nstr;
    child["retryable"] = boolean;
    const json group = closed_object({{"name", str},
                                      {"description", str},
                                      {"sw_version", nstr},
                                      {"members", array_of(str)},
                                      {"hosts", array_of(str)},
                                      {"rule", closed_object({{"personality", str}, {"labels", labels}})},
                                      {"time_created", nstr},
                                      {"etag", str}});
    const json host_labels =
        closed_object({{"host", str}, {"labels", labels}, {"set", labels}, {"reported", labels}, {"held", labels}});
    // A scheduled job (api/job_routes.cpp) and one slot of its history.
    const json job_target = {{"type", "object"},
                             {"properties",
                              {{"kind", {{"enum", json::array({"HOSTS", "GROUP"})}}},
                               {"group", str},
                               {"hosts", array_of(str)}}},
                             {"required", json::array({"kind"})},
                             {"additionalProperties", false}};
    const json job = closed_object(
        {{"name", str},
         {"description", str},
         {"state", {{"enum", json::array({"ACTIVE", "PAUSED", "INACTIVE"})}}},
         {"schedule",
          closed_object({{"type", {{"enum", json::array({"ONE_TIME", "RECURRING"})}}},
                         {"start", str},
                         {"time_zone", str},
                         {"rule", nstr}})},
         {"target", job_target},
         {"operation", {{"enum", json::array({"INSTALL"})}}},
         {"max_concurrency", str},
         {"max_errors", str},
         {"force", boolean},
         {"retry_intervals", array_of(integer)},
         {"window_minutes", integer},
         {"overlap_policy", {{"enum", json::array({"SKIP", "QUEUE"})}}},
         {"paused", boolean},
         {"skip_count", integer},
         {"next_runs", array_of(closed_object({{"local", nstr}, {"utc", nstr}, {"skipped", boolean}}))},
         {"last_work_request", nint},
         {"last_fired_at", nstr},
         {"created_by", str},
         {"created_at", nstr},
         {"updated_at", nstr},
         {"etag", str}});
    const json job_run = closed_object(
        {{"id", integer},
         {"job", str},
         {"slot", nstr},
         {"recorded_at", nstr},
         {"result", {{"enum", json::array({"FIRED", "SKIPPED", "MISSED", "QUEUED", "FAILED"})}}},
         {"reason", str},
         {"message", str},
         {"work_request_id", nint}});
    return {
        {"Error", closed_object({{"code", str}, {"message", str}, {"field", nstr}})},
        {"OpReply",
         {{"type", "object"},
          {"properties", {{"info", str}, {"warning", str}, {"error", str}}}}},
        {"Query", {{"type", "object"}, {"properties", {{"pd", {{"type", "object"}}}}}}},
        {"Boolean", boolean},
        {"Object", {{"type", "object"}}},
        {"WorkRequest",
         {{"description", "A parent work request (parent_id null: one operation) or a child (one host)"},
          {"oneOf", json::array({closed_object(parent), closed_object(child)})}}},
        {"WorkRequestPage",
         closed_object({{"items", array_of(ref("WorkRequest"))},
                        {"next_page", {{"type", json::array({"string", "null"})},
                                       {"description", "Pass as ?page= for the next page; null on the last"}}}})},
        {"WorkLog",
         closed_object({{"seq", integer},
                        {"work_request_id", integer},
                        {"timestamp", nstr},
                        {"host", str},
                        {"phase", str},
                        {"message", str}})},
        {"WorkLogPage", closed_object({{"items", array_of(ref("WorkLog"))}})},
        {"WorkError",
         closed_object({{"seq", integer},
                        {"work_request_id", integer},
                        {"timestamp", nstr},
                        {"host", str},
                        {"code", str},
                        {"message", str},
                        {"retryable", boolean}})},
        {"WorkErrorPage", closed_object({{"items", array_of(ref("WorkError"))}})},
        {"Group", group},
        {"GroupList", closed_object({{"items", array_of(ref("Group"))}})},
        {"HostLabels", host_labels},
        {"HostLabelsList", closed_object({{"items", array_of(ref("HostLabels"))}})},
        {"Job", job},
        {"JobPage", closed_object({{"items", array_of(ref("Job"))}, {"next_page", nstr}})},
        {"JobRun", job_run},
        {"JobRunPage", closed_object({{"items", array_of(ref("JobRun"))}, {"next_page", nstr}})},
        {"Host",
         closed_object({{"hostname", str},
                        {"ip", str},
                        {"administrative", {{"enum", json::array({"locked", "unlocked"})}}},
                        {"administrative_by", str},
                        {"administrative_reason", str},
                        {"administrative_since", nstr},
                        {"administrative_work_request", nint},
                        {"availability",
                         {{"enum", json::array({"available", "degraded", "offline", "rebooting", "failed"})}}},
                        {"lock_flag", boolean},
                        {"lock_drift", boolean},
                        {"health", {{"enum", json::array({nullptr, "ok", "failing"})}}},
                        {"health_output", str},
                        {"state", str},
                        {"patch_current", boolean},
                        {"requires_reboot", boolean},
                        {"patch_failed", boolean},
                        {"stale", boolean},
                        {"boot_id", str},
                        {"work_request", nint}})},
        {"HostList", closed_object({{"items", array_of(ref("Host"))}})},
        {"Alarm",
         closed_object({{"alarm_id", str},
                        {"entity", str},
                        {"severity", {{"enum", json::array({"critical", "major", "minor", "warning"})}}},
                        {"reason", str},
                        {"raised_at", nstr},
                        {"mgmt_affecting", boolean},
                        {"raised_by", str}})},
        {"AlarmList", closed_object({{"items", array_of(ref("Alarm"))}})},
    };
}

}  // namespace

std::vector<std::string> undocumented_routes(const std::map<std::string, Route>& routes) {
    std::vector<std::string> out;
    for (const auto& [key, route] : routes) {
        if (!docs().contains(key)) {
            out.push_back(key.empty() ? "(root)" : key);
        }
    }
    return out;
}

std::string openapi_document(const std::map<std::string, Route>& routes) {
    json paths = json::object();
    for (const auto& [key, route] : routes) {
        auto it = docs().find(key);
        if (it == docs().end()) {
            continue;
        }
        const RouteDoc& d = it->second;
        for (const auto& method : route.methods) {
            json op = {{"summary", d.summary},
                       {"operationId", (key.empty() ? std::string("root") : key) + "_" + method},
                       {"x-role", route.role == Role::ADMIN ? "admin" : "reader"},
                       {"x-audited", route.mutating},
                       {"responses",
                        {{"default",
                          {{"description", route.resource ? "{code, message, field}" : "{info, warning, error}"},
                           {"content",
                            {{"application/json",
                              {{"schema",
                                {{"$ref", route.resource ? "#/components/schemas/Error"
                                                         : "#/components/schemas/OpReply"}}}}}}}}}}}};
            if (d.body) {
                op["requestBody"] = {{"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}};
            }
            std::string lower = method;
            for (auto& c : lower) {
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            }
            for (const auto& path : d.paths) {
                json& item = paths[path];
                item[lower] = op;
                auto special = d.by_path.find(path);
                const PathResponse answer =
                    special != d.by_path.end() ? special->second : PathResponse{d.status, d.response};
                json success = {{"description", "success"}};
                if (!answer.response.empty()) {
                    success["content"] = {{"application/json", {{"schema", ref(answer.response)}}}};
                }
                item[lower]["responses"][std::to_string(answer.status)] = success;
                json params = json::array();
                for (size_t open = path.find('{'); open != std::string::npos; open = path.find('{', open + 1)) {
                    const std::string name = path.substr(open + 1, path.find('}', open) - open - 1);
                    params.push_back({{"name", name}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}});
                }
                if (!params.empty()) {
                    item[lower]["parameters"] = params;
                }
            }
        }
    }
    json doc = {{"openapi", "3.1.0"},
                {"info",
                 {{"title", "patch-controller REST API"},
                  {"version", "1"},
                  {"description", "The reference's routes (/v1 and /patch) and the resource API (work requests, "
                                  "groups, host installs). Bearer tokens; readers read, admins act."}}},
                {"components",
                 {{"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}},
                  {"schemas", schemas()}}},
                {"security", json::array({{{"bearer", json::array()}}})},
                {"paths", paths}};
    return doc.dump(1);
}

}  // namespace patching::controller
