// SPDX-License-Identifier: Apache-2.0
#include "api/openapi.hpp"

#include <nlohmann/json.hpp>

#include <cctype>

namespace patching::controller {

using nlohmann::json;

namespace {

struct RouteDoc {
    std::vector<std::string> paths;  ///< Under /v1 (the reference's routes also answer under /patch).
    std::string summary;
    std::string response;  ///< components/schemas name of the success body
    int status = 200;
    bool body = false;  ///< Takes a JSON body.
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
          "Work requests: list (?status=A,B&operation=&host=&parent=ID|none&limit=&page=), show, logs, errors",
          "WorkRequest"}},
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
        {"groups GET", {{"/v1/groups", "/v1/groups/{name}"}, "Host groups: list, show", "Group"}},
        {"groups POST",
         {{"/v1/groups", "/v1/groups/{name}/add-hosts", "/v1/groups/{name}/remove-hosts"},
          "Create a group {name, description, hosts, rule{personality, labels}}; add or remove static members "
          "{hosts} (If-Match)",
          "Group",
          200,
          true}},
        {"groups DELETE", {{"/v1/groups/{name}"}, "Delete a group (If-Match)", "Empty", 204}},
        {"host-labels POST", {{"/v1/host-labels/{host}"}, "Set or clear ('') a host's labels {labels}", "Object", 200, true}},
        {"openapi.json GET", {{"/v1/openapi.json"}, "This document", "Object"}},
        {"hosts GET",
         {{"/v1/hosts", "/v1/hosts/{host}"},
          "Hosts with their administrative state (locked, by, reason), availability, lock flag and drift, health",
          "Object"}},
        {"hosts POST",
         {{"/v1/hosts/{host}/lock", "/v1/hosts/{host}/unlock", "/v1/hosts/{host}/reboot"},
          "Lock (pre-lock hook), unlock (reboot first if needed, post-unlock hook) or reboot a locked host: "
          "{reason}; a work request (Idempotency-Key)",
          "WorkRequest",
          202,
          true}},
        {"alarms GET", {{"/v1/alarms"}, "Raised alarms; ?entity=E", "Object"}},
        {"alarms POST",
         {{"/v1/alarms", "/v1/alarms/{id}/clear"},
          "Raise an alarm {alarm_id, severity, entity, reason, mgmt_affecting}, or clear one {entity}",
          "Object",
          201,
          true}},
        {"alarms DELETE", {{"/v1/alarms/{id}"}, "Clear an alarm (?entity=E, default system)", "Empty", 204}},
    };
    return table;
}

json schemas() {
    const json str = {{"type", "string"}};
    const json nstr = {{"type", json::array({"string", "null"})}};
    const json nint = {{"type", json::array({"integer", "null"})}};
    return {
        {"Error",
         {{"type", "object"},
          {"required", json::array({"code", "message", "field"})},
          {"properties", {{"code", str}, {"message", str}, {"field", nstr}}}}},
        {"OpReply",
         {{"type", "object"},
          {"properties", {{"info", str}, {"warning", str}, {"error", str}}}}},
        {"Query", {{"type", "object"}, {"properties", {{"pd", {{"type", "object"}}}}}}},
        {"Boolean", {{"type", "boolean"}}},
        {"Object", {{"type", "object"}}},
        {"Empty", {{"type", "object"}}},
        {"WorkRequest",
         {{"type", "object"},
          {"description", "A work request, or {items: [...], next_page} for a list"},
          {"properties",
           {{"id", {{"type", "integer"}}},
            {"parent_id", nint},
            {"operation", {{"enum", json::array({"HOST_INSTALL", "HOST_LOCK", "HOST_UNLOCK", "HOST_REBOOT"})}}},
            {"status",
             {{"enum", json::array({"ACCEPTED", "WAITING", "IN_PROGRESS", "SUCCEEDED", "FAILED", "CANCELING",
                                    "CANCELED", "SKIPPED"})}}},
            {"outcome",
             {{"enum", json::array({nullptr, "COMPLETE", "INCOMPLETE", "BUDGET_EXHAUSTED", "CANCELED_BY_USER"})}}},
            {"initiator", {{"enum", json::array({"USER", "SCHEDULE", "RETRY", "RERUN"})}}},
            {"percent_complete", {{"type", "integer"}}},
            {"etag", str},
            {"items", {{"type", "array"}}},
            {"next_page", nstr}}}}},
        {"Group",
         {{"type", "object"},
          {"properties",
           {{"name", str},
            {"description", str},
            {"members", {{"type", "array"}, {"items", str}}},
            {"hosts", {{"type", "array"}, {"items", str}}},
            {"rule", {{"type", "object"}}},
            {"etag", str},
            {"items", {{"type", "array"}}}}}}},
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
        const std::string status = std::to_string(d.status);
        for (const auto& method : route.methods) {
            json op = {{"summary", d.summary},
                       {"operationId", (key.empty() ? std::string("root") : key) + "_" + method},
                       {"x-role", route.role == Role::ADMIN ? "admin" : "reader"},
                       {"x-audited", route.mutating},
                       {"responses",
                        {{status,
                          {{"description", "success"},
                           {"content",
                            {{"application/json",
                              {{"schema", {{"$ref", "#/components/schemas/" + d.response}}}}}}}}},
                         {"default",
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
