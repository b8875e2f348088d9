// SPDX-License-Identifier: Apache-2.0
#include "store/sqlite/sqlite_store.hpp"

#include "store/sqlite/sqlite_work.hpp"

#include <chrono>

namespace patching::controller {

namespace {

// Version 0: the schema before versions existed. Every statement is idempotent, so it runs on
// every open and a database of any version gets the tables later migrations expect.
constexpr const char* SCHEMA_V0 = R"sql(
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
CREATE TABLE IF NOT EXISTS releases(sw_version TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS app_dependencies(app TEXT NOT NULL, patch_id TEXT NOT NULL, PRIMARY KEY (app, patch_id));
CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit(
    seq INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, caller TEXT NOT NULL, role TEXT NOT NULL,
    remote TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, outcome TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS host_keys(hostname TEXT PRIMARY KEY, key_hex TEXT NOT NULL, enrolled_at INTEGER NOT NULL);
INSERT OR IGNORE INTO counters(name, value) VALUES ('patch_op_counter', 1);
CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL);
)sql";

// MIGRATIONS[i] takes the schema from version i to i + 1.
constexpr const char* MIGRATIONS[] = {
    // 1: the host table is persisted; the interim table (written, never read) goes.
    R"sql(
CREATE TABLE hosts(
    hostname TEXT PRIMARY KEY, ip TEXT NOT NULL, last_seen INTEGER NOT NULL, sw_version TEXT NOT NULL,
    nodetype TEXT NOT NULL, personality TEXT NOT NULL, subfunctions TEXT NOT NULL);
DROP TABLE IF EXISTS interim;
)sql",
    // 2: each host has a queue of commands (was: one install slot in memory); hosts keep the
    // boot id of their agent's last hello.
    R"sql(
ALTER TABLE hosts ADD COLUMN boot_id TEXT NOT NULL DEFAULT '';
CREATE TABLE host_commands(
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, hostname TEXT NOT NULL, kind TEXT NOT NULL,
    force INTEGER NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL, boot_id TEXT NOT NULL,
    created_at INTEGER NOT NULL, finished_at INTEGER NOT NULL);
CREATE INDEX host_commands_by_host ON host_commands(hostname, seq);
)sql",
    // 3: work requests, their logs and errors, host groups, host labels, idempotency records.
    WORK_TABLES_MIGRATION,
    // 4: a group's release constraint; labels reported by agents; a command's output.
    GROUP_RELEASE_AND_REPORTED_LABELS_MIGRATION,
    // 5: scheduled jobs and their runs (jobs/).
    JOB_TABLES_MIGRATION,
    // 6: the host lifecycle: administrative state, alarms, hook commands' phase and exit code.
    R"sql(
ALTER TABLE host_commands ADD COLUMN hook TEXT NOT NULL DEFAULT '';
ALTER TABLE host_commands ADD COLUMN exit_code INTEGER NOT NULL DEFAULT 0;
CREATE TABLE host_admin(
    hostname TEXT PRIMARY KEY, locked INTEGER NOT NULL, locked_by TEXT NOT NULL, reason TEXT NOT NULL,
    since INTEGER NOT NULL, work_request INTEGER NOT NULL);
CREATE TABLE alarms(
    alarm_id TEXT NOT NULL, entity TEXT NOT NULL, severity TEXT NOT NULL, reason TEXT NOT NULL,
    raised_at INTEGER NOT NULL, mgmt_affecting INTEGER NOT NULL, raised_by TEXT NOT NULL,
    PRIMARY KEY (alarm_id, entity));
)sql",
};
static_assert(std::size(MIGRATIONS) == SqliteStore::SCHEMA_VERSION);

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) {
        out += (out.empty() ? "" : ",") + item;
    }
    return out;
}

std::vector<std::string> split(const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (!text.empty() && start <= text.size()) {
        size_t end = text.find(',', start);
        out.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
        if (end == std::string::npos) {
            break;
        }
        start = end + 1;
    }
    return out;
}

class SqliteTransaction final : public WriteTransaction {
public:
    explicit SqliteTransaction(Database& db) : db_(db), work_(db) {}

