// SPDX-License-Identifier: Apache-2.0
#include "job_commands.hpp"
#include "tables.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <controller_client.hpp>
#include <cstdlib>
#include <errors.hpp>
#include <iomanip>
#include <memory>
#include <ostream>
#include <sstream>

namespace patching::manager {

using nlohmann::json;

namespace {

const date::time_zone* operator_zone() {
    const char* tz = std::getenv("TZ");
    if (tz != nullptr && *tz != '\0') {
        try {
            return date::locate_zone(*tz == ':' ? tz + 1 : tz);
        } catch (const std::exception&) {
        }
    }
    try {
        return date::current_zone();
    } catch (const std::exception&) {
        return nullptr;
    }
}

std::string str(const json& j, const char* key) {
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string("-");
}

std::string target_text(const json& job) {
    const json& t = job.value("target", json::object());
    if (t.value("kind", "") == "GROUP") {
        return "group " + t.value("group", "");
    }
    std::string out;
    for (const auto& h : t.value("hosts", json::array())) {
        out += (out.empty() ? "" : ",") + h.get<std::string>();
    }
    return out;
}

std::string schedule_text(const json& job) {
    const json& s = job.value("schedule", json::object());
    return s["rule"].is_string() ? s["rule"].get<std::string>() : "once at " + s.value("start", "");
}

std::string table(const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> width;
    for (const auto& r : rows) {
        width.resize(std::max(width.size(), r.size()));
        for (size_t i = 0; i < r.size(); ++i) {
            width[i] = std::max(width[i], r[i].size());
        }
    }
    std::ostringstream o;
    for (const auto& r : rows) {
        std::string line;
        for (size_t i = 0; i < r.size(); ++i) {
            line += r[i];
            if (i + 1 < r.size()) {
                line += std::string(width[i] - r[i].size() + 2, ' ');
            }
        }
        o << line << "\n";
    }
    return o.str();
}

std::string job_table(const json& list) {
    std::vector<std::vector<std::string>> rows{
        {"NAME", "STATE", "SCHEDULE", "ZONE", "TARGET", "NEXT RUN (yours)"}};
    for (const auto& j : list["items"]) {
        const json& next = j.value("next_runs", json::array());
        rows.push_back(
            {j.value("name", ""), j.value("state", ""), schedule_text(j),
             j["schedule"].value("time_zone", ""), target_text(j),
             next.empty() ? "-" : in_operator_zone(str(next[0], "utc"))});
    }
    std::string out = table(rows);
    if (list.contains("next_page") && list["next_page"].is_string()) {
        out += "More: --page " + list["next_page"].get<std::string>() + "\n";
    }
    return out;
}

std::string job_detail(const json& j) {
    std::ostringstream o;
    const json& s = j["schedule"];
    o << "Job: " << j.value("name", "") << " (" << j.value("state", "") << ")\n";
    if (!j.value("description", "").empty()) {
        o << "  description:     " << j.value("description", "") << "\n";
    }
    o << "  schedule:        " << schedule_text(j) << ", from " << s.value("start", "") << " "
      << s.value("time_zone", "") << "\n";
    o << "  target:          " << target_text(j) << "\n";
    o << "  operation:       " << j.value("operation", "") << " (max-concurrency "
      << j.value("max_concurrency", "") << ", max-errors " << j.value("max_errors", "")
      << (j.value("force", false) ? ", force" : "") << ")\n";
    o << "  window:          "
      << (j.value("window_minutes", 0) == 0 ? std::string("none")
                                            : std::to_string(j.value("window_minutes", 0)) + " min")
      << "\n";
    o << "  overlap:         " << j.value("overlap_policy", "") << "\n";
    if (j["last_work_request"].is_number()) {
        o << "  last run:        work request " << j["last_work_request"].get<std::int64_t>()
          << " at " << in_operator_zone(str(j, "last_fired_at")) << "\n";
    }
    o << "  etag:            " << j.value("etag", "") << "\n";
    const json& next = j.value("next_runs", json::array());
    if (next.empty()) {
        o << "  next runs:       none ("
          << (j.value("state", "") == "INACTIVE" ? "nothing left to run" : "-") << ")\n";
    } else {
        o << "  next runs:       in your zone                  | in the job's zone ("
          << s.value("time_zone", "") << ")\n";
        for (const auto& n : next) {
            o << "    " << std::left << std::setw(30) << in_operator_zone(str(n, "utc")) << " | "
              << str(n, "local") << (n.value("skipped", false) ? "  (skipped: skip-next)" : "")
              << "\n";
        }
    }
    return o.str();
}

std::string run_table(const json& list) {
    std::vector<std::vector<std::string>> rows{
        {"ID", "SLOT (yours)", "RESULT", "REASON", "WORK REQUEST", "MESSAGE"}};
    for (const auto& r : list["items"]) {
        rows.push_back(
            {std::to_string(r.value("id", 0)), in_operator_zone(str(r, "slot")),
             r.value("result", ""), r.value("reason", ""),
             r["work_request_id"].is_number()
                 ? std::to_string(r["work_request_id"].get<std::int64_t>())
                 : "-",
             r.value("message", "")});
    }
    if (list["items"].empty()) {
        return "No runs yet: a row appears at each slot of the job (sw-manager job show NAME lists "
               "the next ones).\n";
    }
    std::string out = table(rows);
    if (list.contains("next_page") && list["next_page"].is_string()) {
        out += "More: --page " + list["next_page"].get<std::string>() + "\n";
    }
    return out;
}

/// The options create and update share; update sends only those given.
struct JobOptions {
    std::string start, time_zone, rule, hosts, group, max_concurrency, max_errors, retry, overlap,
        description;
    int window = 0;
    bool force = false;
    bool paused = false;
    std::string if_match;
    std::vector<std::pair<std::string, CLI::Option*>> given;

