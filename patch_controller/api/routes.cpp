// SPDX-License-Identifier: Apache-2.0
#include "api/routes.hpp"

#include "agents/agent_api.hpp"

#include "service/patch_service.hpp"
#include "store/state_store.hpp"

#include <patch_core/errors.hpp>
#include <patch_core/patch_id.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <set>

namespace patching::controller {

using nlohmann::json;

namespace {

// Verbs a reader may call: they change nothing.
const std::set<std::string>& read_only_verbs() {
    static const std::set<std::string> verbs = {
        "",           "query",        "show",         "query_hosts",          "what_requires",
        "query_dependencies", "is_applied", "is_available", "query_app_dependencies", "commit_dry_run",
        "audit"};
    return verbs;
}

HttpResponse json_response(int status, const json& body) { return {status, "application/json", body.dump(), {}, {}, {}}; }

HttpResponse op_response(const OpResult& r) {
    return json_response(r.status, json{{"info", r.info}, {"warning", r.warning}, {"error", r.error}});
}

HttpResponse error_response(int status, const std::string& message) {
    return json_response(status, json{{"info", ""}, {"warning", ""}, {"error", message}});
}

bool flag(const HttpRequest& r, const std::string& name) {
    auto it = r.query.find(name);
    return it != r.query.end() && (it->second == "yes" || it->second == "true" || it->second == "1");
}

std::string param(const HttpRequest& r, const std::string& name) {
    auto it = r.query.find(name);
    return it == r.query.end() ? std::string() : it->second;
}

struct Route {
    std::string verb;
    std::vector<std::string> args;
};

// "/v1/apply/A/B" -> {apply, [A, B]}; nullopt for paths outside the API.
std::optional<Route> parse_route(const std::string& path) {
    for (const char* prefix : {"/v1", "/patch"}) {
        std::string p(prefix);
        if (path == p || path == p + "/") {
            return Route{"", {}};
        }
        if (path.rfind(p + "/", 0) == 0) {
            Route route;
            std::string rest = path.substr(p.size() + 1);
            size_t start = 0;
            bool first = true;
            while (start <= rest.size()) {
                size_t end = rest.find('/', start);
                std::string seg = rest.substr(start, end == std::string::npos ? std::string::npos : end - start);
                if (first) {
                    route.verb = seg;
                    first = false;
                } else if (!seg.empty()) {
                    route.args.push_back(seg);
                }
                if (end == std::string::npos) {
                    break;
                }
                start = end + 1;
            }
            return route;
        }
    }
    return std::nullopt;
}

}  // namespace

ApiRoutes::ApiRoutes(const ControllerConfig& config, PatchService& service, Authenticator& auth, StateStore& store,
                     AgentApi* agents)
    : config_(config), service_(service), auth_(auth), store_(store), agents_(agents) {}

std::optional<std::filesystem::path> ApiRoutes::body_policy(const HttpRequest& head) {
    auto route = parse_route(head.path);
    if (!route || route->verb != "upload") {
        return std::nullopt;
    }
    auto caller = auth_.authenticate(head);
    if (!caller || caller->role != Role::ADMIN) {
        return std::nullopt;  // the handler answers 401/403 without storing anything big
    }
    auto type = head.headers.find("content-type");
    if (type != head.headers.end() && type->second.rfind("multipart/", 0) == 0) {
        throw core::Error("multipart uploads are not supported yet: POST the file itself as application/octet-stream "
                          "with ?filename=NAME.patch (sw-patch upload does this)");
    }
    std::string name = param(head, "filename");
    if (name.size() < 7 || name.substr(name.size() - 6) != ".patch" || !core::is_safe_basename(name)) {
        throw core::Error("File must end in .patch extension: " + core::escape_unprintable(name) +
                          " (give ?filename=NAME.patch)");
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
        return error_response(404, "not found");
    }
    for (const auto& part : rel) {
        if (part == ".." || part == "." || part.empty()) {
            return error_response(404, "not found");
        }
    }
    std::filesystem::path full = config_.repo_dir / rel;
    std::error_code ec;
    if (rel.empty() || !std::filesystem::is_regular_file(full, ec)) {
        return error_response(404, "not found");
    }
    std::string type = "application/octet-stream";
    if (full.extension() == ".xml") {
        type = "application/xml";
    } else if (full.extension() == ".gz") {
        type = "application/gzip";
    }
    HttpResponse r{200, type, "", {}, full, {}};
    return r;
}

HttpResponse ApiRoutes::handle(const HttpRequest& request) {
    if (request.path == "/" || request.path.empty()) {
        return {200, "text/plain", "Titanium Cloud Patching API, Available versions: /v1\n", {}, {}, {}};
    }
    if (request.path.rfind("/updates/", 0) == 0 && (request.method == "GET" || request.method == "HEAD")) {
        return serve_repository_file(request.path.substr(9));
    }
    if (agents_ != nullptr && AgentApi::handles(request.path)) {
        return agents_->handle(request);
    }
    auto route = parse_route(request.path);
    if (!route) {
        return error_response(404, "unknown path " + core::escape_unprintable(request.path) + " (the API is under /v1/)");
    }
    auto caller = auth_.authenticate(request);
    if (!caller) {
        return error_response(401, request.headers.contains("authorization")
                                       ? "the token was rejected: check SW_PATCH_TOKEN or the token file"
                                       : "authentication required: send 'Authorization: Bearer TOKEN' (sw-patch reads "
                                         "/etc/patching/admin.token when run as root)");
    }
    const std::string& verb = route->verb;
    const bool mutating = !read_only_verbs().contains(verb);
    // The audit log names callers and their addresses: admins only, though it changes nothing.
    if ((mutating || verb == "audit") && caller->role != Role::ADMIN) {
        return error_response(403, "role '" + std::string(to_string(caller->role)) + "' of " + caller->name +
                                       " may not run '" + verb + "' (admin only)");
    }
    // Operations run one at a time; cap how many may wait so they can never occupy every worker
    // thread and starve the queries.
    struct InFlight {
        std::atomic<int>& count;
        explicit InFlight(std::atomic<int>& c) : count(c) { ++count; }
        ~InFlight() { --count; }
    };
    std::optional<InFlight> in_flight;
    if (mutating) {
        in_flight.emplace(mutating_in_flight_);
        if (mutating_in_flight_ > std::max(1, config_.worker_threads / 2)) {
            return error_response(503, "the controller is busy with other operations; retry in a moment");
        }
    }
    const auto& args = route->args;
    HttpResponse response;
    if (verb.empty() || verb == "query") {
        response = json_response(200, service_.query(param(request, "show"), param(request, "release")));
    } else if (verb == "show") {
        response = json_response(200, service_.show(args));
    } else if (verb == "query_hosts") {
        response = {200, "application/json", service_.query_hosts(flag(request, "brief")), {}, {}, {}};
    } else if (verb == "what_requires") {
        response = op_response(service_.what_requires(args));
    } else if (verb == "query_dependencies") {
        response = json_response(200, service_.query_dependencies(args, flag(request, "recursive")));
    } else if (verb == "is_applied" || verb == "is_available") {
        response = json_response(200, json(service_.all_in_state(args, verb == "is_applied" ? "Applied" : "Available")));
    } else if (verb == "query_app_dependencies") {
        response = json_response(200, service_.query_app_dependencies());
    } else if (verb == "commit_dry_run" || verb == "commit") {
        response = op_response(service_.commit(args, verb == "commit_dry_run"));
    } else if (verb == "audit") {
        const std::string after = param(request, "after");
        if (after.size() > 18 || after.find_first_not_of("0123456789") != std::string::npos) {
            response = error_response(400, "after must be an audit sequence number");
        } else {
            json records = json::array();
            for (const auto& r : store_.audit_log(std::stoll("0" + after), 1000)) {
                records.push_back({{"seq", r.seq}, {"time", r.time}, {"caller", r.caller}, {"role", r.role},
                                   {"remote", r.remote}, {"action", r.action}, {"target", r.target},
                                   {"outcome", r.outcome}});
            }
            response = json_response(200, json{{"audit", records}});
        }
    } else if (verb == "upload") {
        if (!request.body_file || !request.read_body) {
            response = error_response(400, "no file uploaded: POST the patch as the request body with ?filename=NAME.patch");
        } else {
            // The upload's private directory goes whatever happens, an exception included.
            struct RemoveDir {
                std::filesystem::path dir;
                ~RemoveDir() {
                    std::error_code ec;
                    std::filesystem::remove_all(dir, ec);
                }
            } remove_dir{request.body_file->parent_path()};
            response = op_response(service_.upload(*request.body_file, request.read_body));
        }
    } else if (verb == "upload_dir") {
        std::vector<std::string> dirs;
        for (const auto& [k, v] : request.query) {
            if (k.rfind("dir", 0) == 0) {
                dirs.push_back(v);
            }
        }
        response = op_response(service_.upload_dir(dirs));
    } else if (verb == "apply") {
        response = op_response(service_.apply(args, flag(request, "skip-semantic")));
    } else if (verb == "remove") {
        response = op_response(service_.remove(args, flag(request, "removeunremovable"), flag(request, "skipappcheck"),
                                               flag(request, "skip-semantic")));
    } else if (verb == "delete") {
        response = op_response(service_.delete_patches(args));
    } else if (verb == "init_release" || verb == "del_release") {
        response = args.size() != 1 ? error_response(400, "Release must be specified")
                                    : op_response(verb == "init_release" ? service_.init_release(args[0])
                                                                         : service_.del_release(args[0]));
    } else if (verb == "host_install") {
        response = error_response(400, "Deprecated: Use host_install_async");
    } else if (verb == "host_install_async") {
        response = args.empty() ? error_response(400, "Host must be specified for install")
                                : op_response(service_.host_install_async(args[0], args.size() > 1 && args[1] == "force"));
    } else if (verb == "drop_host") {
        response = args.empty() ? error_response(400, "Host must be specified") : op_response(service_.drop_host(args[0]));
    } else if (verb == "report_app_dependencies") {
        std::string app = param(request, "app");
        if (app.empty()) {
            response = json_response(400, json{{"status", 500}, {"error", "Application name must be given with ?app=NAME"}});
        } else {
            OpResult r = service_.report_app_dependencies(args, app);
            response = r.ok() ? json_response(200, json(true)) : op_response(r);
        }
    } else {
        response = error_response(404, "unknown operation \"" + core::escape_unprintable(verb) + "\"");
    }
    if (mutating) {
        json body = json::parse(response.body, nullptr, false);
        std::string outcome = "ok";
        if (response.status != 200) {
            outcome = "HTTP " + std::to_string(response.status);
        }
        if (body.is_object() && body.contains("error") && body["error"].is_string() && !body["error"].get<std::string>().empty()) {
            std::string err = body["error"].get<std::string>();
            outcome = "error: " + err.substr(0, err.find('\n'));
        }
        std::string target;
        for (const auto& a : args) {
            target += (target.empty() ? "" : " ") + a;
        }
        for (const auto& [k, v] : request.query) {
            target += (target.empty() ? "" : " ") + k + "=" + v;
        }
        store_.audit({0, 0, caller->name, to_string(caller->role), request.remote, verb, target, outcome});
    }
    return response;
}

}  // namespace patching::controller
