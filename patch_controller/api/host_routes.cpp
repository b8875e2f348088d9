// SPDX-License-Identifier: Apache-2.0
// The host lifecycle's resources (README "Host lifecycle"): /v1/hosts (list, show; lock, unlock,
// reboot: asynchronous, 202 with a work request) and /v1/alarms (list, raise, clear). Errors are
// {"code","message","field"} as in the rest of the resource API.
#include "api/resource_request.hpp"
#include "api/routes.hpp"

#include "alarms/alarm_filter.hpp"
#include "controller.hpp"

#include <patch_core/errors.hpp>

#include <nlohmann/json.hpp>

namespace patching::controller {

using nlohmann::json;

namespace {

std::string text_field(const json& body, const char* field, bool required) {
    if (!body.contains(field)) {
        if (required) {
            throw ResourceRefusal{400, "InvalidParameter", std::string(field) + " is required", field};
        }
        return "";
    }
    if (!body.at(field).is_string()) {
        throw ResourceRefusal{400, "InvalidParameter", std::string(field) + " must be a string", field};
    }
    return body.at(field).get<std::string>();
}

json to_json(const HostLifecycleView& v) {
    return {{"hostname", v.host.hostname},
            {"ip", v.host.ip},
            {"administrative", v.admin.locked ? "locked" : "unlocked"},
            {"administrative_by", v.admin.by},
            {"administrative_reason", v.admin.reason},
            {"administrative_since", rfc3339(v.admin.since)},
            {"administrative_work_request", v.admin.work_request == 0 ? json(nullptr) : json(v.admin.work_request)},
            {"availability", v.availability},
            {"lock_flag", v.flag_locked},
            {"lock_drift", v.lock_drift},
            {"health", v.health.empty() ? json(nullptr) : json(v.health)},
            {"health_output", v.health_output},
            {"state", core::protocol::to_string(v.host.state)},
            {"patch_current", v.host.patch_current},
            {"requires_reboot", v.host.requires_reboot},
            {"patch_failed", v.host.patch_failed},
            {"stale", v.host.stale},
            {"boot_id", v.boot_id},
            {"work_request", v.work_request == 0 ? json(nullptr) : json(v.work_request)}};
}

json to_json(const StoredAlarm& a) {
    return {{"alarm_id", a.alarm_id},     {"entity", a.entity},
            {"severity", a.severity},     {"reason", a.reason},
            {"raised_at", rfc3339(a.raised_at)}, {"mgmt_affecting", a.mgmt_affecting},
            {"raised_by", a.raised_by}};
}

}  // namespace

void ApiRoutes::add_host_routes() {
    WorkEngine& work = controller_.work();
    HostAdmin& admin = controller_.host_admin();
    AlarmService& alarms = controller_.alarms();

    // GET /v1/hosts[/{host}]
    add({"hosts", {"GET"}, false, Role::READER, false, [&admin](const RouteCall& c) -> HttpResponse {
             if (c.args.empty()) {
                 json items = json::array();
                 for (const auto& v : admin.list()) {
                     items.push_back(to_json(v));
                 }
                 return resource_reply(200, {{"items", items}});
             }
             if (c.args.size() != 1) {
                 throw ResourceRefusal{404, "NotFound", "GET /v1/hosts or /v1/hosts/HOST", ""};
             }
             return resource_reply(200, to_json(admin.show(c.args[0])));
         },
         true});
    // POST /v1/hosts/{host}/lock|unlock|reboot {"reason": "..."}: 202 with the work request.
    add({"hosts", {"POST"}, false, Role::ADMIN, true, [this, &work, &admin](const RouteCall& c) {
             if (c.args.size() != 2 || (c.args[1] != "lock" && c.args[1] != "unlock" && c.args[1] != "reboot")) {
                 throw ResourceRefusal{404, "NotFound", "POST /v1/hosts/HOST/lock, /unlock or /reboot", ""};
             }
             const json body = parse_body(c);
             const std::string reason = text_field(body, "reason", false);
             if (reason.size() > 1024) {
                 throw ResourceRefusal{400, "InvalidParameter", "reason must be at most 1024 characters", "reason"};
             }
             const HostLifecycleView v = admin.show(c.args[0]);
             const std::string& host = v.host.hostname;
             WorkOperation op = WorkOperation::HOST_LOCK;
             if (c.args[1] == "lock") {
                 if (v.admin.locked) {
                     throw Conflict("host " + host + " is already locked (by " + v.admin.by + ": " + v.admin.reason +
                                    ")");
                 }
             } else if (c.args[1] == "unlock") {
                 op = WorkOperation::HOST_UNLOCK;
                 if (!v.admin.locked) {
                     throw Conflict("host " + host + " is not locked: nothing to unlock");
                 }
             } else {
                 op = WorkOperation::HOST_REBOOT;
                 if (!v.admin.locked) {
                     throw Conflict("host " + host + " is unlocked: lock it first (sw-manager host-lock " + host +
                                    "); only locked hosts are rebooted");
                 }
             }
             return idempotent(c, [&](const auto& record) {
                 std::string out;
                 const StoredWorkRequest wr = work.submit_host_action(
                     op, host, reason, c.caller.name, [&](WorkTables& tx, const StoredWorkRequest& p) {
                         out = to_json(p).dump(-1, ' ', false, json::error_handler_t::replace);
                         if (record) {
                             record(tx, 202, out);
                         }
                     });
                 HttpResponse r = json_response(202, out);
                 r.headers["Location"] = "/v1/work-requests/" + std::to_string(wr.id);
                 return r;
             });
         },
         true});

    // GET /v1/alarms[?entity=E]
    add({"alarms", {"GET"}, false, Role::READER, false, [&alarms](const RouteCall& c) {
             json items = json::array();
             const std::string entity = c.param("entity");
             for (const auto& a : alarms.list()) {
                 if (entity.empty() || a.entity == entity) {
                     items.push_back(to_json(a));
                 }
             }
             return resource_reply(200, {{"items", items}});
         },
         true});
    // POST /v1/alarms {alarm_id, severity, entity, reason, mgmt_affecting}: raise;
    // POST /v1/alarms/{id}/clear {entity}: clear.
    add({"alarms", {"POST"}, false, Role::ADMIN, true, [&alarms](const RouteCall& c) {
             const json body = parse_body(c);
             if (c.args.size() == 2 && c.args[1] == "clear") {
                 alarms.clear(c.args[0], text_field(body, "entity", true));
                 return HttpResponse{204, "application/json", "", {}, {}, {}};
             }
             if (!c.args.empty()) {
                 throw ResourceRefusal{404, "NotFound", "POST /v1/alarms or /v1/alarms/ID/clear", ""};
             }
             StoredAlarm a;
             a.alarm_id = text_field(body, "alarm_id", true);
             a.severity = text_field(body, "severity", true);
             a.entity = text_field(body, "entity", false);
             if (a.entity.empty()) {
                 a.entity = "system";
             }
             a.reason = text_field(body, "reason", true);
             if (body.contains("mgmt_affecting")) {
                 if (!body.at("mgmt_affecting").is_boolean()) {
                     throw ResourceRefusal{400, "InvalidParameter", "mgmt_affecting must be true or false",
                                           "mgmt_affecting"};
                 }
                 a.mgmt_affecting = body.at("mgmt_affecting").get<bool>();
             } else {
                 a.mgmt_affecting = a.severity == "critical" || a.severity == "major";
             }
             a.raised_by = c.caller.name;
             return resource_reply(201, to_json(alarms.raise(a)));
         },
         true});
    // DELETE /v1/alarms/{id}?entity=E
    add({"alarms", {"DELETE"}, false, Role::ADMIN, true, [&alarms](const RouteCall& c) {
             if (c.args.size() != 1) {
                 throw ResourceRefusal{404, "NotFound", "DELETE /v1/alarms/ID?entity=E", ""};
             }
             const std::string entity = c.param("entity");
             alarms.clear(c.args[0], entity.empty() ? std::string("system") : entity);
             return HttpResponse{204, "application/json", "", {}, {}, {}};
         },
         true});
}

}  // namespace patching::controller
