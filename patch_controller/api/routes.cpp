// SPDX-License-Identifier: Apache-2.0
#include "api/routes.hpp"

#include "api/metrics_endpoint.hpp"

#include "controller.hpp"
#include "http/multipart.hpp"

#include <patch_core/errors.hpp>
#include <patch_core/patch_id.hpp>
#include <patch_core/rest.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>

namespace patching::controller {

namespace {

struct ParsedPath {
    std::string verb;
    std::vector<std::string> args;
};

// "/v1/apply/A/B" -> {apply, [A, B]}; nullopt for paths outside the API.
std::optional<ParsedPath> parse_path(const std::string& path) {
    for (const std::string p : {"/v1", "/patch"}) {
        if (path == p || path == p + "/") {
            return ParsedPath{"", {}};
        }
        if (path.rfind(p + "/", 0) != 0) {
            continue;
        }
        ParsedPath parsed;
        const std::string rest = path.substr(p.size() + 1);
        size_t start = 0;
        bool first = true;
        while (start <= rest.size()) {
            size_t end = rest.find('/', start);
            std::string seg = rest.substr(start, end == std::string::npos ? std::string::npos : end - start);
            if (first) {
                parsed.verb = seg;
                first = false;
            } else if (!seg.empty()) {
                parsed.args.push_back(seg);
            }
            if (end == std::string::npos) {
                break;
            }
            start = end + 1;
        }
        return parsed;
    }
    return std::nullopt;
}

HttpResponse ok_json(std::string body) { return json_response(200, std::move(body)); }

// The name body_policy gives a multipart upload's file until its part headers are read.
constexpr const char* MULTIPART_PLACEHOLDER = "multipart-upload";

// Why `name` cannot be an uploaded patch's file name, or nullopt if it can.
std::optional<std::string> upload_name_problem(const std::string& name) {
    if (name.size() < 7 || name.substr(name.size() - 6) != ".patch" || !core::is_safe_basename(name)) {
        return "File must end in .patch extension: " + core::escape_unprintable(name);
    }
    return std::nullopt;
}

// A refusal by the API layer itself (a missing argument): {"error": message} without the
// newline of service errors, as the reference's handlers answer.
struct ApiRefusal {
    int status;
    std::string message;
    std::optional<std::string> body;  ///< A body of another shape, when the reference uses one.
};

}  // namespace

std::string RouteCall::param(const std::string& name) const {
    auto it = request.query.find(name);
    return it == request.query.end() ? std::string() : it->second;
}

bool RouteCall::flag(const std::string& name) const {
    const std::string v = param(name);
    return v == "yes" || v == "true" || v == "1";
}

ApiRoutes::ApiRoutes(const ControllerConfig& config, Controller& controller, Authenticator& auth)
    : config_(config), controller_(controller), auth_(auth) {
    add_query_routes();
    add_operation_routes();
    add_work_routes();
    add_job_routes();
    add_host_routes();
}

void ApiRoutes::add(Route route) {
    std::string key = route.resource ? route.verb + " " + route.methods.at(0) : route.verb;
    routes_.emplace(std::move(key), std::move(route));
}

const Route* ApiRoutes::find_route(const std::string& verb, const std::string& method) const {
    auto it = routes_.find(verb);
    if (it == routes_.end()) {
        it = routes_.find(verb + " " + (method == "HEAD" ? std::string("GET") : method));
    }
    return it == routes_.end() ? nullptr : &it->second;
}

std::string ApiRoutes::resource_methods(const std::string& verb) const {
    std::string methods;
    for (auto it = routes_.lower_bound(verb + " "); it != routes_.end() && it->first.rfind(verb + " ", 0) == 0; ++it) {
        methods += (methods.empty() ? "" : ", ") + it->second.methods.at(0);
    }
    return methods;
}

void ApiRoutes::add_query_routes() {
    QueryService& q = controller_.queries();
    auto query = [&q](const RouteCall& c) {
        return ok_json(core::rest::to_json(q.query({c.param("show"), c.param("release")})));
    };
    add({"", {"GET"}, true, Role::READER, false, query});
    add({"query", {"GET"}, true, Role::READER, false, query});
    add({"show", {"GET", "POST"}, true, Role::READER, false,
         [&q](const RouteCall& c) { return ok_json(core::rest::to_json(q.show(c.args))); }});
    add({"query_hosts", {"GET"}, true, Role::READER, false, [this](const RouteCall& c) {
             return ok_json(host_renderer_.render(controller_.hosts().list(), c.flag("brief")));
         }});
    add({"what_requires", {"GET"}, true, Role::READER, false,
         [&q](const RouteCall& c) { return op_response(q.what_requires(c.args)); }});
    add({"query_dependencies", {"GET"}, true, Role::READER, false, [&q](const RouteCall& c) {
             return ok_json(core::rest::to_json(q.query_dependencies(c.args, c.flag("recursive"))));
         }});
    for (const std::string verb : {"is_applied", "is_available"}) {
        const std::string state = verb == "is_applied" ? "Applied" : "Available";
        add({verb, {"GET", "POST"}, true, Role::READER, false, [&q, state](const RouteCall& c) {
                 return ok_json(q.all_in_state(c.args, state) ? "true" : "false");
             }});
    }
    add({"query_app_dependencies", {"GET", "POST"}, true, Role::READER, false,
         [&q](const RouteCall&) { return ok_json(core::rest::to_json(q.app_dependencies())); }});
    add({"commit_dry_run", {"GET", "POST"}, true, Role::READER, false, [this](const RouteCall& c) {
             return op_response(controller_.lifecycle().commit({c.args, true}));
         }});
    // The audit log names callers and their addresses: admins only, though it changes nothing.
    add({"audit", {"GET"}, false, Role::ADMIN, false, [this](const RouteCall& c) {
             const std::string after = c.param("after");
             if (after.size() > 18 || after.find_first_not_of("0123456789") != std::string::npos) {
                 throw ApiRefusal{400, "after must be an audit sequence number", {}};
             }
             core::rest::AuditReply reply;
             for (const auto& r : controller_.store().audit_log(std::stoll("0" + after), 1000)) {
                 reply.audit.push_back({r.seq, r.time, r.caller, r.role, r.remote, r.action, r.target, r.outcome});
             }
             return ok_json(core::rest::to_json(reply));
         }});
}

void ApiRoutes::add_operation_routes() {
    LifecycleService& life = controller_.lifecycle();
    add({"upload", {"POST"}, true, Role::ADMIN, true, [this](const RouteCall& c) {
             if (!c.request.body_file || !c.request.read_body) {
                 throw ApiRefusal{400,
                                  "no file uploaded: POST the patch as the request body with ?filename=NAME.patch, "
                                  "or as the form field `file` (multipart/form-data)",
                                  {}};
             }
             // The upload's private directory goes whatever happens, an exception included.
             struct RemoveDir {
                 std::filesystem::path dir;
                 ~RemoveDir() {
                     std::error_code ec;
                     std::filesystem::remove_all(dir, ec);
                 }
             } remove_dir{c.request.body_file->parent_path()};
             if (c.request.body_file->filename() != MULTIPART_PLACEHOLDER) {
                 return op_response(controller_.imports().upload({*c.request.body_file, c.request.read_body}));
             }
             MultipartFileReader form(c.request.headers.at("content-type"), c.request.read_body);
             std::string name;
             try {
                 name = form.open();
             } catch (const std::exception& e) {
                 throw InvalidRequest(std::string("Upload failed: ") + e.what());
             }
             // The reference imports os.path.basename() of the client's file name.
             name = name.substr(name.find_last_of('/') == std::string::npos ? 0 : name.find_last_of('/') + 1);
             if (name.empty()) {
                 throw InvalidRequest("Error: No file uploaded");
             }
             if (const auto problem = upload_name_problem(name)) {
                 throw InvalidRequest(*problem);
             }
             return op_response(controller_.imports().upload(
                 {c.request.body_file->parent_path() / name,
                  [&form](char* buf, std::size_t len) { return form.read(buf, len); }}));
         }});
    add({"upload_dir", {"POST"}, true, Role::ADMIN, true, [this](const RouteCall& c) {
             std::vector<std::string> dirs;
             for (const auto& [k, v] : c.request.query) {
                 if (k.rfind("dir", 0) == 0) {
                     dirs.push_back(v);
                 }
             }
             return op_response(controller_.imports().upload_dir(dirs));
         }});
    add({"apply", {"POST"}, true, Role::ADMIN, true, [&life](const RouteCall& c) {
             return op_response(life.apply({c.args, c.flag("skip-semantic")}));
         }});
    add({"remove", {"POST"}, true, Role::ADMIN, true, [&life](const RouteCall& c) {
             return op_response(life.remove(
                 {c.args, c.flag("removeunremovable"), c.flag("skipappcheck"), c.flag("skip-semantic")}));
         }});
    add({"delete", {"POST"}, true, Role::ADMIN, true,
         [&life](const RouteCall& c) { return op_response(life.delete_patches({c.args})); }});
    add({"commit", {"POST"}, true, Role::ADMIN, true,
         [&life](const RouteCall& c) { return op_response(life.commit({c.args, false})); }});
    for (const std::string verb : {"init_release", "del_release"}) {
        add({verb, {"POST"}, true, Role::ADMIN, true, [this, verb](const RouteCall& c) {
                 if (c.args.size() != 1) {
                     throw ApiRefusal{400, "Release must be specified", {}};
                 }
                 ReleaseService& releases = controller_.releases();
                 return op_response(verb == "init_release" ? releases.init_release(c.args[0])
                                                           : releases.del_release(c.args[0]));
             }});
    }
    add({"host_install", {"POST"}, true, Role::ADMIN, true,
         [](const RouteCall&) -> HttpResponse { throw ApiRefusal{400, "Deprecated: Use host_install_async", {}}; }});
    add({"host_install_async", {"POST"}, true, Role::ADMIN, true, [this](const RouteCall& c) {
             if (c.args.empty()) {
                 throw ApiRefusal{400, "Host must be specified for install", {}};
             }
             // A work request of one host; the reference's answer.
             const StoredWorkRequest wr =
                 controller_.work().install_now(c.args[0], c.args.size() > 1 && c.args[1] == "force", c.caller.name);
             OpReport report;
             report.add_info("Patch installation request sent to " + wr.target + ".");
             return op_response(report);
         }});
    add({"drop_host", {"POST"}, true, Role::ADMIN, true, [this](const RouteCall& c) {
             if (c.args.empty()) {
                 throw ApiRefusal{400, "Host must be specified", {}};
             }
             controller_.hosts().drop(c.args[0]);
             return op_response({});
         }});
    add({"report_app_dependencies", {"POST"}, true, Role::ADMIN, true, [&life](const RouteCall& c) {
             const std::string app = c.param("app");
             if (app.empty()) {
                 // The reference's own shape for this refusal.
                 const char* message = "Application name must be given with ?app=NAME";
                 throw ApiRefusal{400, message, std::string(R"({"error":")") + message + R"(","status":500})"};
             }
             life.set_app_dependencies({app, c.args});
             return ok_json("true");
         }});
}

bool ApiRoutes::method_allowed(const Route& route, const HttpRequest& request, Contract contract) {
    // The reference accepted any method on every route (spec §6.1), and its client relies on
    // that (POST show, GET query); our clients say who they are and get 405 for a wrong one, so
    // a GET can never change anything for them. HEAD is a GET without the body.
    if (contract == Contract::REFERENCE && route.reference) {
        return true;
    }
    const std::string method = request.method == "HEAD" ? "GET" : request.method;
    return std::find(route.methods.begin(), route.methods.end(), method) != route.methods.end();
}

std::optional<std::filesystem::path> ApiRoutes::body_policy(const HttpRequest& head) {
    auto parsed = parse_path(head.path);
    if (!parsed) {
        return std::nullopt;  // "/", /updates/ and unknown paths: answered without a body
    }
    // A request that will be refused for want of a token is answered now, before its body is
    // read: the server closes the connection after the 401 (it never reads the body into the
    // application; the lingering close discards what is already on the way).
    auto caller = auth_.authenticate(head);
    if (!caller) {
        throw HttpRefusal(unauthenticated_response(head));
    }
    const Route* route = find_route(parsed->verb, head.method);
    // An unknown verb counts as an operation (admin only); a resource verb with another method
    // is answered 405 by dispatch.
    const Role required =
        route != nullptr ? route->role : (resource_methods(parsed->verb).empty() ? Role::ADMIN : Role::READER);
    if (!has_role(caller->role, required) || caller->role == Role::METRICS) {
        // nor for want of a role
        throw HttpRefusal(route != nullptr && route->resource && caller->role != Role::METRICS
                              ? resource_forbidden(*caller, head.method, parsed->verb)
                              : forbidden_response(*caller, parsed->verb));
    }
    if (parsed->verb != "upload") {
        return std::nullopt;
    }
    std::filesystem::path name;
    auto type = head.headers.find("content-type");
    if (type != head.headers.end() && is_multipart_form(type->second)) {
        // The reference client's form (field `file`); the file name is in the part's headers,
        // so the handler names the file once it has read them.
        name = MULTIPART_PLACEHOLDER;
    } else {
        auto it = head.query.find("filename");
        const std::string given = it == head.query.end() ? std::string() : it->second;
        if (const auto problem = upload_name_problem(given)) {
            throw HttpRefusal(refusal_response(400, *problem + " (give ?filename=NAME.patch)", contract_of(head)));
        }
        name = given;
    }
    std::filesystem::create_directories(config_.tmp_dir());
    std::string tmpl = (config_.tmp_dir() / "upload-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
        throw core::SystemError(errno, "cannot create an upload directory in", config_.tmp_dir());
    }
    return std::filesystem::path(tmpl) / name;
}

// The published repositories, read-only, as the reference serves /updates/rel-<ver>/ for dnf.
// They hold only signed, verified content, so reading them needs no token (agents and dnf).
HttpResponse ApiRoutes::serve_repository_file(const std::string& relative) {
    std::filesystem::path rel(relative);
    // "/updates//etc/passwd" and "/updates/%2Fetc/passwd" give an absolute path, which
    // operator/ below would put in place of repo_dir: only relative paths are served.
    if (rel.has_root_path()) {
        return refusal_response(404, "not found");
    }
    for (const auto& part : rel) {
        if (part == ".." || part == "." || part.empty()) {
            return refusal_response(404, "not found");
        }
    }
    std::filesystem::path full = config_.repo_dir / rel;
    std::error_code ec;
    if (rel.empty() || !std::filesystem::is_regular_file(full, ec)) {
        return refusal_response(404, "not found");
    }
    std::string type = "application/octet-stream";
    if (full.extension() == ".xml") {
        type = "application/xml";
    } else if (full.extension() == ".gz") {
        type = "application/gzip";
    }
    return {200, type, "", {}, full, {}};
}

void ApiRoutes::audit(const RouteCall& call, const std::string& verb, const std::string& outcome) {
    std::string target;
    for (const auto& a : call.args) {
        target += (target.empty() ? "" : " ") + a;
    }
    for (const auto& [k, v] : call.request.query) {
        target += (target.empty() ? "" : " ") + k + "=" + v;
    }
    controller_.store().audit(
        {0, 0, call.caller.name, to_string(call.caller.role), call.request.remote, verb, target, outcome});
}

HttpResponse ApiRoutes::unauthenticated_response(const HttpRequest& request) {
    return refusal_response(401, request.headers.contains("authorization")
                                     ? "the token was rejected: check SW_PATCH_TOKEN or the token file"
                                     : "authentication required: send 'Authorization: Bearer TOKEN' (sw-patch "
                                       "reads /etc/patching/admin.token when run as root)");
}

HttpResponse ApiRoutes::forbidden_response(const Caller& caller, const std::string& verb) {
    return refusal_response(403, "role '" + std::string(to_string(caller.role)) + "' of " + caller.name +
                                     " may not run '" + core::escape_unprintable(verb) + "' " +
                                     (caller.role == Role::METRICS ? "(a metrics token reads /metrics only)"
                                                                   : "(admin only)"));
}

HttpResponse ApiRoutes::resource_forbidden(const Caller& caller, const std::string& method, const std::string& verb) {
    return resource_error(403, "Forbidden",
                          "role '" + std::string(to_string(caller.role)) + "' of " + caller.name + " may not " +
                              core::escape_unprintable(method) + " " + verb + " (admin only)");
}

HttpResponse ApiRoutes::upload_busy_response(const HttpRequest& head) {
    return error_response(Busy("too many uploads in progress (" + std::to_string(config_.max_concurrent_uploads) +
                               "); retry when one has ended"),
                          contract_of(head));
}

HttpResponse ApiRoutes::handle(const HttpRequest& request) {
    if (metrics_ == nullptr) {
        return dispatch(request);
    }
    const auto started = std::chrono::steady_clock::now();
    HttpResponse response = dispatch(request);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    const std::string route = route_label(request);
    metrics_->observe_request(route, response.status, took.count());
    if (route == "upload" && response.status == 200) {
        auto length = request.headers.find("content-length");
        if (length != request.headers.end()) {
            metrics_->add_upload_bytes(std::strtoull(length->second.c_str(), nullptr, 10));
        }
    }
    return response;
}

std::string ApiRoutes::route_label(const HttpRequest& request) const {
    if (request.path == "/metrics") {
        return "metrics";
    }
    if (request.path.rfind("/updates/", 0) == 0) {
        return "repository";
    }
    auto parsed = parse_path(request.path);
    // The route's name: one of the route table's verbs (a resource verb counts once, whatever
    // its method), so the label set stays the size of the table.
    if (parsed && (routes_.contains(parsed->verb) || !resource_methods(parsed->verb).empty())) {
        return parsed->verb.empty() ? "root" : parsed->verb;
    }
    return "unknown";
}

HttpResponse ApiRoutes::metrics_response(const HttpRequest& request) {
    auto caller = auth_.authenticate(request);
    if (!caller) {
        return unauthenticated_response(request);
    }
    if (request.method != "GET" && request.method != "HEAD") {
        HttpResponse r = refusal_response(405, "/metrics takes GET, not " + core::escape_unprintable(request.method));
        r.headers["Allow"] = "GET";
        return r;
    }
    return render_metrics(*metrics_, controller_);
}

HttpResponse ApiRoutes::dispatch(const HttpRequest& request) {
    if (request.path == "/metrics" && metrics_ != nullptr) {
        return metrics_response(request);
    }
    if (request.path == "/" || request.path.empty()) {
        return {200, "text/plain", "Titanium Cloud Patching API, Available versions: /v1\n", {}, {}, {}};
    }
    if (request.path.rfind("/updates/", 0) == 0 && (request.method == "GET" || request.method == "HEAD")) {
        return serve_repository_file(request.path.substr(9));
    }
    auto parsed = parse_path(request.path);
    if (!parsed) {
        return refusal_response(404, "unknown path " + core::escape_unprintable(request.path) +
                                         " (the API is under /v1/)");
    }
    auto caller = auth_.authenticate(request);
    if (!caller) {
        return unauthenticated_response(request);
    }
    if (caller->role == Role::METRICS) {
        return forbidden_response(*caller, parsed->verb);
    }
    const Contract contract = contract_of(request);
    const std::string& verb = parsed->verb;
    RouteCall call{request, *caller, std::move(parsed->args)};
    const Route* found = find_route(verb, request.method);
    if (found == nullptr && !resource_methods(verb).empty()) {
        const std::string allowed = resource_methods(verb);
        HttpResponse r = resource_error(405, "MethodNotAllowed",
                                        "'" + verb + "' takes " + allowed + ", not " +
                                            core::escape_unprintable(request.method));
        r.headers["Allow"] = allowed;
        return r;
    }
    if (found == nullptr) {
        // Unknown verbs are treated as operations: admins only, and audited.
        if (caller->role != Role::ADMIN) {
            return forbidden_response(*caller, verb);
        }
        const std::string message = "unknown operation \"" + core::escape_unprintable(verb) + "\"";
        audit(call, verb, "error: " + message);
        return refusal_response(404, message);
    }
    const Route& route = *found;
    if (!has_role(caller->role, route.role)) {
        return route.resource ? resource_forbidden(*caller, request.method, verb) : forbidden_response(*caller, verb);
    }
    if (!method_allowed(route, request, contract)) {
        std::string allowed;
        for (const auto& m : route.methods) {
            allowed += (allowed.empty() ? "" : ", ") + m;
        }
        HttpResponse r = refusal_response(405, "'" + verb + "' takes " + allowed + ", not " +
                                                   core::escape_unprintable(request.method));
        r.headers["Allow"] = allowed;
        return r;
    }
    auto refused = [contract, &route](const ApiRefusal& r) {
        if (route.resource) {
            return resource_error(r.status, "InvalidParameter", r.message);
        }
        return r.body ? json_response(refusal_status(r.status, contract), *r.body)
                      : refusal_response(r.status, r.message, contract);
    };
    auto failed = [contract, &route](const ServiceError& e) {
        return route.resource ? resource_error(e) : error_response(e, contract);
    };
    if (!route.mutating) {
        try {
            return route.handler(call);
        } catch (const ServiceError& e) {
            return failed(e);
        } catch (const ApiRefusal& r) {
            return refused(r);
        } catch (const ResourceRefusal& r) {
            return resource_error(r);
        }
    }
    // An upload is received and verified on the server's upload threads, without an operation
    // slot (only its short import step takes the operation lock), so slow or stalled uploads
    // never make apply and remove busy. The server caps how many run at once.
    const bool counted = verb != "upload";
    // Operations run one at a time; cap how many may wait so they can never occupy every worker
    // thread and starve the queries.
    struct InFlight {
        std::atomic<int>& count;
        explicit InFlight(std::atomic<int>& c) : count(c) { ++count; }
        ~InFlight() { --count; }
    };
    // Resource routes share a path among methods: the audit names the method too.
    const std::string action = route.resource ? request.method + " " + verb : verb;
    std::optional<InFlight> in_flight;
    if (counted) {
        in_flight.emplace(mutating_in_flight_);
    }
    try {
        if (counted && mutating_in_flight_ > std::max(1, config_.worker_threads / 2)) {
            throw Busy("the controller is busy with other operations; retry in a moment");
        }
        HttpResponse response = route.handler(call);
        audit(call, action, response.status / 100 == 2 ? "ok" : "HTTP " + std::to_string(response.status));
        return response;
    } catch (const ServiceError& e) {
        const std::string text = e.what();
        audit(call, action, "error: " + text.substr(0, text.find('\n')));
        return failed(e);
    } catch (const ApiRefusal& r) {
        audit(call, action, "error: " + r.message);
        return refused(r);
    } catch (const ResourceRefusal& r) {
        audit(call, action, "error: " + r.message);
        return resource_error(r);
    } catch (const std::exception& e) {
        const std::string text = core::format_error_chain(e);
        audit(call, action, "error: " + text.substr(0, text.find('\n')));
        throw;
    }
}

}  // namespace patching::controller
