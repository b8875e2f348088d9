// SPDX-License-Identifier: Apache-2.0
#include "host_commands.hpp"

#include <controller_client.hpp>
#include <errors.hpp>
#include <iomanip>
#include <memory>
#include <ostream>
#include <sstream>
#include <vector>

namespace patching::manager {

using nlohmann::json;

namespace {

std::string cell_text(const json& v) {
    if (v.is_null()) {
        return "-";
    }
    if (v.is_string()) {
        return v.get<std::string>().empty() ? "-" : v.get<std::string>();
    }
    if (v.is_boolean()) {
        return v.get<bool>() ? "yes" : "no";
    }
    return v.dump();
}

/// Columns padded to their widest cell.
std::string render_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width(header.size());
    for (std::size_t i = 0; i < header.size(); ++i) {
        width[i] = header[i].size();
        for (const auto& r : rows) {
            width[i] = std::max(width[i], r[i].size());
        }
    }
    std::ostringstream out;
    auto line = [&](const std::vector<std::string>& cells) {
        for (std::size_t i = 0; i < cells.size(); ++i) {
            out << (i == 0 ? "" : "  ") << std::left << std::setw(static_cast<int>(i + 1 == cells.size() ? 0 : width[i]))
                << cells[i];
        }
        out << "\n";
    };
    line(header);
    for (const auto& r : rows) {
        line(r);
    }
    return out.str();
}

std::string host_table(const json& list) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& h : list["items"]) {
        rows.push_back({cell_text(h["hostname"]), cell_text(h["administrative"]), cell_text(h["availability"]),
                        cell_text(h["patch_current"]), cell_text(h["lock_flag"]), cell_text(h["lock_drift"]),
                        cell_text(h["health"]), cell_text(h["work_request"])});
    }
    return render_table({"HOST", "ADMIN", "AVAILABILITY", "PATCH-CURRENT", "LOCK-FLAG", "DRIFT", "HEALTH", "WORK-REQUEST"},
                 rows);
}

std::string host_detail(const json& h) {
    std::ostringstream out;
    for (const char* field : {"hostname", "ip", "administrative", "administrative_by", "administrative_reason",
                              "administrative_since", "administrative_work_request", "availability", "lock_flag",
                              "lock_drift", "health", "state", "patch_current", "requires_reboot", "patch_failed",
                              "stale", "work_request"}) {
        out << std::left << std::setw(28) << (std::string(field) + ":") << cell_text(h.value(field, json())) << "\n";
    }
    if (!h.value("health_output", std::string()).empty()) {
        out << "health_output:\n" << h["health_output"].get<std::string>() << "\n";
    }
    return out.str();
}

std::string alarm_table(const json& list) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& a : list["items"]) {
        rows.push_back({cell_text(a["alarm_id"]), cell_text(a["severity"]), cell_text(a["entity"]),
                        cell_text(a["mgmt_affecting"]), cell_text(a["raised_at"]), cell_text(a["reason"])});
    }
    return render_table({"ALARM", "SEVERITY", "ENTITY", "MGMT-AFFECTING", "RAISED", "REASON"}, rows);
}

}  // namespace