    void put_patch(const StoredPatch& patch) override {
        db_.prepare(
               "INSERT INTO patches(id, sw_version, repostate, metadata_xml, imported_at) VALUES (?, ?, ?, ?, ?) "
               "ON CONFLICT(id) DO UPDATE SET sw_version = excluded.sw_version, repostate = excluded.repostate, "
               "metadata_xml = excluded.metadata_xml, imported_at = excluded.imported_at")
            .bind(1, patch.id)
            .bind(2, patch.sw_version)
            .bind(3, patch.repostate)
            .bind(4, patch.metadata_xml)
            .bind(5, patch.imported_at)
            .run();
        db_.prepare("DELETE FROM patch_rpms WHERE patch_id = ?").bind(1, patch.id).run();
        for (const auto& rpm : patch.rpms) {
            db_.prepare(
                   "INSERT INTO patch_rpms(patch_id, file_name, name, epoch, version, release, arch, size) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
                .bind(1, patch.id)
                .bind(2, rpm.file_name)
                .bind(3, rpm.name)
                .bind(4, rpm.epoch)
                .bind(5, rpm.version)
                .bind(6, rpm.release)
                .bind(7, rpm.arch)
                .bind(8, static_cast<std::int64_t>(rpm.size))
                .run();
        }
    }

    void set_repostate(const std::string& id, std::string_view repostate) override {
        db_.prepare("UPDATE patches SET repostate = ? WHERE id = ?").bind(1, repostate).bind(2, id).run();
    }

    void delete_patch(const std::string& id) override {
        db_.prepare("DELETE FROM patch_rpms WHERE patch_id = ?").bind(1, id).run();
        db_.prepare("DELETE FROM patches WHERE id = ?").bind(1, id).run();
    }

    void add_release(const std::string& release) override {
        db_.prepare("INSERT OR IGNORE INTO releases(sw_version) VALUES (?)").bind(1, release).run();
    }

    void delete_release(const std::string& release) override {
        db_.prepare("DELETE FROM patch_rpms WHERE patch_id IN (SELECT id FROM patches WHERE sw_version = ?)")
            .bind(1, release)
            .run();
        db_.prepare("DELETE FROM patches WHERE sw_version = ?").bind(1, release).run();
        db_.prepare("DELETE FROM releases WHERE sw_version = ?").bind(1, release).run();
    }

    void set_app_dependencies(const std::string& app, const std::vector<std::string>& patch_ids) override {
        db_.prepare("DELETE FROM app_dependencies WHERE app = ?").bind(1, app).run();
        for (const auto& id : patch_ids) {
            db_.prepare("INSERT OR IGNORE INTO app_dependencies(app, patch_id) VALUES (?, ?)")
                .bind(1, app)
                .bind(2, id)
                .run();
        }
    }

    void put_host(const StoredHost& host) override {
        db_.prepare("DELETE FROM hosts WHERE hostname = ?").bind(1, host.hostname).run();
        db_.prepare(
               "INSERT INTO hosts(hostname, ip, last_seen, sw_version, nodetype, personality, subfunctions, boot_id) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(1, host.hostname)
            .bind(2, host.ip)
            .bind(3, host.last_seen)
            .bind(4, host.sw_version)
            .bind(5, host.nodetype)
            .bind(6, host.personality)
            .bind(7, join(host.subfunctions))
            .bind(8, host.boot_id)
            .run();
    }

    void delete_host(const std::string& hostname) override {
        db_.prepare("DELETE FROM hosts WHERE hostname = ?").bind(1, hostname).run();
        db_.prepare("DELETE FROM host_commands WHERE hostname = ?").bind(1, hostname).run();
    }

    void put_command(const StoredCommand& c) override {
        db_.prepare("DELETE FROM host_commands WHERE id = ?").bind(1, c.id).run();
        db_.prepare(
               "INSERT INTO host_commands(id, seq, hostname, kind, force, status, reason, boot_id, created_at, "
               "finished_at, hook, exit_code, output) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(1, c.id)
            .bind(2, c.seq)
            .bind(3, c.hostname)
            .bind(4, core::protocol::to_string(c.kind))
            .bind(5, std::int64_t{c.force ? 1 : 0})
            .bind(6, core::protocol::to_string(c.status))
            .bind(7, c.reason)
            .bind(8, c.boot_id)
            .bind(9, c.created_at)
            .bind(10, c.finished_at)
            .bind(11, c.hook)
            .bind(12, c.exit_code)
            .bind(13, c.output)
            .run();
    }

    void delete_command(const std::string& id) override {
        db_.prepare("DELETE FROM host_commands WHERE id = ?").bind(1, id).run();
    }

    std::int64_t bump_op_counter() override {
        db_.exec("UPDATE counters SET value = value + 1 WHERE name = 'patch_op_counter'");
        Statement q = db_.prepare("SELECT value FROM counters WHERE name = 'patch_op_counter'");
        return q.step() ? q.column_int(0) : 0;
    }

    void put_host_admin(const StoredHostAdmin& a) override {
        db_.prepare(
               "INSERT OR REPLACE INTO host_admin(hostname, locked, locked_by, reason, since, work_request) "
               "VALUES (?, ?, ?, ?, ?, ?)")
            .bind(1, a.hostname)
            .bind(2, std::int64_t{a.locked ? 1 : 0})
            .bind(3, a.by)
            .bind(4, a.reason)
            .bind(5, a.since)
            .bind(6, a.work_request)
            .run();
    }

    void put_alarm(const StoredAlarm& a) override {
        db_.prepare(
               "INSERT OR REPLACE INTO alarms(alarm_id, entity, severity, reason, raised_at, mgmt_affecting, "
               "raised_by) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(1, a.alarm_id)
            .bind(2, a.entity)
            .bind(3, a.severity)
            .bind(4, a.reason)
            .bind(5, a.raised_at)
            .bind(6, std::int64_t{a.mgmt_affecting ? 1 : 0})
            .bind(7, a.raised_by)
            .run();
    }

    void delete_alarm(const std::string& alarm_id, const std::string& entity) override {
        db_.prepare("DELETE FROM alarms WHERE alarm_id = ? AND entity = ?").bind(1, alarm_id).bind(2, entity).run();
    }

    WorkTables& work() override { return work_; }

private:
    Database& db_;
    SqliteWorkTables work_;
};

}  // namespace

SqliteStore::SqliteStore(const std::filesystem::path& db_path, const core::Clock& clock)
    : clock_(clock), db_(db_path) {
    db_.exec(SCHEMA_V0);
    migrate();
}

int SqliteStore::schema_version_locked() {
    Statement q = db_.prepare("SELECT version FROM schema_version");
    return q.step() ? static_cast<int>(q.column_int(0)) : 0;
}

int SqliteStore::schema_version() {
    std::lock_guard lock(mutex_);
    return schema_version_locked();
}

void SqliteStore::migrate() {
    std::lock_guard lock(mutex_);
    for (;;) {
        Database::Transaction tx(db_);
        const int version = schema_version_locked();
        if (version > SCHEMA_VERSION) {
            throw StoreError("the state database " + db_.path().string() + " has schema version " +
                             std::to_string(version) + ", newer than this controller's " +
                             std::to_string(SCHEMA_VERSION) + ": run the controller that wrote it");
        }
        if (version == SCHEMA_VERSION) {
            return;
        }
        db_.exec(MIGRATIONS[version]);
        db_.exec("DELETE FROM schema_version");
        db_.prepare("INSERT INTO schema_version(version) VALUES (?)").bind(1, std::int64_t{version + 1}).run();
        tx.commit();
    }
}

void SqliteStore::write(const std::function<void(WriteTransaction&)>& changes) {
    std::lock_guard lock(mutex_);
    Database::Transaction tx(db_);
    SqliteTransaction writer(db_);
    changes(writer);
    tx.commit();
}

std::vector<StoredPatch> SqliteStore::load_patches() {
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

std::set<std::string> SqliteStore::load_releases() {
    std::lock_guard lock(mutex_);
    std::set<std::string> out;
    Statement q = db_.prepare("SELECT sw_version FROM releases");
    while (q.step()) {
        out.insert(q.column_text(0));
    }
    return out;
}

std::map<std::string, std::vector<std::string>> SqliteStore::load_app_dependencies() {
    std::lock_guard lock(mutex_);
    std::map<std::string, std::vector<std::string>> out;
    Statement q = db_.prepare("SELECT app, patch_id FROM app_dependencies ORDER BY app, patch_id");
    while (q.step()) {
        out[q.column_text(0)].push_back(q.column_text(1));
    }
    return out;
}

std::vector<StoredHost> SqliteStore::load_hosts() {
    std::lock_guard lock(mutex_);
    std::vector<StoredHost> out;
    Statement q = db_.prepare(
        "SELECT hostname, ip, last_seen, sw_version, nodetype, personality, subfunctions, boot_id FROM hosts "
        "ORDER BY hostname");
    while (q.step()) {
        out.push_back({q.column_text(0), q.column_text(1), q.column_int(2), q.column_text(3), q.column_text(4),
                       q.column_text(5), split(q.column_text(6)), q.column_text(7)});
    }
    return out;
}

std::vector<StoredCommand> SqliteStore::load_commands() {
    std::lock_guard lock(mutex_);
    std::vector<StoredCommand> out;
    Statement q = db_.prepare(
        "SELECT id, seq, hostname, kind, force, status, reason, boot_id, created_at, finished_at, hook, exit_code, "
        "output FROM host_commands ORDER BY seq");
    while (q.step()) {
        StoredCommand c;
        c.id = q.column_text(0);
        c.seq = q.column_int(1);
        c.hostname = q.column_text(2);
        const auto kind = core::protocol::parse_command_kind(q.column_text(3));
        const auto status = core::protocol::parse_command_status(q.column_text(5));
        if (!kind || !status) {
            throw StoreError("the state database " + db_.path().string() + " has a host command (" + c.id +
                             ") of kind \"" + q.column_text(3) + "\" and status \"" + q.column_text(5) +
                             "\", which this controller does not know: run the controller that wrote it");
        }
        c.kind = *kind;
        c.force = q.column_int(4) != 0;
        c.status = *status;
        c.reason = q.column_text(6);
        c.boot_id = q.column_text(7);
        c.output = q.column_text(10);
        c.created_at = q.column_int(8);
        c.finished_at = q.column_int(9);
        c.hook = q.column_text(10);
        c.exit_code = q.column_int(11);
        c.output = q.column_text(12);
        out.push_back(std::move(c));
    }
    return out;
}

std::int64_t SqliteStore::op_counter() {
    std::lock_guard lock(mutex_);
    Statement q = db_.prepare("SELECT value FROM counters WHERE name = 'patch_op_counter'");
    return q.step() ? q.column_int(0) : 0;
}

void SqliteStore::audit(const AuditRecord& r) {
    std::lock_guard lock(mutex_);
    db_.prepare("INSERT INTO audit(time, caller, role, remote, action, target, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(1, r.time != 0 ? r.time : clock_.now_seconds())
        .bind(2, r.caller)
        .bind(3, r.role)
        .bind(4, r.remote)
        .bind(5, r.action)
        .bind(6, r.target)
        .bind(7, r.outcome)
        .run();
}

std::vector<AuditRecord> SqliteStore::audit_log(std::int64_t after_seq, int limit) {
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

std::optional<std::string> SqliteStore::host_key(const std::string& hostname) {
    std::lock_guard lock(mutex_);
    Statement q = db_.prepare("SELECT key_hex FROM host_keys WHERE hostname = ?");
    q.bind(1, hostname);
    if (!q.step()) {
        return std::nullopt;
    }
    return q.column_text(0);
}

bool SqliteStore::add_host_key(const std::string& hostname, const std::string& key_hex) {
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
        .bind(3, clock_.now_seconds())
        .run();
    tx.commit();
    return true;
}

bool SqliteStore::remove_host_key(const std::string& hostname) {
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

std::vector<StoredHostAdmin> SqliteStore::load_host_admin() {
    std::lock_guard lock(mutex_);
    std::vector<StoredHostAdmin> out;
    Statement q = db_.prepare(
        "SELECT hostname, locked, locked_by, reason, since, work_request FROM host_admin ORDER BY hostname");
    while (q.step()) {
        out.push_back({q.column_text(0), q.column_int(1) != 0, q.column_text(2), q.column_text(3), q.column_int(4),
                       q.column_int(5)});
    }
    return out;
}

std::vector<StoredAlarm> SqliteStore::load_alarms() {
    std::lock_guard lock(mutex_);
    std::vector<StoredAlarm> out;
    Statement q = db_.prepare(
        "SELECT alarm_id, entity, severity, reason, raised_at, mgmt_affecting, raised_by FROM alarms "
        "ORDER BY raised_at, alarm_id, entity");
    while (q.step()) {
        out.push_back({q.column_text(0), q.column_text(1), q.column_text(2), q.column_text(3), q.column_int(4),
                       q.column_int(5) != 0, q.column_text(6)});
    }
    return out;
}

}  // namespace patching::controller
