// SPDX-License-Identifier: Apache-2.0
// The resource API (README "Work requests and groups"): /v1/work-requests, /v1/groups,
// /v1/host-installs, /v1/host-labels. Readers read, admins act; every change is audited by the
// route table. Errors are {"code","message","field"}; asynchronous actions answer 202 with the
// work request. POSTs that create take an Idempotency-Key; changes of a group and cancel take
// If-Match.
#include "api/routes.hpp"

#include "api/openapi.hpp"
#include "controller.hpp"

#include <patch_core/errors.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>

namespace patching::controller {

using nlohmann::json;

namespace {

std::int64_t parse_id(const std::string& text, const char* field) {
    if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos) {
        throw ResourceRefusal{400, "InvalidParameter", std::string(field) + " must be a work request id (a number), not '" +
                                                           core::escape_unprintable(text) + "'",
                              field};
    }
    return std::stoll(text);
}

std::vector<std::string> string_list(const json& body, const char* field) {
    if (!body.contains(field)) {
        return {};
    }
    const json& v = body.at(field);
    if (!v.is_array()) {
        throw ResourceRefusal{400, "InvalidParameter", std::string(field) + " must be a list of strings", field};
    }
    std::vector<std::string> out;
    for (const auto& item : v) {
        if (!item.is_string()) {
            throw ResourceRefusal{400, "InvalidParameter", std::string(field) + " must be a list of strings", field};
        }
        out.push_back(item.get<std::string>());
    }
    return out;
}

std::string string_field(const json& body, const char* field, const std::string& fallback) {
    if (!body.contains(field)) {
        return fallback;
    }
    const json& v = body.at(field);
    if (v.is_string()) {
        return v.get<std::string>();
    }
    if (v.is_number_unsigned()) {
        return std::to_string(v.get<std::uint64_t>());
    }
    throw ResourceRefusal{400, "InvalidParameter", std::string(field) + " must be a string or a whole number", field};
}

/// The "rule" of a group body: {"personality": P, "labels": {name: value}}.
GroupChanges rule_of(const json& body) {
    GroupChanges out;
    if (!body.contains("rule")) {
        return out;
    }
    const json& rule = body.at("rule");
    if (!rule.is_object()) {
        throw ResourceRefusal{400, "InvalidParameter", "rule must be an object {personality, labels}", "rule"};
    }
    out.rule_personality = string_field(rule, "personality", "");
    out.rule_labels.emplace();
    if (rule.contains("labels")) {
        try {
            out.rule_labels = rule.at("labels").get<std::map<std::string, std::string>>();
        } catch (const json::exception&) {
            throw ResourceRefusal{400, "InvalidParameter", "rule.labels must map names to strings", "rule.labels"};
        }
    }
    return out;
}

// FNV-1a: a stable fingerprint of what a request asks for.
std::string fingerprint(const HttpRequest& r) {
    std::uint64_t h = 1469598103934665603ULL;
    for (const std::string* part : {&r.method, &r.path, &r.body}) {
        for (unsigned char ch : *part) {
            h = (h ^ ch) * 1099511628211ULL;
        }
        h = (h ^ 0xffU) * 1099511628211ULL;
    }
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
    return text;
}

HttpResponse accepted(const StoredWorkRequest& wr) {
    HttpResponse r = resource_reply(202, to_json(wr));
    r.headers["Location"] = "/v1/work-requests/" + std::to_string(wr.id);
    r.headers["ETag"] = etag(wr.revision);
    return r;
}

/// 202 with the work request as it was accepted (the same body an Idempotency-Key replays, even
/// if the engine has moved it on since), recording it with `record` in the accepting transaction.
HttpResponse accepted_once(const std::function<StoredWorkRequest(const OnAccept&)>& accept,
                           const std::function<void(WorkTables&, int, const std::string&)>& record) {
    std::string body;
    const StoredWorkRequest wr = accept([&](WorkTables& tx, const StoredWorkRequest& p) {
        body = to_json(p).dump(-1, ' ', false, json::error_handler_t::replace);
        if (record) {
            record(tx, 202, body);
        }
    });
    HttpResponse r = json_response(202, body);
    r.headers["Location"] = "/v1/work-requests/" + std::to_string(wr.id);
    return r;
}

HttpResponse group_reply(int status, const GroupView& g) {
    HttpResponse r = resource_reply(status, to_json(g));
    r.headers["ETag"] = etag(g.group.revision);
    return r;
}

}  // namespace

