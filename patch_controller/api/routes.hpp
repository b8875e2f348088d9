// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "api/auth.hpp"
#include "api/rest_mapping.hpp"
#include "api/work_mapping.hpp"
#include "config.hpp"
#include "http/http_server.hpp"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace patching::controller {

class Controller;
class Metrics;

/// What a route's handler sees: the request, the caller and the path's arguments.
struct RouteCall {
    const HttpRequest& request;
    const Caller& caller;
    std::vector<std::string> args;  ///< Path segments after the verb, e.g. IDs.

    /// The query parameter, or "".
    std::string param(const std::string& name) const;
    /// True for "yes", "true" and "1".
    bool flag(const std::string& name) const;
};

/// One entry of the REST route table.
struct Route {
    std::string verb;  ///< `/v1/<verb>/...` (and the reference's `/patch/<verb>/...`); "" = `/v1/`
    /// The methods our own clients send. Reference clients send any method to the reference's
    /// paths; `reference` says the route is one of those and accepts them.
    std::vector<std::string> methods;
    bool reference = true;
    Role role = Role::READER;  ///< The least role that may call it.
    bool mutating = false;     ///< Changes state: audited, and counted against the busy limit.
    /// Produces the reply; throws ServiceError (mapped by rest_mapping) to refuse.
    std::function<HttpResponse(const RouteCall&)> handler;
    /// A route of the resource API (work requests, groups, host installs): one route per method
    /// of a path (its one method in `methods`), and every error as {"code","message","field"}
    /// (api/work_mapping.hpp).
    bool resource = false;
};

/// The REST API under `/v1/` and `/patch/` (the reference's paths, arguments and JSON shapes)
/// plus the read-only repositories under `/updates/`. Every call is authenticated and
/// authorised by its route's role; mutating calls are written to the audit log with their
/// outcome, from the typed result. Services never see HTTP: errors become statuses in
/// rest_mapping.cpp alone.
class ApiRoutes {
public:
    ApiRoutes(const ControllerConfig& config, Controller& controller, Authenticator& auth);

    /// Answers one request (and records it in the metrics, when set).
    HttpResponse handle(const HttpRequest& request);
    /// Where request counts and latencies go, and what `GET /metrics` renders; none = no
    /// /metrics route. Set before serving.
    void set_metrics(Metrics* metrics) { metrics_ = metrics; }
    /// Streams `POST /v1/upload?filename=X.patch` bodies to a fresh private file, after checking
    /// the caller may upload; other bodies stay in memory.
    std::optional<std::filesystem::path> body_policy(const HttpRequest& head);

    /// The answer to an upload over the server's limit of concurrent uploads (Busy).
    HttpResponse upload_busy_response(const HttpRequest& head);

    /// The route table (for tests and documentation).
    const std::map<std::string, Route>& routes() const { return routes_; }

private:
    HttpResponse dispatch(const HttpRequest& request);
    /// The route name the metrics count a request under (a small, fixed set of labels).
    std::string route_label(const HttpRequest& request) const;
    /// GET /metrics: readers, admins and metrics tokens.
    HttpResponse metrics_response(const HttpRequest& request);
    void add(Route route);
    void add_query_routes();
    void add_operation_routes();
    /// The resource API (api/work_routes.cpp).
    void add_work_routes();
    /// The jobs resource (api/job_routes.cpp).
    void add_job_routes();
    /// The host lifecycle: /v1/hosts, /v1/alarms (api/host_routes.cpp).
    void add_host_routes();
    /// The route for a verb and method: the verb's route, or its resource route for the method.
    const Route* find_route(const std::string& verb, const std::string& method) const;
    /// The methods of a resource verb ("GET, POST"), "" if it is none.
    std::string resource_methods(const std::string& verb) const;
    /// Runs `create` unless the caller's Idempotency-Key answered already (see work_routes.cpp).
    HttpResponse idempotent(const RouteCall& call,
                            const std::function<HttpResponse(const std::function<void(WorkTables&, int,
                                                                                     const std::string&)>&)>& create);
    /// True if the route accepts the request's method: any method from reference clients on a
    /// reference route, else only the route's `methods` (HEAD counting as GET).
    static bool method_allowed(const Route& route, const HttpRequest& request, Contract contract);
    static HttpResponse unauthenticated_response(const HttpRequest& request);
    static HttpResponse forbidden_response(const Caller& caller, const std::string& verb);
    static HttpResponse resource_forbidden(const Caller& caller, const std::string& method, const std::string& verb);
    HttpResponse serve_repository_file(const std::string& relative);
    void audit(const RouteCall& call, const std::string& verb, const std::string& outcome);

    const ControllerConfig& config_;
    Controller& controller_;
    Authenticator& auth_;
    std::map<std::string, Route> routes_;
    std::atomic<int> mutating_in_flight_{0};
    HostTableRenderer host_renderer_;
    std::mutex idempotency_mutex_;  ///< One request per Idempotency-Key at a time.
    Metrics* metrics_ = nullptr;
};

}  // namespace patching::controller