    void add(CLI::App* sub, bool create) {
        given.push_back(
            {"start", sub->add_option(
                          "--start", start,
                          "First run: local date and time YYYY-MM-DDTHH:MM in --time-zone")});
        given.push_back(
            {"time_zone", sub->add_option(
                              "--time-zone", time_zone,
                              "IANA zone the start and the rule are read in "
                              "(e.g. Europe/Berlin, America/New_York, UTC)")});
        given.push_back(
            {"rule", sub->add_option(
                         "--rule", rule,
                         "RRULE for a recurring job, e.g. FREQ=DAILY, FREQ=WEEKLY;BYDAY=SA, "
                         "FREQ=MONTHLY;BYDAY=2TU (none: runs once)")});
        auto* h = sub->add_option("--hosts", hosts, "Target: hosts, comma-separated");
        auto* g =
            sub->add_option("--group", group, "Target: a group (its members when the job runs)");
        h->excludes(g);
        given.push_back({"hosts", h});
        given.push_back({"group", g});
        given.push_back(
            {"max_concurrency", sub->add_option(
                                    "--max-concurrency", max_concurrency,
                                    "Hosts at once: N or P% of the targets (default 10%)")});
        given.push_back(
            {"max_errors", sub->add_option(
                               "--max-errors", max_errors,
                               "Failures allowed before the rest is canceled: N or P% "
                               "(default 0)")});
        given.push_back(
            {"retry_intervals",
             sub->add_option(
                 "--retry-intervals", retry, "Minutes between automatic retries, e.g. 5,5,5")});
        given.push_back(
            {"window_minutes", sub->add_option(
                                   "--window-minutes", window,
                                   "Maintenance window: no host starts later than this "
                                   "many minutes after the slot (0: none)")});
        given.push_back(
            {"overlap_policy",
             sub->add_option(
                    "--overlap", overlap,
                    "A slot whose previous run is unfinished: SKIP (default) "
                    "or QUEUE")
                 ->transform(CLI::IsMember({"SKIP", "QUEUE"}, CLI::ignore_case))});
        given.push_back(
            {"description", sub->add_option("--description", description, "What the job is for")});
        given.push_back(
            {"force",
             sub->add_flag("--force", force, "Install even where patches would be refused")});
        if (create) {
            given.push_back(
                {"paused",
                 sub->add_flag("--paused", paused, "Create it paused (resume starts it)")});
            sub->get_option("--start")->required();
            sub->get_option("--time-zone")->required();
        } else {
            sub->add_option(
                "--if-match", if_match, "Only if the job's ETag is still this (from job show)");
        }
    }