HttpResponse ApiRoutes::idempotent(
    const RouteCall& c,
    const std::function<HttpResponse(const std::function<void(WorkTables&, int, const std::string&)>&)>& create) {
    auto header = c.request.headers.find("idempotency-key");
    if (header == c.request.headers.end()) {
        return create({});
    }
    const std::string& key = header->second;
    if (key.empty() || key.size() > 255) {
        throw ResourceRefusal{400, "InvalidParameter", "Idempotency-Key must be 1 to 255 characters",
                              "Idempotency-Key"};
    }
    const std::string print = fingerprint(c.request);
    std::lock_guard lock(idempotency_mutex_);
    const std::int64_t now = controller_.work().now();
    auto seen = controller_.store().work_queries().idempotency(c.caller.name, key);
    if (seen && seen->created_at > now - 86400) {
        if (seen->fingerprint != print) {
            throw ResourceRefusal{422, "IdempotencyKeyReused",
                                  "Idempotency-Key '" + core::escape_unprintable(key) +
                                      "' was used within 24 h for another request; use a new key",
                                  "Idempotency-Key"};
        }
        HttpResponse replay = json_response(seen->status, seen->body);
        replay.headers["Idempotent-Replayed"] = "true";
        return replay;
    }
    return create([&](WorkTables& tx, int status, const std::string& body) {
        tx.put_idempotency({c.caller.name, key, print, status, body, now});
    });
}

