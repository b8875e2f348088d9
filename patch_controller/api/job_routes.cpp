// SPDX-License-Identifier: Apache-2.0
// The jobs resource (README "Scheduled jobs"): /v1/jobs[/{name}[/runs]] and the actions
// /v1/jobs/{name}/run-now|skip-next|pause|resume. Readers read, admins act; the route table
// audits every change. Errors are {"code","message","field"}; changes take If-Match; create and
// run-now take an Idempotency-Key (the first answer is recorded in their own transaction).
#include "api/resource_request.hpp"
#include "api/routes.hpp"

#include "controller.hpp"

#include <patch_core/errors.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

namespace patching::controller {

using nlohmann::json;

namespace job_api {

[[noreturn]] void bad(const std::string& field, const std::string& message) {
    throw ResourceRefusal{400, "InvalidParameter", message, field};
}

std::string text(const json& body, const char* field, const std::string& fallback) {
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
    bad(field, std::string(field) + " must be a string");
}

bool flag(const json& body, const char* field, bool fallback) {
    if (!body.contains(field)) {
        return fallback;
    }
    if (!body.at(field).is_boolean()) {
        bad(field, std::string(field) + " must be true or false");
    }
    return body.at(field).get<bool>();
}

std::vector<std::string> strings(const json& body, const char* field, std::vector<std::string> fallback) {
    if (!body.contains(field)) {
        return fallback;
    }
    const json& v = body.at(field);
    if (!v.is_array() || !std::all_of(v.begin(), v.end(), [](const json& s) { return s.is_string(); })) {
        bad(field, std::string(field) + " must be a list of strings");
    }
    return v.get<std::vector<std::string>>();
}

int number(const std::string& value, const char* field, int low, int high) {
    if (value.empty() || value.size() > 9 || value.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(value) < low || std::stoi(value) > high) {
        bad(field, std::string(field) + " must be a whole number from " + std::to_string(low) + " to " +
                       std::to_string(high));
    }
    return std::stoi(value);
}

/// Applies the body's fields to `job` (create: onto a fresh job; update: onto the stored one).
void apply(const json& body, StoredJob& job, bool create) {
    static const std::set<std::string> known = {
        "name", "description", "start", "time_zone", "rule", "hosts", "group", "operation", "max_concurrency",
        "max_errors", "force", "retry_intervals", "window_minutes", "overlap_policy", "paused"};
    for (const auto& [key, value] : body.items()) {
        if (!known.contains(key)) {
            bad(key, "unknown field '" + core::escape_unprintable(key) + "' (a job takes: name, description, start, "
                                                                           "time_zone, rule, hosts or group, operation, "
                                                                           "max_concurrency, max_errors, force, "
                                                                           "retry_intervals, window_minutes, "
                                                                           "overlap_policy, paused)");
        }
    }
    if (create) {
        job.name = text(body, "name", "");
        if (!body.contains("start")) {
            bad("start", "start is required: the first run, local date and time YYYY-MM-DDTHH:MM in time_zone");
        }
        if (!body.contains("time_zone")) {
            bad("time_zone", "time_zone is required: an IANA zone such as Europe/Berlin or UTC");
        }
    } else if (body.contains("name") && text(body, "name", "") != job.name) {
        bad("name", "a job's name cannot change: create another job");
    }
    job.description = text(body, "description", job.description);
    job.start = text(body, "start", job.start);
    job.time_zone = text(body, "time_zone", job.time_zone);
    job.rule = text(body, "rule", job.rule);
    if (body.contains("hosts") || body.contains("group")) {
        job.hosts = strings(body, "hosts", {});
        job.group = text(body, "group", "");
    }
    job.operation = text(body, "operation", job.operation);
    job.max_concurrency = text(body, "max_concurrency", job.max_concurrency);
    job.max_errors = text(body, "max_errors", job.max_errors);
    job.force = flag(body, "force", job.force);
    if (body.contains("retry_intervals")) {
        const json& v = body.at("retry_intervals");
        if (!v.is_array() || !std::all_of(v.begin(), v.end(), [](const json& m) { return m.is_number_integer(); })) {
            bad("retry_intervals", "retry_intervals must be a list of whole minutes");
        }
        job.retry_intervals = v.get<std::vector<int>>();
    }
    if (body.contains("window_minutes")) {
        const json& v = body.at("window_minutes");
        if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > 10080) {
            bad("window_minutes", "window_minutes must be whole minutes from 0 (no window) to 10080 (a week)");
        }
        job.window_seconds = v.get<std::int64_t>() * 60;
    }
    job.overlap_policy = text(body, "overlap_policy", job.overlap_policy);
    job.paused = flag(body, "paused", job.paused);
}

/// The body's fields as changes (PATCH): JobService applies them to the job as it is then.
JobChanges changes_of(const json& body, const std::string& name) {
    StoredJob probe;  // apply() checks each field; a field the body has is taken from it
    probe.name = name;
    apply(body, probe, false);
    JobChanges c;
    auto take = [&](const char* field, auto& out, const auto& value) {
        if (body.contains(field)) {
            out = value;
        }
    };
    take("description", c.description, probe.description);
    take("start", c.start, probe.start);
    take("time_zone", c.time_zone, probe.time_zone);
    take("rule", c.rule, probe.rule);
    if (body.contains("hosts") || body.contains("group")) {
        c.hosts = probe.hosts;
        c.group = probe.group;
    }
    take("operation", c.operation, probe.operation);
    take("max_concurrency", c.max_concurrency, probe.max_concurrency);
    take("max_errors", c.max_errors, probe.max_errors);
    take("force", c.force, probe.force);
    take("retry_intervals", c.retry_intervals, probe.retry_intervals);
    take("window_minutes", c.window_seconds, probe.window_seconds);
    take("overlap_policy", c.overlap_policy, probe.overlap_policy);
    take("paused", c.paused, probe.paused);
    return c;
}

json to_json(const JobView& v) {
    const StoredJob& j = v.job;
    json next = json::array();
    for (size_t i = 0; i < v.next.size(); ++i) {
        next.push_back({{"local", i < v.next_local.size() ? json(v.next_local[i]) : json(nullptr)},
                        {"utc", rfc3339(v.next[i])},
                        {"skipped", static_cast<int>(i) < j.skip_count}});
    }
    json target = {{"kind", j.target_kind}};
    if (j.target_kind == "GROUP") {
        target["group"] = j.group;
    } else {
        target["hosts"] = j.hosts;
    }
    return {{"name", j.name},
            {"description", j.description},
            {"state", v.state},
            {"schedule",
             {{"type", j.rule.empty() ? "ONE_TIME" : "RECURRING"},
              {"start", j.start},
              {"time_zone", j.time_zone},
              {"rule", j.rule.empty() ? json(nullptr) : json(j.rule)}}},
            {"target", target},
            {"operation", j.operation},
            {"max_concurrency", j.max_concurrency},
            {"max_errors", j.max_errors},
            {"force", j.force},
            {"retry_intervals", j.retry_intervals},
            {"window_minutes", j.window_seconds / 60},
            {"overlap_policy", j.overlap_policy},
            {"paused", j.paused},
            {"skip_count", j.skip_count},
            {"next_runs", next},
            {"last_work_request", j.last_work_request == 0 ? json(nullptr) : json(j.last_work_request)},
            {"last_fired_at", rfc3339(j.last_fired_at)},
            {"created_by", j.created_by},
            {"created_at", rfc3339(j.created_at)},
            {"updated_at", rfc3339(j.updated_at)},
            {"etag", etag(j.revision)}};
}

json to_json(const JobRun& r) {
    return {{"id", r.id},
            {"job", r.job},
            {"slot", rfc3339(r.slot)},
            {"recorded_at", rfc3339(r.recorded_at)},
            {"result", r.result},
            {"reason", r.reason},
            {"message", r.message},
            {"work_request_id", r.work_request_id == 0 ? json(nullptr) : json(r.work_request_id)}};
}

HttpResponse job_reply(int status, const JobView& v) {
    HttpResponse r = resource_reply(status, to_json(v));
    r.headers["ETag"] = etag(v.job.revision);
    return r;
}

}  // namespace job_api