    json body() const {
        json b = json::object();
        for (const auto& [key, opt] : given) {
            if (opt->count() == 0) {
                continue;
            }
            if (key == "hosts") {
                b[key] = split_list(hosts);
            } else if (key == "retry_intervals") {
                json minutes = json::array();
                for (const auto& m : split_list(retry)) {
                    try {
                        minutes.push_back(std::stoi(m));
                    } catch (const std::exception&) {
                        throw client::UsageError(
                            "--retry-intervals takes whole minutes, e.g. 5,5,5, not '" + retry +
                            "'");
                    }
                }
                b[key] = minutes;
            } else if (key == "window_minutes") {
                b[key] = window;
            } else if (key == "force") {
                b[key] = force;
            } else if (key == "paused") {
                b[key] = paused;
            } else {
                b[key] = opt->as<std::string>();
            }
        }
        return b;
    }
};

}  // namespace

std::string in_operator_zone(const std::string& utc) {
    std::istringstream in(utc);
    date::sys_seconds t;
    in >> date::parse("%FT%TZ", t);
    if (in.fail()) {
        return utc;
    }
    const date::time_zone* zone = operator_zone();
    if (zone == nullptr) {
        return date::format("%F %R UTC", t);
    }
    return date::format("%F %R %Ez %Z", date::zoned_seconds(zone, t));
}

void add_job_commands(CLI::App& app, JobCli& cli) {
    auto* job =
        app.add_subcommand(
               "job",
               "Scheduled jobs: installs that run once or on a schedule (RRULE) in a time zone, "
               "with windows and a history of every slot")
            ->require_subcommand(1);
    auto target = [](const std::string& name, const std::string& sub = "") {
        return client::api_target(
            "jobs",
            sub.empty() ? std::vector<std::string>{name} : std::vector<std::string>{name, sub});
    };

    auto name = std::make_shared<std::string>();
    auto opts = std::make_shared<JobOptions>();
    auto* create = job->add_subcommand(
        "create",
        "Create a job. Example: sw-manager job create patch-tuesday --group edge --start "
        "2026-12-08T02:00 "
        "--time-zone Europe/Berlin --rule 'FREQ=MONTHLY;BYDAY=2TU' --window-minutes 120");
    create->add_option("NAME", *name, "Job name (a-z, 0-9, '.', '_', '-')")->required();
    opts->add(create, true);
    create->callback([&cli, name, opts] {
        json body = opts->body();
        body["name"] = *name;
        if (!body.contains("hosts") && !body.contains("group")) {
            throw client::UsageError("name the target: --hosts H1,H2 or --group G");
        }
        const json created = cli.call("POST", client::api_target("jobs"), body, {});
        cli.print(created, [&] { cli.out << job_detail(created); });
    });

    auto uname = std::make_shared<std::string>();
    auto uopts = std::make_shared<JobOptions>();
    auto* update = job->add_subcommand(
        "update",
        "Change a job (any option of create; not its target kind). The next runs are "
        "computed again from now");
    update->add_option("NAME", *uname, "Job name")->required();
    uopts->add(update, false);
    update->callback([&cli, uname, uopts] {
        const json body = uopts->body();
        if (body.empty()) {
            throw client::UsageError(
                "nothing to change: give at least one option (sw-manager job update --help)");
        }
        std::vector<std::string> headers;
        if (!uopts->if_match.empty()) {
            headers.push_back("If-Match: \"" + uopts->if_match + "\"");
        }
        const json changed = cli.call("PATCH", client::api_target("jobs", {*uname}), body, headers);
        cli.print(changed, [&] { cli.out << job_detail(changed); });
    });

    auto group = std::make_shared<std::string>();
    auto limit = std::make_shared<int>(50);
    auto page = std::make_shared<std::string>();
    auto* list = job->add_subcommand("list", "List jobs by name, with their next run in your zone");
    list->add_option("--group", *group, "Only jobs on this group");
    list->add_option("--limit", *limit, "Jobs per page (1-1000)")->capture_default_str();
    list->add_option("--page", *page, "The page after this job name (as printed by the last page)");
    list->callback([&cli, group, limit, page] {
        std::vector<std::pair<std::string, std::string>> q{{"limit", std::to_string(*limit)}};
        if (!group->empty()) {
            q.push_back({"group", *group});
        }
        if (!page->empty()) {
            q.push_back({"page", *page});
        }
        const json body = cli.call("GET", client::api_target("jobs", {}, q), nullptr, {});
        cli.print(body, [&] { cli.out << job_table(body); });
    });

    auto show_name = std::make_shared<std::string>();
    auto next = std::make_shared<int>(5);
    auto* show =
        job->add_subcommand("show", "Show a job and its next runs in your zone and the job's zone");
    show->add_option("NAME", *show_name, "Job name")->required();
    show->add_option("--next", *next, "How many next runs (0-100)")->capture_default_str();
    show->callback([&cli, show_name, next] {
        const json body = cli.call(
            "GET", client::api_target("jobs", {*show_name}, {{"next", std::to_string(*next)}}),
            nullptr, {});
        cli.print(body, [&] { cli.out << job_detail(body); });
    });

    auto runs_name = std::make_shared<std::string>();
    auto runs_limit = std::make_shared<int>(50);
    auto runs_page = std::make_shared<std::string>();
    auto* runs = job->add_subcommand(
        "runs",
        "The history of a job: every slot, FIRED (with its work request), SKIPPED, MISSED, QUEUED "
        "or FAILED");
    runs->add_option("NAME", *runs_name, "Job name")->required();
    runs->add_option("--limit", *runs_limit, "Runs per page (1-1000)")->capture_default_str();
    runs->add_option("--page", *runs_page, "The page after this run id");
    runs->callback([&cli, runs_name, runs_limit, runs_page] {
        std::vector<std::pair<std::string, std::string>> q{{"limit", std::to_string(*runs_limit)}};
        if (!runs_page->empty()) {
            q.push_back({"page", *runs_page});
        }
        const json body =
            cli.call("GET", client::api_target("jobs", {*runs_name, "runs"}, q), nullptr, {});
        cli.print(body, [&] { cli.out << run_table(body); });
    });

    struct Action {
        const char* verb;
        const char* help;
    };
    for (const Action a :
         {Action{
              "run-now", "Run the job now (its schedule stays; a one-time job's run is used up)"},
          Action{"skip-next", "Skip the job's next run (repeat to skip more)"},
          Action{"pause", "Pause the job: its slots are recorded as skipped until resume"},
          Action{"resume", "Resume a paused job"}}) {
        const std::string verb = a.verb;
        auto n = std::make_shared<std::string>();
        auto etag = std::make_shared<std::string>();
        auto* sub = job->add_subcommand(verb, a.help);
        sub->add_option("NAME", *n, "Job name")->required();
        sub->add_option(
            "--if-match", *etag, "Only if the job's ETag is still this (from job show)");
        sub->callback([&cli, verb, n, etag, target] {
            std::vector<std::string> headers;
            if (!etag->empty()) {
                headers.push_back("If-Match: \"" + *etag + "\"");
            }
            const json body = cli.call("POST", target(*n, verb), json::object(), headers);
            cli.print(body, [&] {
                if (verb == "run-now") {
                    cli.out << "Job " << *n << ": work request "
                            << body.value("id", std::int64_t{0}) << " " << body.value("status", "")
                            << " (sw-manager work-request show "
                            << body.value("id", std::int64_t{0}) << ")\n";
                } else {
                    cli.out << job_detail(body);
                }
            });
        });
    }

    auto del_name = std::make_shared<std::string>();
    auto del_etag = std::make_shared<std::string>();
    auto* del =
        job->add_subcommand("delete", "Delete a job and its history (its work requests stay)");
    del->add_option("NAME", *del_name, "Job name")->required();
    del->add_option(
        "--if-match", *del_etag, "Only if the job's ETag is still this (from job show)");
    del->callback([&cli, del_name, del_etag] {
        std::vector<std::string> headers;
        if (!del_etag->empty()) {
            headers.push_back("If-Match: \"" + *del_etag + "\"");
        }
        cli.call("DELETE", client::api_target("jobs", {*del_name}), nullptr, headers);
        cli.print(
            json{{"deleted", *del_name}}, [&] { cli.out << "Job " << *del_name << " deleted.\n"; });
    });
}

}  // namespace patching::manager