void ApiRoutes::add_work_routes() {
    WorkEngine& work = controller_.work();
    GroupService& groups = controller_.groups();
    WorkQueries& store = controller_.store().work_queries();

    // /v1/work-requests[/{id}[/logs|/errors]]
    add({"work-requests", {"GET"}, false, Role::READER, false, [&store](const RouteCall& c) -> HttpResponse {
             if (c.args.empty()) {
                 WorkRequestFilter f;
                 const std::string status = c.param("status");
                 for (size_t start = 0; !status.empty() && start <= status.size();) {
                     const size_t end = status.find(',', start);
                     const std::string one = status.substr(start, end == std::string::npos ? end : end - start);
                     auto s = parse_work_state(one);
                     if (!s) {
                         throw ResourceRefusal{400, "InvalidParameter",
                                               "status '" + core::escape_unprintable(one) +
                                                   "' is not one of ACCEPTED, WAITING, IN_PROGRESS, SUCCEEDED, "
                                                   "FAILED, CANCELING, CANCELED, SKIPPED",
                                               "status"};
                     }
                     f.states.push_back(*s);
                     start = end == std::string::npos ? status.size() + 1 : end + 1;
                 }
                 if (!c.param("operation").empty()) {
                     f.operation = parse_work_operation(c.param("operation"));
                     if (!f.operation) {
                         throw ResourceRefusal{400, "InvalidParameter", "operation must be HOST_INSTALL, HOST_LOCK, HOST_UNLOCK or HOST_REBOOT", "operation"};
                     }
                 }
                 f.host = c.param("host");
                 if (!c.param("parent").empty()) {
                     f.parent_id = c.param("parent") == "none" ? 0 : parse_id(c.param("parent"), "parent");
                 }
                 if (!c.param("page").empty()) {
                     f.before_id = parse_id(c.param("page"), "page");
                 }
                 if (!c.param("limit").empty()) {
                     const std::string limit = c.param("limit");
                     if (limit.size() > 4 || limit.find_first_not_of("0123456789") != std::string::npos ||
                         std::stoi(limit) < 1 || std::stoi(limit) > 1000) {
                         throw ResourceRefusal{400, "InvalidParameter", "limit must be from 1 to 1000", "limit"};
                     }
                     f.limit = std::stoi(limit);
                 }
                 json items = json::array();
                 auto page = store.list_work_requests(f);
                 for (const auto& wr : page) {
                     items.push_back(to_json(wr));
                 }
                 json reply = {{"items", items}, {"next_page", nullptr}};
                 if (static_cast<int>(page.size()) == f.limit) {
                     reply["next_page"] = std::to_string(page.back().id);
                 }
                 return resource_reply(200, reply);
             }
             const std::int64_t id = parse_id(c.args[0], "id");
             auto wr = store.work_request(id);
             if (!wr) {
                 throw NotFound("no work request " + std::to_string(id));
             }
             if (c.args.size() == 1) {
                 HttpResponse r = resource_reply(200, to_json(*wr));
                 r.headers["ETag"] = etag(wr->revision);
                 return r;
             }
             const std::int64_t after = c.param("after").empty() ? 0 : parse_id(c.param("after"), "after");
             json items = json::array();
             if (c.args.size() == 2 && c.args[1] == "logs") {
                 for (const auto& e : store.work_logs(id, after, 1000)) {
                     items.push_back(to_json(e));
                 }
             } else if (c.args.size() == 2 && c.args[1] == "errors") {
                 for (const auto& e : store.work_errors(id, after, 1000)) {
                     items.push_back(to_json(e));
                 }
             } else {
                 throw NotFound("unknown path: /v1/work-requests/ID takes /logs or /errors");
             }
             return resource_reply(200, {{"items", items}});
         },
         true});
    // POST /v1/work-requests/{id}/cancel | /rerun
    add({"work-requests", {"POST"}, false, Role::ADMIN, true, [this, &work, &store](const RouteCall& c) {
             if (c.args.size() != 2 || (c.args[1] != "cancel" && c.args[1] != "rerun")) {
                 throw ResourceRefusal{404, "NotFound", "POST /v1/work-requests/ID/cancel or /rerun", ""};
             }
             const std::int64_t id = parse_id(c.args[0], "id");
             if (auto want = if_match(c)) {
                 auto wr = store.work_request(id);
                 if (wr && wr->revision != *want) {
                     throw ResourceRefusal{412, "PreconditionFailed",
                                           "work request " + std::to_string(id) + " has changed (ETag " +
                                               etag(wr->revision) + "): read it again and retry",
                                           "If-Match"};
                 }
             }
             if (c.args[1] == "cancel") {
                 return accepted(work.cancel(id, c.caller.name));
             }
             return idempotent(c, [&](const auto& record) {
                 return accepted_once([&](const OnAccept& on_accept) { return work.rerun(id, c.caller.name, on_accept); },
                                      record);
             });
         },
         true});

    // POST /v1/host-installs {"hosts": [...] | "group": G, "max_concurrency", "max_errors", "force", "retry_intervals"}
    add({"host-installs", {"POST"}, false, Role::ADMIN, true, [this, &work, &groups](const RouteCall& c) {
             const json body = parse_body(c);
             InstallRequest r;
             r.hosts = string_list(body, "hosts");
             const std::string group = string_field(body, "group", "");
             if (!group.empty() && !r.hosts.empty()) {
                 throw ResourceRefusal{400, "InvalidParameter", "give hosts or group, not both", "hosts"};
             }
             if (!group.empty()) {
                 r.hosts = groups.resolve(group);
                 r.target_kind = "GROUP";
                 r.target = group;
             } else {
                 r.target_kind = r.hosts.size() == 1 ? "HOST" : "HOSTS";
             }
             if (group.empty() && r.hosts.empty()) {
                 throw ResourceRefusal{400, "InvalidParameter", "name the hosts (\"hosts\": [...]) or a group (\"group\")",
                                       "hosts"};
             }
             r.max_concurrency = string_field(body, "max_concurrency", "10%");
             r.max_errors = string_field(body, "max_errors", "0");
             if (body.contains("force")) {
                 if (!body.at("force").is_boolean()) {
                     throw ResourceRefusal{400, "InvalidParameter", "force must be true or false", "force"};
                 }
                 r.force = body.at("force").get<bool>();
             }
             if (body.contains("retry_intervals")) {
                 const json& v = body.at("retry_intervals");
                 if (!v.is_array() || v.size() > 10 ||
                     !std::all_of(v.begin(), v.end(), [](const json& m) { return m.is_number_integer(); })) {
                     throw ResourceRefusal{400, "InvalidParameter",
                                           "retry_intervals must be a list of at most 10 whole minutes",
                                           "retry_intervals"};
                 }
                 r.retry_intervals = v.get<std::vector<int>>();
             }
             r.created_by = c.caller.name;
             r.flow = string_field(body, "flow", "");
             if (body.contains("lock")) {
                 if (!body.at("lock").is_boolean()) {
                     throw ResourceRefusal{400, "InvalidParameter", "lock must be true or false", "lock"};
                 }
                 r.lock = body.at("lock").get<bool>();
             }
             return idempotent(c, [&](const auto& record) {
                 return accepted_once([&](const OnAccept& on_accept) { return work.submit_install(r, on_accept); },
                                      record);
             });
         },
         true});

    // /v1/groups[/{name}]
    add({"groups", {"GET"}, false, Role::READER, false, [&groups](const RouteCall& c) {
             if (c.args.empty()) {
                 json items = json::array();
                 for (const auto& g : groups.list()) {
                     items.push_back(to_json(g));
                 }
                 return resource_reply(200, {{"items", items}});
             }
             return group_reply(200, groups.show(c.args[0]));
         },
         true});
    add({"groups", {"POST"}, false, Role::ADMIN, true, [&groups](const RouteCall& c) {
             const json body = parse_body(c);
             if (c.args.empty()) {
                 StoredGroup g;
                 g.name = string_field(body, "name", "");
                 g.description = string_field(body, "description", "");
                 g.sw_version = string_field(body, "sw_version", "");
                 g.members = string_list(body, "hosts");
                 const GroupChanges rule = rule_of(body);
                 g.rule_personality = rule.rule_personality.value_or("");
                 g.rule_labels = rule.rule_labels.value_or(std::map<std::string, std::string>());
                 HttpResponse r = group_reply(201, groups.create(g));
                 r.headers["Location"] = "/v1/groups/" + g.name;
                 return r;
             }
             if (c.args.size() == 2 && (c.args[1] == "add-hosts" || c.args[1] == "remove-hosts")) {
                 const auto hosts = string_list(body, "hosts");
                 return group_reply(200, c.args[1] == "add-hosts" ? groups.add_hosts(c.args[0], hosts, if_match(c))
                                                                  : groups.remove_hosts(c.args[0], hosts, if_match(c)));
             }
             throw ResourceRefusal{404, "NotFound", "POST /v1/groups, /v1/groups/NAME/add-hosts or /remove-hosts", ""};
         },
         true});
    // PATCH /v1/groups/{name} {"description", "sw_version", "rule": {"personality", "labels"}}
    add({"groups", {"PATCH"}, false, Role::ADMIN, true, [&groups](const RouteCall& c) {
             if (c.args.size() != 1) {
                 throw ResourceRefusal{404, "NotFound", "PATCH /v1/groups/NAME", ""};
             }
             const json body = parse_body(c);
             for (const auto& [key, value] : body.items()) {
                 if (key != "description" && key != "sw_version" && key != "rule") {
                     throw ResourceRefusal{400, "InvalidParameter",
                                           "a group update takes description, sw_version and rule; its members "
                                           "change with add-hosts and remove-hosts",
                                           key};
                 }
             }
             GroupChanges changes = rule_of(body);
             if (body.contains("description")) {
                 changes.description = string_field(body, "description", "");
             }
             if (body.contains("sw_version")) {
                 changes.sw_version = body.at("sw_version").is_null() ? std::string()
                                                                        : string_field(body, "sw_version", "");
             }
             return group_reply(200, groups.update(c.args[0], changes, if_match(c)));
         },
         true});
    add({"groups", {"DELETE"}, false, Role::ADMIN, true, [&groups](const RouteCall& c) {
             if (c.args.size() != 1) {
                 throw ResourceRefusal{404, "NotFound", "DELETE /v1/groups/NAME", ""};
             }
             groups.remove(c.args[0], if_match(c));
             return HttpResponse{204, "application/json", "", {}, {}, {}};
         },
         true});
    add({"openapi.json", {"GET"}, false, Role::READER, false,
         [this](const RouteCall&) { return json_response(200, openapi_document(routes_)); }, true});
    // GET /v1/host-labels[/{host}]
    add({"host-labels", {"GET"}, false, Role::READER, false, [&groups](const RouteCall& c) {
             if (c.args.empty()) {
                 json items = json::array();
                 for (const auto& v : groups.all_labels()) {
                     items.push_back(to_json(v));
                 }
                 return resource_reply(200, {{"items", items}});
             }
             return resource_reply(200, to_json(groups.labels(c.args[0])));
         },
         true});
    // POST /v1/host-labels/{host} {"labels": {"name": "value" | ""}}: "" clears a label;
    // {"accept_reported": true} puts the labels its agent reports, held back, into effect.
    add({"host-labels", {"POST"}, false, Role::ADMIN, true, [&groups](const RouteCall& c) {
             if (c.args.size() != 1) {
                 throw ResourceRefusal{404, "NotFound", "POST /v1/host-labels/HOST", ""};
             }
             const json body = parse_body(c);
             if (body.contains("accept_reported")) {
                 if (!body.at("accept_reported").is_boolean()) {
                     throw ResourceRefusal{400, "InvalidParameter", "accept_reported must be true or false",
                                           "accept_reported"};
                 }
                 if (body.contains("labels")) {
                     throw ResourceRefusal{400, "InvalidParameter", "give labels or accept_reported, not both",
                                           "accept_reported"};
                 }
                 if (body.at("accept_reported").get<bool>()) {
                     return resource_reply(200, to_json(groups.accept_reported(c.args[0])));
                 }
                 return resource_reply(200, to_json(groups.labels(c.args[0])));
             }
             std::map<std::string, std::string> labels;
             try {
                 labels = body.value("labels", json::object()).get<std::map<std::string, std::string>>();
             } catch (const json::exception&) {
                 throw ResourceRefusal{400, "InvalidParameter", "labels must map names to strings", "labels"};
             }
             return resource_reply(200, to_json(groups.label(c.args[0], labels)));
         },
         true});
}

}  // namespace patching::controller
