// SPDX-License-Identifier: Apache-2.0
#include <patch_core/rest.hpp>

#include <nlohmann/json.hpp>

namespace patching::core::rest {

using nlohmann::json;

namespace {

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json entry_json(const PatchEntry& e) {
    json meta{{"repostate", e.repostate},
              {"patchstate", e.patchstate},
              {"sw_version", e.sw_version},
              {"reboot_required", e.reboot_required},
              {"requires", e.required}};
    auto optional = [&](const char* key, const std::optional<std::string>& v) {
        if (v) {
            meta[key] = *v;
        }
    };
    optional("status", e.status);
    optional("unremovable", e.unremovable);
    optional("summary", e.summary);
    optional("description", e.description);
    optional("install_instructions", e.install_instructions);
    optional("warnings", e.warnings);
    optional("apply_active_release_only", e.apply_active_release_only);
    for (const auto& [type, packages] : e.personalities) {
        meta["personality-" + type] = packages;
    }
    return meta;
}

json entries_json(const std::map<std::string, PatchEntry>& entries) {
    json out = json::object();
    for (const auto& [id, e] : entries) {
        out[id] = entry_json(e);
    }
    return out;
}

}  // namespace

namespace {

// Members of an object without its braces, to splice into a host entry.
std::string members(const json& object) {
    std::string text = dump(object);
    return text.size() > 2 ? text.substr(1, text.size() - 2) : std::string();
}

}  // namespace

std::string host_live_members(const HostEntry& h) {
    return members(json{{"ip", h.ip},
                        {"patch_current", h.patch_current},
                        {"requires_reboot", h.requires_reboot},
                        {"allow_insvc_patching", h.allow_insvc_patching},
                        {"secs_since_ack", h.secs_since_ack},
                        {"patch_failed", h.patch_failed},
                        {"stale_details", false},
                        {"state", h.state.value_or("")},
                        {"install_pending", h.install_pending},
                        {"install_status", h.install_status},
                        {"install_reject_reason", h.install_reject_reason},
                        {"interim_state", h.interim_state},
                        {"stale", h.stale}});
}

std::string host_report_members(const HostEntry& h) {
    json brief = {{"hostname", h.hostname},
                  {"nodetype", h.nodetype},
                  {"subfunctions", h.subfunctions},
                  {"sw_version", h.sw_version}};
    if (const auto& a = h.agent) {
        brief["personality"] = a->personality;
        brief["locked"] = a->locked;
        brief["failure_reason"] = h.failure_reason;
        brief["query_error"] = a->query_error;
        brief["repo_revision"] = a->repo_revision;
        brief["agent_version"] = a->agent_version;
        if (const auto& p = a->install_progress) {
            brief["install_progress"] = {{"phase", p->phase}, {"done", p->done}, {"total", p->total}};
        }
    }
    return members(brief);
}

std::string host_package_members(const HostEntry& h) {
    if (const auto& p = h.packages) {
        return members(json{{"installed", p->installed},
                            {"to_remove", p->to_remove},
                            {"missing_pkgs", p->missing_pkgs},
                            {"duplicated_pkgs", p->duplicated_pkgs}});
    }
    return members(json{{"installed", json::object()},
                        {"to_remove", json::array()},
                        {"missing_pkgs", json::array()},
                        {"duplicated_pkgs", json::object()}});
}

std::string to_json(const OpReply& r) { return dump(json{{"info", r.info}, {"warning", r.warning}, {"error", r.error}}); }

std::string to_json(const QueryReply& r) { return dump(json{{"pd", entries_json(r.pd)}}); }

std::string to_json(const ShowReply& r) {
    json contents = json::object();
    for (const auto& [id, rpms] : r.contents) {
        contents[id] = rpms;
    }
    return dump(json{{"metadata", entries_json(r.metadata)}, {"contents", contents}, {"error", r.error}});
}

std::string to_json(const DependenciesReply& r) { return dump(json{{"patches", r.patches}, {"error", r.error}}); }

std::string to_json(const AppDependenciesReply& r) { return dump(json(r)); }

std::string to_json(const AuditReply& r) {
    json records = json::array();
    for (const auto& a : r.audit) {
        records.push_back({{"seq", a.seq}, {"time", a.time}, {"caller", a.caller}, {"role", a.role},
                           {"remote", a.remote}, {"action", a.action}, {"target", a.target}, {"outcome", a.outcome}});
    }
    return dump(json{{"audit", records}});
}

namespace {

json parse(std::string_view text) { return json::parse(text.begin(), text.end(), nullptr, false); }

const json* member(const json& object, const char* key) {
    if (!object.is_object()) {
        return nullptr;
    }
    auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
}

std::string text_of(const json& value) {
    if (value.is_string()) {
        return value.get<std::string>();
    }
    return value.is_null() ? std::string() : dump(value);
}

std::string text_field(const json& object, const char* key) {
    const json* v = member(object, key);
    return v == nullptr ? std::string() : text_of(*v);
}

std::optional<std::string> optional_text(const json& object, const char* key) {
    const json* v = member(object, key);
    return v == nullptr ? std::nullopt : std::optional<std::string>(text_of(*v));
}

// Iterating a JSON value as the reference's Python loop would: a list's items, an object's
// values, nothing for null, and any other value as a single item.
std::vector<std::string> text_list(const json& value) {
    std::vector<std::string> out;
    if (value.is_array() || value.is_object()) {
        for (const auto& item : value) {
            out.push_back(text_of(item));
        }
    } else if (!value.is_null()) {
        out.push_back(text_of(value));
    }
    return out;
}

bool truthy(const json& object, const char* key) {
    const json* v = member(object, key);
    if (v == nullptr || v->is_null()) {
        return false;
    }
    if (v->is_boolean()) {
        return v->get<bool>();
    }
    if (v->is_number()) {
        return v->get<double>() != 0;
    }
    return !v->empty() && !(v->is_string() && v->get_ref<const std::string&>().empty());
}

bool is_true(const json& object, const char* key) {
    const json* v = member(object, key);
    return v != nullptr && v->is_boolean() && v->get<bool>();
}

PatchEntry read_entry(const json& meta, const char* missing_reboot_required) {
    PatchEntry e;
    e.repostate = text_field(meta, "repostate");
    e.patchstate = text_field(meta, "patchstate");
    e.sw_version = text_field(meta, "sw_version");
    e.reboot_required = optional_text(meta, "reboot_required").value_or(missing_reboot_required);
    if (const json* r = member(meta, "requires"); r != nullptr && r->is_array()) {
        e.required = text_list(*r);
    }
    e.status = optional_text(meta, "status");
    e.unremovable = optional_text(meta, "unremovable");
    e.summary = optional_text(meta, "summary");
    e.description = optional_text(meta, "description");
    e.install_instructions = optional_text(meta, "install_instructions");
    e.warnings = optional_text(meta, "warnings");
    e.apply_active_release_only = optional_text(meta, "apply_active_release_only");
    if (meta.is_object()) {
        constexpr std::string_view PREFIX = "personality-";
        for (const auto& [key, value] : meta.items()) {
            if (key.starts_with(PREFIX)) {
                e.personalities[key.substr(PREFIX.size())] = text_list(value);
            }
        }
    }
    return e;
}

std::map<std::string, PatchEntry> read_entries(const json* entries, const char* missing_reboot_required) {
    std::map<std::string, PatchEntry> out;
    if (entries != nullptr && entries->is_object()) {
        for (const auto& [id, meta] : entries->items()) {
            out.emplace(id, read_entry(meta, missing_reboot_required));
        }
    }
    return out;
}

}  // namespace

OpReply read_op_reply(std::string_view json_text) {
    const json body = parse(json_text);
    return {text_field(body, "info"), text_field(body, "warning"), text_field(body, "error")};
}

std::optional<QueryReply> read_query_reply(std::string_view json_text) {
    const json body = parse(json_text);
    const json* pd = member(body, "pd");
    if (pd == nullptr) {
        return std::nullopt;
    }
    return QueryReply{read_entries(pd, "Y")};
}

ShowReply read_show_reply(std::string_view json_text) {
    const json body = parse(json_text);
    ShowReply reply;
    reply.metadata = read_entries(member(body, "metadata"), "");
    if (const json* contents = member(body, "contents"); contents != nullptr && contents->is_object()) {
        for (const auto& [id, rpms] : contents->items()) {
            reply.contents[id] = text_list(rpms);
        }
    }
    reply.error = text_field(body, "error");
    return reply;
}

std::optional<DependenciesReply> read_dependencies_reply(std::string_view json_text) {
    const json body = parse(json_text);
    const json* patches = member(body, "patches");
    if (patches == nullptr || !patches->is_array()) {
        return std::nullopt;
    }
    return DependenciesReply{text_list(*patches), text_field(body, "error")};
}

AppDependenciesReply read_app_dependencies_reply(std::string_view json_text) {
    const json body = parse(json_text);
    AppDependenciesReply reply;
    if (body.is_object()) {
        for (const auto& [app, ids] : body.items()) {
            reply[app] = text_list(ids);
        }
    }
    return reply;
}

std::optional<HostsReply> read_hosts_reply(std::string_view json_text) {
    const json body = parse(json_text);
    const json* data = member(body, "data");
    if (data == nullptr || !data->is_array()) {
        return std::nullopt;
    }
    HostsReply reply;
    for (const auto& agent : *data) {
        HostEntry h;
        h.hostname = text_field(agent, "hostname");
        h.ip = text_field(agent, "ip");
        h.sw_version = text_field(agent, "sw_version");
        if (const json* state = member(agent, "state"); state != nullptr && !state->is_null()) {
            h.state = text_of(*state);
        }
        h.patch_current = truthy(agent, "patch_current");
        h.requires_reboot = truthy(agent, "requires_reboot");
        h.patch_failed = truthy(agent, "patch_failed");
        h.interim_state = is_true(agent, "interim_state");
        h.install_pending = is_true(agent, "install_pending");
        h.stale = truthy(agent, "stale");
        h.install_status = text_field(agent, "install_status");
        h.install_reject_reason = text_field(agent, "install_reject_reason");
        h.failure_reason = text_field(agent, "failure_reason");
        reply.data.push_back(std::move(h));
    }
    return reply;
}

std::optional<bool> read_bool_reply(std::string_view json_text) {
    const json body = parse(json_text);
    return body.is_boolean() ? std::optional<bool>(body.get<bool>()) : std::nullopt;
}

}  // namespace patching::core::rest
