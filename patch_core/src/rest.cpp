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

}  // namespace patching::core::rest
