// SPDX-License-Identifier: Apache-2.0
#include "manager.hpp"

#include <CLI/CLI.hpp>
#include <controller_client.hpp>
#include <errors.hpp>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "job_commands.hpp"
#include "host_commands.hpp"
#include "tables.hpp"

namespace patching::manager {

using client::Response;
using nlohmann::json;

namespace {

/// The controller refused: its {"code","message","field"}, said for people.
class Refused : public client::Error {
    using client::Error::Error;
};

/// NAME=VALUE pairs as a JSON object; `allow_clear` accepts NAME= (an empty value clears).
json label_pairs(const std::vector<std::string>& pairs, const std::string& what, bool allow_clear = false) {
    json out = json::object();
    for (const auto& l : pairs) {
        const auto eq = l.find('=');
        if (eq == std::string::npos || eq == 0 || (!allow_clear && eq + 1 == l.size())) {
            throw client::UsageError(what + " takes NAME=VALUE" + (allow_clear ? " (NAME= clears one)" : "") +
                                     ", not '" + l + "'");
        }
        out[l.substr(0, eq)] = l.substr(eq + 1);
    }
    return out;
}

struct Session {
    client::Environment env;
    std::ostream& out;
    std::ostream& err;
    std::function<void(double)> sleep;
    client::ConnectionFlags connection;
    std::string format = "text";
    std::unique_ptr<client::ControllerClient> client_;

    client::ControllerClient& client() {
        if (!client_) {
            const client::Settings s = client::resolve_settings(connection, env);
            client_ = std::make_unique<client::ControllerClient>(client::ClientOptions{
                s.controller, s.token, s.token_source, s.token_hint, s.ca_file, s.timeout_s,
                env.default_token_file.string()});
        }
        return *client_;
    }

    bool json_output() const { return format == "json"; }

    /// Sends a request; a non-2xx answer throws Refused with what to do.
    json call(
        const std::string& method,
        const std::string& target,
        const json& body = nullptr,
        const std::vector<std::string>& headers = {}) {
        const Response r =
            method == "GET" && body.is_null()
                ? client().get(target)
                : client().send(
                      method, target, body.is_null() ? std::string() : body.dump(), headers);
        if (r.status / 100 == 2) {
            return r.status == 204 ? json::object() : r.body;
        }
        std::string message =
            r.body.value("message", r.body.value("error", "HTTP " + std::to_string(r.status)));
        while (!message.empty() && message.back() == '\n') {
            message.pop_back();
        }
        if (r.body.contains("field") && r.body["field"].is_string()) {
            message += " (field: " + r.body["field"].get<std::string>() + ")";
        }
        throw Refused(message);
    }