void add_host_commands(CLI::App& app, ManagerCalls& c, int& rc) {
    app.add_subcommand("host-list", "Hosts: administrative state, availability, lock flag and drift, health")
        ->callback([&c] {
            const json body = c.call("GET", client::api_target("hosts"), nullptr);
            c.print(body, [&] { c.out << host_table(body); });
        });
    auto show_host = std::make_shared<std::string>();
    auto* show = app.add_subcommand("host-show", "One host: who locked it, why and when, availability, health");
    show->add_option("HOST", *show_host, "Host name or address")->required();
    show->callback([&c, show_host] {
        const json body = c.call("GET", client::api_target("hosts", {*show_host}), nullptr);
        c.print(body, [&] { c.out << host_detail(body); });
    });
    for (const char* verb : {"lock", "unlock", "reboot"}) {
        const std::string v = verb;
        auto h = std::make_shared<std::string>();
        auto reason = std::make_shared<std::string>();
        auto wait = std::make_shared<bool>(false);
        const char* help = v == "lock"     ? "Lock a host: runs its pre-lock hook, then sets its lock flag"
                           : v == "unlock" ? "Unlock a host: reboots it first if it needs it, then post-unlock hook"
                                           : "Reboot a locked host and wait for it to come back (new boot id)";
        auto* sub = app.add_subcommand("host-" + v, help);
        sub->add_option("HOST", *h, "Host name or address")->required();
        sub->add_option("--reason", *reason, "Why (recorded with the administrative state)");
        sub->add_flag("--wait", *wait, "Follow the work request until it finishes");
        sub->callback([&c, &rc, v, h, reason, wait] {
            const json wr = c.call("POST", client::api_target("hosts", {*h, v}), json{{"reason", *reason}});
            const std::string id = std::to_string(wr.value("id", 0));
            if (!*wait) {
                c.print(wr, [&] {
                    c.out << "host-" << v << " of " << *h << " accepted as work request " << id
                          << ". Follow it with `sw-manager work-request show " << id << "`.\n";
                });
                return;
            }
            if (!c.wait(id)) {
                rc = 1;
            }
        });
    }

    auto* alarm = app.add_subcommand("alarm", "Alarms that block the full flow (list, raise, clear)")
                      ->require_subcommand(1);
    auto entity_filter = std::make_shared<std::string>();
    auto* list = alarm->add_subcommand("list", "Raised alarms");
    list->add_option("--entity", *entity_filter, "Only this entity (host=NAME, system)");
    list->callback([&c, entity_filter] {
        std::vector<std::pair<std::string, std::string>> query;
        if (!entity_filter->empty()) {
            query.emplace_back("entity", *entity_filter);
        }
        const json body = c.call("GET", client::api_target("alarms", {}, query), nullptr);
        c.print(body, [&] { c.out << alarm_table(body); });
    });
    auto id = std::make_shared<std::string>();
    auto severity = std::make_shared<std::string>("major");
    auto entity = std::make_shared<std::string>("system");
    auto reason = std::make_shared<std::string>();
    auto not_affecting = std::make_shared<bool>(false);
    auto* raise = alarm->add_subcommand("raise", "Raise (or update) an alarm, e.g. from monitoring");
    raise->add_option("ID", *id, "Alarm id NNN.NNN")->required();
    raise->add_option("--severity", *severity, "critical, major, minor or warning")->capture_default_str();
    raise->add_option("--entity", *entity, "system or kind=name (host=controller-0)")->capture_default_str();
    raise->add_option("--reason", *reason, "What is wrong")->required();
    raise->add_flag("--not-mgmt-affecting", *not_affecting, "It does not block the full flow");
    raise->callback([&c, id, severity, entity, reason, not_affecting] {
        const json body = c.call("POST", client::api_target("alarms"),
                                 json{{"alarm_id", *id},
                                      {"severity", *severity},
                                      {"entity", *entity},
                                      {"reason", *reason},
                                      {"mgmt_affecting", !*not_affecting}});
        c.print(body, [&] { c.out << "Alarm " << *id << " raised on " << *entity << ".\n"; });
    });
    auto clear_id = std::make_shared<std::string>();
    auto clear_entity = std::make_shared<std::string>("system");
    auto* clear = alarm->add_subcommand("clear", "Clear an alarm");
    clear->add_option("ID", *clear_id, "Alarm id")->required();
    clear->add_option("--entity", *clear_entity, "Its entity")->capture_default_str();
    clear->callback([&c, clear_id, clear_entity] {
        c.call("POST", client::api_target("alarms", {*clear_id, "clear"}), json{{"entity", *clear_entity}});
        c.print(json{{"cleared", *clear_id}, {"entity", *clear_entity}},
                [&] { c.out << "Alarm " << *clear_id << " on " << *clear_entity << " cleared.\n"; });
    });
}

}  // namespace patching::manager