void ApiRoutes::add_job_routes() {
    JobService& jobs = controller_.jobs();
    using namespace job_api;

    // GET /v1/jobs[?limit&page&group&target_kind], /v1/jobs/{name}[?next=N], /v1/jobs/{name}/runs
    add({"jobs", {"GET"}, false, Role::READER, false, [&jobs](const RouteCall& c) -> HttpResponse {
             if (c.args.empty()) {
                 JobFilter f;
                 f.after_name = c.param("page");
                 f.group = c.param("group");
                 f.target_kind = c.param("target_kind");
                 if (!f.target_kind.empty() && f.target_kind != "HOSTS" && f.target_kind != "GROUP") {
                     bad("target_kind", "target_kind must be HOSTS or GROUP");
                 }
                 if (!c.param("limit").empty()) {
                     f.limit = number(c.param("limit"), "limit", 1, 1000);
                 }
                 json items = json::array();
                 const auto page = jobs.list(f);
                 for (const auto& v : page) {
                     items.push_back(to_json(v));
                 }
                 json body = {{"items", items}, {"next_page", nullptr}};
                 if (std::ssize(page) == f.limit) {
                     body["next_page"] = page.back().job.name;
                 }
                 return resource_reply(200, body);
             }
             if (c.args.size() == 1) {
                 const int n = c.param("next").empty() ? 5 : number(c.param("next"), "next", 0, 100);
                 return job_reply(200, jobs.show(c.args[0], n));
             }
             if (c.args.size() == 2 && c.args[1] == "runs") {
                 const int limit = c.param("limit").empty() ? 50 : number(c.param("limit"), "limit", 1, 1000);
                 const std::int64_t before =
                     c.param("page").empty() ? 0 : number(c.param("page"), "page", 1, 999'999'999);
                 json items = json::array();
                 const auto page = jobs.runs(c.args[0], before, limit);
                 for (const auto& r : page) {
                     items.push_back(to_json(r));
                 }
                 json body = {{"items", items}, {"next_page", nullptr}};
                 if (std::ssize(page) == limit) {
                     body["next_page"] = std::to_string(page.back().id);
                 }
                 return resource_reply(200, body);
             }
             throw ResourceRefusal{404, "NotFound", "GET /v1/jobs, /v1/jobs/NAME or /v1/jobs/NAME/runs", ""};
         },
         true});
    // POST /v1/jobs (create), /v1/jobs/{name}/run-now|skip-next|pause|resume
    add({"jobs", {"POST"}, false, Role::ADMIN, true, [this, &jobs](const RouteCall& c) -> HttpResponse {
             if (c.args.empty()) {
                 StoredJob job;
                 apply(parse_body(c), job, true);
                 return idempotent(c, [&](const auto& record) {
                     std::string text;
                     const JobView v = jobs.create(job, c.caller.name, [&](WorkTables& tx, const JobView& shown) {
                         text = to_json(shown).dump(-1, ' ', false, json::error_handler_t::replace);
                         if (record) {
                             record(tx, 201, text);
                         }
                     });
                     HttpResponse r = json_response(201, text);
                     r.headers["Location"] = "/v1/jobs/" + job.name;
                     r.headers["ETag"] = etag(v.job.revision);
                     return r;
                 });
             }
             if (c.args.size() == 2) {
                 const std::string& name = c.args[0];
                 const std::string& action = c.args[1];
                 if (action == "run-now") {
                     if (auto want = if_match(c, "job"); want && jobs.show(name, 0).job.revision != *want) {
                         throw ResourceRefusal{412, "PreconditionFailed",
                                               "job " + name + " has changed: read it again and retry", "If-Match"};
                     }
                     return idempotent(c, [&](const auto& record) {
                         std::string text;
                         const StoredWorkRequest wr =
                             jobs.run_now(name, c.caller.name, [&](WorkTables& tx, const StoredWorkRequest& p) {
                                 text = controller::to_json(p).dump(-1, ' ', false, json::error_handler_t::replace);
                                 if (record) {
                                     record(tx, 202, text);
                                 }
                             });
                         HttpResponse r = json_response(202, text);
                         r.headers["Location"] = "/v1/work-requests/" + std::to_string(wr.id);
                         return r;
                     });
                 }
                 if (action == "skip-next") {
                     return job_reply(200, jobs.skip_next(name, if_match(c, "job")));
                 }
                 if (action == "pause") {
                     return job_reply(200, jobs.pause(name, if_match(c, "job")));
                 }
                 if (action == "resume") {
                     return job_reply(200, jobs.resume(name, if_match(c, "job")));
                 }
             }
             throw ResourceRefusal{404, "NotFound",
                                   "POST /v1/jobs, or /v1/jobs/NAME/run-now, /skip-next, /pause or /resume", ""};
         },
         true});
    // PATCH /v1/jobs/{name}: change any field but the name and the target kind (If-Match).
    add({"jobs", {"PATCH"}, false, Role::ADMIN, true, [&jobs](const RouteCall& c) {
             if (c.args.size() != 1) {
                 throw ResourceRefusal{404, "NotFound", "PATCH /v1/jobs/NAME", ""};
             }
             const json body = parse_body(c);
             const auto want = if_match(c, "job");
             // Applied under the service's lock: a pause made meanwhile is not undone.
             return job_reply(200, jobs.update(c.args[0], changes_of(body, c.args[0]), want));
         },
         true});
    add({"jobs", {"DELETE"}, false, Role::ADMIN, true, [&jobs](const RouteCall& c) {
             if (c.args.size() != 1) {
                 throw ResourceRefusal{404, "NotFound", "DELETE /v1/jobs/NAME", ""};
             }
             jobs.remove(c.args[0], if_match(c, "job"));
             return HttpResponse{204, "application/json", "", {}, {}, {}};
         },
         true});
}

}  // namespace patching::controller
