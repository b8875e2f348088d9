// SPDX-License-Identifier: Apache-2.0
#include "store/state_store.hpp"

#include <chrono>

namespace patching::controller {

namespace {

constexpr const char* SCHEMA = R"sql(
CREATE TABLE IF NOT EXISTS patches(
    id TEXT PRIMARY KEY,
    sw_version TEXT NOT NULL,
    repostate TEXT NOT NULL CHECK (repostate IN ('Available', 'Applied', 'Committed')),
    metadata_xml TEXT NOT NULL,
    imported_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS patch_rpms(
    patch_id TEXT NOT NULL REFERENCES patches(id) ON DELETE CASCADE,
    file_name TEXT NOT NULL,
    name TEXT NOT NULL, epoch TEXT NOT NULL, version TEXT NOT NULL, release TEXT NOT NULL,
    arch TEXT NOT NULL, size INTEGER NOT NULL,
    PRIMARY KEY (patch_id, file_name));
CREATE TABLE IF NOT EXISTS interim(patch_id TEXT NOT NULL, host TEXT NOT NULL, PRIMARY KEY (patch_id, host));
CREATE TABLE IF NOT EXISTS releases(sw_version TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS app_dependencies(app TEXT NOT NULL, patch_id TEXT NOT NULL, PRIMARY KEY (app, patch_id));
CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit(
    seq INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, caller TEXT NOT NULL, role TEXT NOT NULL,
    remote TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, outcome TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS host_keys(hostname TEXT PRIMARY KEY, key_hex TEXT NOT NULL, enrolled_at INTEGER NOT NULL);
INSERT OR IGNORE INTO counters(name, value) VALUES ('patch_op_counter', 1);
)sql";

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

StateStore::StateStore(const std::filesystem::path& db_path) : db_(db_path) { db_.exec(SCHEMA); }

std::vector<StoredPatch> StateStore::load_patches() {
    std::lock_guard lock(mutex_);
    std::vector<StoredPatch> patches;
    std::map<std::string, size_t> index;
    Statement q = db_.prepare("SELECT id, sw_version, repostate, metadata_xml, imported_at FROM patches ORDER BY id");
    while (q.step()) {
        StoredPatch p;
        p.id = q.column_text(0);
        p.sw_version = q.column_text(1);
        p.repostate = q.column_text(2);
        p.metadata_xml = q.column_text(3);
        p.imported_at = q.column_int(4);
        index[p.id] = patches.size();
        patches.push_back(std::move(p));
    }
    Statement r = db_.prepare(
        "SELECT patch_id, file_name, name, epoch, version, release, arch, size FROM patch_rpms ORDER BY patch_id, rowid");
    while (r.step()) {
        auto it = index.find(r.column_text(0));
        if (it == index.end()) {
            continue;
        }
        patches[it->second].rpms.push_back({r.column_text(1), r.column_text(2), r.column_text(3), r.column_text(4),
                                            r.column_text(5), r.column_text(6),
                                            static_cast<std::uint64_t>(r.column_int(7))});
    }
    return patches;
}

void StateStore::put_patch(const StoredPatch& patch) {
    std::lock_guard lock(mutex_);
    Database::Transaction tx(db_);
    db_.prepare(
           "INSERT INTO patches(id, sw_version, repostate, metadata_xml, imported_at) VALUES (?, ?, ?, ?, ?) "
           "ON CONFLICT(id) DO UPDATE SET metadata_xml = excluded.metadata_xml")
        .bind(1, patch.id)
        .bind(2, patch.sw_version)
        .bind(3, patch.repostate)
        .bind(4, patch.metadata_xml)
        .bind(5, patch.imported_at)
        .run();
    db_.prepare("DELETE FROM patch_rpms WHERE patch_id = ?").bind(1, patch.id).run();
    for (const auto& rpm : patch.rpms) {
        Statement s = db_.prepare(
            "INSERT INTO patch_rpms(patch_id, file_name, name, epoch, version, release, arch, size) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
        s.bind(1, patch.id)
            .bind(2, rpm.file_name)
            .bind(3, rpm.name)
            .bind(4, rpm.epoch)
            .bind(5, rpm.version)
            .bind(6, rpm.release)
            .bind(7, rpm.arch)
            .bind(8, static_cast<std::int64_t>(rpm.size))
            .run();
    }
    bump_counter_locked();
    tx.commit();
}

void StateStore::delete_patch(const std::string& id) {
    std::lock_guard lock(mutex_);
    Database::Transaction tx(db_);
    db_.prepare("DELETE FROM patches WHERE id = ?").bind(1, id).run();
    db_.prepare("DELETE FROM interim WHERE patch_id = ?").bind(1, id).run();
    bump_counter_locked();
    tx.commit();
}

std::int64_t StateStore::set_repostates(const std::map<std::string, std::string>& repostates,
                                        const std::map<std::string, std::set<std::string>>& interim) {
    std::lock_guard lock(mutex_);
    Database::Transaction tx(db_);
    for (const auto& [id, state] : repostates) {
        db_.prepare("UPDATE patches SET repostate = ? WHERE id = ?").bind(1, state).bind(2, id).run();
    }
    db_.exec("DELETE FROM interim");
    for (const auto& [id, hosts] : interim) {
        for (const auto& host : hosts) {
            db_.prepare("INSERT INTO interim(patch_id, host) VALUES (?, ?)").bind(1, id).bind(2, host).run();
        }
    }
    std::int64_t counter = bump_counter_locked();
    tx.commit();
    return counter;
}

void StateStore::delete_release(const std::string& release) {
    std::lock_guard lock(mutex_);
    Database::Transaction tx(db_);
    db_.prepare("DELETE FROM interim WHERE patch_id IN (SELECT id FROM patches WHERE sw_version = ?)")
        .bind(1, release)
        .run();
    db_.prepare("DELETE FROM patches WHERE sw_version = ?").bind(1, release).run();
    db_.prepare("DELETE FROM releases WHERE sw_version = ?").bind(1, release).run();
    bump_counter_locked();
    tx.commit();
}

std::map<std::string, std::set<std::string>> StateStore::load_interim() {
    std::lock_guard lock(mutex_);
    std::map<std::string, std::set<std::string>> interim;
    Statement q = db_.prepare("SELECT patch_id, host FROM interim");
    while (q.step()) {
        interim[q.column_text(0)].insert(q.column_text(1));
    }
    return interim;
}

void StateStore::save_interim(const std::map<std::string, std::set<std::string>>& interim) {
    std::lock_guard lock(mutex_);
    Database::Transaction tx(db_);
    db_.exec("DELETE FROM interim");
    for (const auto& [id, hosts] : interim) {
        for (const auto& host : hosts) {
            db_.prepare("INSERT INTO interim(patch_id, host) VALUES (?, ?)").bind(1, id).bind(2, host).run();
        }
    }
    tx.commit();
}

std::set<std::string> StateStore::load_releases() {
    std::lock_guard lock(mutex_);
    std::set<std::string> out;
    Statement q = db_.prepare("SELECT sw_version FROM releases");
    while (q.step()) {
        out.insert(q.column_text(0));
    }
    return out;
}

void StateStore::add_release(const std::string& release) {
    std::lock_guard lock(mutex_);
    db_.prepare("INSERT OR IGNORE INTO releases(sw_version) VALUES (?)").bind(1, release).run();
}

void StateStore::remove_release(const std::string& release) {
    std::lock_guard lock(mutex_);
    db_.prepare("DELETE FROM releases WHERE sw_version = ?").bind(1, release).run();
}

std::map<std::string, std::vector<std::string>> StateStore::load_app_dependencies() {
    std::lock_guard lock(mutex_);
    std::map<std::string, std::vector<std::string>> out;
    Statement q = db_.prepare("SELECT app, patch_id FROM app_dependencies ORDER BY app, patch_id");
    while (q.step()) {
        out[q.column_text(0)].push_back(q.column_text(1));
    }
    return out;
}

void StateStore::set_app_dependencies(const std::string& app, const std::vector<std::string>& patch_ids) {
    std::lock_guard lock(mutex_);
    Database::Transaction tx(db_);
    db_.prepare("DELETE FROM app_dependencies WHERE app = ?").bind(1, app).run();
    for (const auto& id : patch_ids) {
        db_.prepare("INSERT OR IGNORE INTO app_dependencies(app, patch_id) VALUES (?, ?)").bind(1, app).bind(2, id).run();
    }
    bump_counter_locked();
    tx.commit();
}

std::int64_t StateStore::op_counter() {
    std::lock_guard lock(mutex_);
    Statement q = db_.prepare("SELECT value FROM counters WHERE name = 'patch_op_counter'");
    return q.step() ? q.column_int(0) : 0;
}

std::int64_t StateStore::bump_op_counter() {
    std::lock_guard lock(mutex_);
    return bump_counter_locked();
}

std::int64_t StateStore::bump_counter_locked() {
    db_.exec("UPDATE counters SET value = value + 1 WHERE name = 'patch_op_counter'");
    Statement q = db_.prepare("SELECT value FROM counters WHERE name = 'patch_op_counter'");
    return q.step() ? q.column_int(0) : 0;
}

void StateStore::audit(const AuditRecord& r) {
    std::lock_guard lock(mutex_);
    db_.prepare("INSERT INTO audit(time, caller, role, remote, action, target, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(1, r.time != 0 ? r.time : now_seconds())
        .bind(2, r.caller)
        .bind(3, r.role)
        .bind(4, r.remote)
        .bind(5, r.action)
        .bind(6, r.target)
        .bind(7, r.outcome)
        .run();
}

std::vector<AuditRecord> StateStore::audit_log(std::int64_t after_seq, int limit) {
    std::lock_guard lock(mutex_);
    std::vector<AuditRecord> out;
    Statement q = db_.prepare(
        "SELECT seq, time, caller, role, remote, action, target, outcome FROM audit WHERE seq > ? ORDER BY seq LIMIT ?");
    q.bind(1, after_seq).bind(2, static_cast<std::int64_t>(limit));
    while (q.step()) {
        out.push_back({q.column_int(0), q.column_int(1), q.column_text(2), q.column_text(3), q.column_text(4),
                       q.column_text(5), q.column_text(6), q.column_text(7)});
    }
    return out;
}

std::map<std::string, std::string> StateStore::load_host_keys() {
    std::lock_guard lock(mutex_);
    std::map<std::string, std::string> keys;
    Statement q = db_.prepare("SELECT hostname, key_hex FROM host_keys");
    while (q.step()) {
        keys[q.column_text(0)] = q.column_text(1);
    }
    return keys;
}

std::optional<std::string> StateStore::host_key(const std::string& hostname) {
    std::lock_guard lock(mutex_);
    Statement q = db_.prepare("SELECT key_hex FROM host_keys WHERE hostname = ?");
    q.bind(1, hostname);
    if (!q.step()) {
        return std::nullopt;
    }
    return q.column_text(0);
}

bool StateStore::add_host_key(const std::string& hostname, const std::string& key_hex) {
    std::lock_guard lock(mutex_);
    Database::Transaction tx(db_);
    Statement exists = db_.prepare("SELECT 1 FROM host_keys WHERE hostname = ?");
    exists.bind(1, hostname);
    if (exists.step()) {
        return false;
    }
    db_.prepare("INSERT INTO host_keys(hostname, key_hex, enrolled_at) VALUES (?, ?, ?)")
        .bind(1, hostname)
        .bind(2, key_hex)
        .bind(3, now_seconds())
        .run();
    tx.commit();
    return true;
}

bool StateStore::remove_host_key(const std::string& hostname) {
    std::lock_guard lock(mutex_);
    Database::Transaction tx(db_);
    Statement exists = db_.prepare("SELECT 1 FROM host_keys WHERE hostname = ?");
    exists.bind(1, hostname);
    if (!exists.step()) {
        return false;
    }
    db_.prepare("DELETE FROM host_keys WHERE hostname = ?").bind(1, hostname).run();
    tx.commit();
    return true;
}

}  // namespace patching::controller