    void print(const json& body, const std::function<void()>& text) {
        if (json_output()) {
            out << body.dump(2) << "\n";
        } else {
            text();
        }
        out.flush();
    }
};

std::string wr_target(const std::string& id, const std::string& sub = "") {
    return client::api_target(
        "work-requests",
        sub.empty() ? std::vector<std::string>{id} : std::vector<std::string>{id, sub});
}

/// Polls the work request until it has finished, printing a line whenever its progress changes.
/// Returns true if it SUCCEEDED.
bool wait_for(Session& s, const std::string& id) {
    std::string last;
    for (;;) {
        const json wr = s.call("GET", wr_target(id));
        const std::string line = progress_line(wr);
        if (line != last && !s.json_output()) {
            s.out << line << "\n" << std::flush;
            last = line;
        }
        const std::string status = wr.value("status", "");
        if (status == "SUCCEEDED" || status == "FAILED" || status == "CANCELED") {
            const json errors = s.call("GET", wr_target(id, "errors"));
            s.print(json{{"work_request", wr}, {"errors", errors["items"]}}, [&] {
                s.out << wr.value("message", "") << "\n";
                for (const auto& e : errors["items"]) {
                    s.out << "  " << e.value("host", "") << ": " << e.value("code", "") << ": "
                          << e.value("message", "") << "\n";
                }
                if (status != "SUCCEEDED") {
                    s.out << "See `sw-manager work-request logs " << id
                          << "`; rerun the failed hosts with "
                          << "`sw-manager work-request rerun " << id << "`.\n";
                }
            });
            return status == "SUCCEEDED";
        }
        s.sleep(1.0);
    }
}

void add_work_request_commands(CLI::App& app, Session& s, int& rc) {
    auto* wr = app.add_subcommand("work-request", "Work requests: what ran where, and why")
                   ->require_subcommand(1);

    auto* list = wr->add_subcommand("list", "List work requests, newest first");
    auto status = std::make_shared<std::string>();
    auto host = std::make_shared<std::string>();
    auto parent = std::make_shared<std::string>("none");
    auto limit = std::make_shared<int>(50);
    auto page = std::make_shared<std::string>();
    list->add_option(
        "--status", *status, "Only these states, comma-separated (IN_PROGRESS,FAILED,...)");
    list->add_option("--host", *host, "Only the children on this host");
    list->add_option(
            "--parent", *parent,
            "Children of this work request; 'none' (default): parents; 'all': all")
        ->capture_default_str();
    list->add_option("--limit", *limit, "How many (1-1000)")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    list->add_option("--page", *page, "Continue from a previous page's next_page");
    list->callback([&s, status, host, parent, limit, page] {
        std::vector<std::pair<std::string, std::string>> query;
        if (!status->empty()) {
            query.emplace_back("status", *status);
        }
        if (!host->empty()) {
            query.emplace_back("host", *host);
            if (*parent == "none") {
                *parent = "all";
            }
        }
        if (*parent != "all") {
            query.emplace_back("parent", *parent);
        }
        query.emplace_back("limit", std::to_string(*limit));
        if (!page->empty()) {
            query.emplace_back("page", *page);
        }
        const json body = s.call("GET", client::api_target("work-requests", {}, query));
        s.print(body, [&] { s.out << work_request_table(body); });
    });

    for (const char* verb : {"show", "logs", "errors", "cancel", "rerun"}) {
        auto id = std::make_shared<std::string>();
        const std::string v = verb;
        const char* help = v == "show"     ? "Show a work request and its counters"
                           : v == "logs"   ? "The log lines of a work request (and of its children)"
                           : v == "errors" ? "The errors of a work request (and of its children)"
                           : v == "cancel"
                               ? "Cancel: hosts not started are canceled, running ones finish"
                               : "Run the failed hosts of a finished work request again";
        auto* sub = wr->add_subcommand(v, help);
        sub->add_option("ID", *id, "Work request id")->required();
        auto wait = std::make_shared<bool>(false);
        if (v == "rerun") {
            sub->add_flag("--wait", *wait, "Follow the new work request until it finishes");
        }
        sub->callback([&s, &rc, id, v, wait] {
            if (v == "show") {
                const json body = s.call("GET", wr_target(*id));
                s.print(body, [&] { s.out << work_request_detail(body); });
            } else if (v == "logs" || v == "errors") {
                const json body = s.call("GET", wr_target(*id, v));
                s.print(
                    body, [&] { s.out << (v == "logs" ? log_table(body) : error_table(body)); });
            } else {
                const json body = s.call("POST", wr_target(*id, v), json::object());
                s.print(body, [&] {
                    s.out << (v == "cancel" ? "Cancel requested: "
                                            : "Rerun accepted as work request ")
                          << body.value("id", 0) << " (" << body.value("status", "") << ")\n";
                });
                if (*wait && !wait_for(s, std::to_string(body.value("id", 0)))) {
                    rc = 1;
                }
            }
        });
    }
}

void add_group_commands(CLI::App& app, Session& s) {
    auto* group = app.add_subcommand("group", "Host groups")->require_subcommand(1);

    auto name = std::make_shared<std::string>();
    auto hosts = std::make_shared<std::string>();
    auto personality = std::make_shared<std::string>();
    auto description = std::make_shared<std::string>();
    auto labels = std::make_shared<std::vector<std::string>>();
    auto sw_version = std::make_shared<std::string>();
    auto* create =
        group->add_subcommand("create", "Create a group of static members and/or a rule");
    create->add_option("NAME", *name, "Group name")->required();
    create->add_option("--hosts", *hosts, "Static members, comma-separated");
    create->add_option("--personality", *personality, "Rule: hosts of this personality");
    create->add_option("--label", *labels, "Rule: hosts with this label (NAME=VALUE; repeatable)");
    create->add_option("--description", *description, "What the group is for");
    create->add_option("--sw-version", *sw_version, "Only hosts of this release may be members (e.g. 22.12)");
    create->callback([&s, name, hosts, personality, description, labels, sw_version] {
        const json body = s.call(
            "POST", client::api_target("groups"),
            {{"name", *name},
             {"description", *description},
             {"sw_version", *sw_version},
             {"hosts", split_list(*hosts)},
             {"rule", {{"personality", *personality}, {"labels", label_pairs(*labels, "--label")}}}});
        s.print(body, [&] { s.out << group_detail(body); });
    });

    auto u_name = std::make_shared<std::string>();
    auto u_description = std::make_shared<std::optional<std::string>>();
    auto u_sw_version = std::make_shared<std::optional<std::string>>();
    auto u_personality = std::make_shared<std::optional<std::string>>();
    auto u_labels = std::make_shared<std::vector<std::string>>();
    auto u_clear_rule = std::make_shared<bool>(false);
    auto* update = group->add_subcommand(
        "update", "Change a group's description, release or rule (members: add-hosts, remove-hosts)");
    update->add_option("NAME", *u_name, "Group name")->required();
    update->add_option("--description", *u_description, "What the group is for");
    update->add_option("--sw-version", *u_sw_version, "Only hosts of this release ('' = any release)");
    update->add_option("--personality", *u_personality, "Rule: hosts of this personality (replaces the rule)");
    update->add_option("--label", *u_labels, "Rule: hosts with this label (NAME=VALUE; repeatable; replaces the rule)");
    update->add_flag("--clear-rule", *u_clear_rule, "Remove the rule: only static members remain");
    update->callback([&s, u_name, u_description, u_sw_version, u_personality, u_labels, u_clear_rule] {
        json body = json::object();
        if (*u_description) {
            body["description"] = **u_description;
        }
        if (*u_sw_version) {
            body["sw_version"] = **u_sw_version;
        }
        if (*u_clear_rule && (*u_personality || !u_labels->empty())) {
            throw client::UsageError("--clear-rule removes the rule; leave out --personality and --label");
        }
        if (*u_clear_rule || *u_personality || !u_labels->empty()) {
            body["rule"] = {{"personality", u_personality->value_or("")},
                            {"labels", label_pairs(*u_labels, "--label")}};
        }
        if (body.empty()) {
            throw client::UsageError("nothing to change: give --description, --sw-version, --personality, --label "
                                     "or --clear-rule");
        }
        const json reply = s.call("PATCH", client::api_target("groups", {*u_name}), body);
        s.print(reply, [&] { s.out << group_detail(reply); });
    });

    group->add_subcommand("list", "List groups and the hosts they hold")->callback([&s] {
        const json body = s.call("GET", client::api_target("groups"));
        s.print(body, [&] { s.out << group_table(body); });
    });
    auto show_name = std::make_shared<std::string>();
    auto* show = group->add_subcommand("show", "Show a group");
    show->add_option("NAME", *show_name, "Group name")->required();
    show->callback([&s, show_name] {
        const json body = s.call("GET", client::api_target("groups", {*show_name}));
        s.print(body, [&] { s.out << group_detail(body); });
    });
    for (const char* verb : {"add-hosts", "remove-hosts"}) {
        const std::string v = verb;
        auto g = std::make_shared<std::string>();
        auto hs = std::make_shared<std::string>();
        auto* sub = group->add_subcommand(
            v, v == "add-hosts" ? "Add static members" : "Remove static members");
        sub->add_option("NAME", *g, "Group name")->required();
        sub->add_option("HOSTS", *hs, "Hosts, comma-separated")->required();
        sub->callback([&s, v, g, hs] {
            const json body =
                s.call("POST", client::api_target("groups", {*g, v}), {{"hosts", split_list(*hs)}});
            s.print(body, [&] { s.out << group_detail(body); });
        });
    }
    auto label_host = std::make_shared<std::string>();
    auto label_values = std::make_shared<std::vector<std::string>>();
    auto accept = std::make_shared<bool>(false);
    auto* label = group->add_subcommand(
        "label",
        "Show a host's labels, set them (NAME=VALUE; NAME= clears one), or put the labels its agent reports "
        "into effect (--accept-reported)");
    label->add_option("HOST", *label_host, "Host")->required();
    label->add_option("LABELS", *label_values, "NAME=VALUE ...");
    label->add_flag("--accept-reported", *accept,
                    "Apply the labels the host's agent reports that were held back because they move the host "
                    "to another group");
    label->callback([&s, label_host, label_values, accept] {
        if (*accept && !label_values->empty()) {
            throw client::UsageError("give labels or --accept-reported, not both");
        }
        const std::string target = client::api_target("host-labels", {*label_host});
        const json body = *accept ? s.call("POST", target, {{"accept_reported", true}})
                          : label_values->empty()
                              ? s.call("GET", target)
                              : s.call("POST", target, {{"labels", label_pairs(*label_values, "labels", true)}});
        s.print(body, [&] { s.out << labels_detail(body); });
    });
    group->add_subcommand("labels", "List the labels of every host that has any")->callback([&s] {
        const json body = s.call("GET", client::api_target("host-labels"));
        s.print(body, [&] {
            for (const auto& item : body["items"]) {
                s.out << labels_detail(item);
            }
        });
    });
    auto del_name = std::make_shared<std::string>();
    auto* del = group->add_subcommand("delete", "Delete a group (its hosts stay)");
    del->add_option("NAME", *del_name, "Group name")->required();
    del->callback([&s, del_name] {
        s.call("DELETE", client::api_target("groups", {*del_name}));
        s.print(
            json{{"deleted", *del_name}}, [&] { s.out << "Group " << *del_name << " deleted.\n"; });
    });
}

void add_host_install(CLI::App& app, Session& s, int& rc) {
    auto hosts = std::make_shared<std::string>();
    auto group = std::make_shared<std::string>();
    auto concurrency = std::make_shared<std::string>("10%");
    auto errors = std::make_shared<std::string>("0");
    auto retry = std::make_shared<std::string>();
    auto force = std::make_shared<bool>(false);
    auto wait = std::make_shared<bool>(false);
    auto flow = std::make_shared<std::string>();
    auto lock = std::make_shared<bool>(false);
    auto* sub =
        app.add_subcommand("host-install", "Install the applied patches across hosts or a group");
    sub->add_option("--flow", *flow,
                    "full: per host precheck, lock, install, reboot and wait, unlock, postcheck, verify "
                    "(README \"Host lifecycle\")")
        ->check(CLI::IsMember({"full"}));
    sub->add_flag("--lock", *lock, "With --flow full: lock every host, even for in-service patches");
    auto* h = sub->add_option("--hosts", *hosts, "Hosts, comma-separated");
    auto* g = sub->add_option("--group", *group, "A group");
    h->excludes(g);
    sub->add_option("--max-concurrency", *concurrency, "Hosts at once: N or P% of the targets")
        ->capture_default_str();
    sub->add_option("--max-errors", *errors, "Failures tolerated before stopping: N or P%")
        ->capture_default_str();
    sub->add_option(
        "--retry-intervals", *retry,
        "Automatic retries of retryable failures: minutes, e.g. 5,5,5");
    sub->add_flag(
        "--force", *force,
        "Install even if not every patch is in-service (as host-install --force)");
    sub->add_flag("--wait", *wait, "Follow the work request until it finishes, with live progress");
    sub->callback([&s, &rc, hosts, group, concurrency, errors, retry, force, wait, flow, lock] {
        if (hosts->empty() && group->empty()) {
            throw client::UsageError("name the targets: --hosts H1,H2 or --group G");
        }
        json body = {{"max_concurrency", *concurrency}, {"max_errors", *errors}, {"force", *force}};
        if (!group->empty()) {
            body["group"] = *group;
        } else {
            body["hosts"] = split_list(*hosts);
        }
        json intervals = json::array();
        for (const auto& m : split_list(*retry)) {
            try {
                intervals.push_back(std::stoi(m));
            } catch (const std::exception&) {
                throw client::UsageError(
                    "--retry-intervals takes minutes, e.g. 5,5,5, not '" + *retry + "'");
            }
        }
        body["retry_intervals"] = intervals;
        if (!flow->empty()) {
            body["flow"] = *flow;
            body["lock"] = *lock;
        } else if (*lock) {
            throw client::UsageError("--lock goes with --flow full");
        }
        const json wr = s.call("POST", client::api_target("host-installs"), body);
        const std::string id = std::to_string(wr.value("id", 0));
        if (!*wait) {
            s.print(wr, [&] {
                s.out << "Work request " << id << " accepted for "
                      << wr["counters"].value("total", 0)
                      << " host(s). Follow it with `sw-manager work-request show " << id << "`.\n";
            });
            return;
        }
        if (!s.json_output()) {
            s.out << "Work request " << id << " accepted.\n";
        }
        if (!wait_for(s, id)) {
            rc = 1;
        }
    });
}

}  // namespace

int run_manager(
    const std::vector<std::string>& args,
    const client::Environment& env,
    std::ostream& out,
    std::ostream& err,
    const std::function<void(double)>& sleep) {
    CLI::App app{
        "sw-manager: work requests, host groups and rate-controlled installs across the fleet"};
    app.require_subcommand(1);
    Session s{env, out, err, sleep, {}, "text", nullptr};
    int rc = 0;
    app.add_option("--controller", s.connection.controller, "Controller URL (as sw-patch)");
    app.add_option("--token-file", s.connection.token_file, "Token file (as sw-patch)");
    app.add_option("--format", s.format, "Output: text (tables) or json")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    add_work_request_commands(app, s, rc);
    add_group_commands(app, s);
    add_host_install(app, s, rc);
    JobCli jobs{
        [&s](const std::string& m, const std::string& t, const json& b, const std::vector<std::string>& h) {
            return s.call(m, t, b, h);
        },
        [&s](const json& body, const std::function<void()>& text) { s.print(body, text); },
        s.out};
    add_job_commands(app, jobs);
    ManagerCalls calls{
        [&s](const std::string& method, const std::string& target, const json& body) {
            return s.call(method, target, body);
        },
        [&s](const json& body, const std::function<void()>& text) { s.print(body, text); },
        [&s](const std::string& id) { return wait_for(s, id); },
        s.out};
    add_host_commands(app, calls, rc);
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    try {
        app.parse(reversed);
    } catch (const CLI::ParseError& e) {
        std::ostringstream o;
        std::ostringstream e2;
        const int code = app.exit(e, o, e2);
        out << o.str();
        err << e2.str();
        return code == 0 ? 0 : 2;
    } catch (const client::UsageError& e) {
        err << "Error: " << e.what() << "\n";
        return 2;
    } catch (const client::Error& e) {
        err << "Error: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        err << "Error: " << e.what() << "\n";
        return 1;
    }
    return rc;
}

}  // namespace patching::manager
