// SPDX-License-Identifier: Apache-2.0
#include <patch_core/messages.hpp>

#include <signing/digest.hpp>
#include <signing/mac.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>

namespace patching::core::protocol {

using nlohmann::json;

namespace {

std::span<const std::byte> bytes_of(std::string_view s) {
    return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

std::string mac(std::string_view key, const std::string& data) {
    const signing::Sha256Digest d = signing::hmac_sha256(bytes_of(key), data);
    return {reinterpret_cast<const char*>(d.data()), d.size()};
}

std::string sha256_hex(std::string_view data) {
    signing::Sha256 sha;
    sha.update(bytes_of(data));
    const signing::Sha256Digest d = sha.finish();
    return signing::to_hex(d);
}

// Strict field access: the message must be an object, fields have the expected JSON types,
// strings and lists are bounded. Unknown fields are ignored (a newer minor peer may add some).
class Reader {
public:
    Reader(std::string_view text, std::size_t max_bytes, const char* what) : what_(what) {
        if (text.size() > max_bytes) {
            throw ProtocolError(std::string(what) + " is " + std::to_string(text.size()) + " bytes; the limit is " +
                                std::to_string(max_bytes));
        }
        doc_ = json::parse(text.begin(), text.end(), nullptr, false);
        if (doc_.is_discarded()) {
            throw ProtocolError(std::string(what) + " is not valid JSON");
        }
        if (!doc_.is_object()) {
            throw ProtocolError(std::string(what) + " is not a JSON object");
        }
        const auto v = doc_.find("protocol");
        if (v == doc_.end() || !v->is_number_integer()) {
            throw ProtocolError(std::string(what) + " has no \"protocol\" version");
        }
        if (v->get<std::int64_t>() != VERSION) {
            std::string host;
            const auto h = doc_.find("hostname");
            if (h != doc_.end() && h->is_string() && is_valid_hostname(h->get_ref<const std::string&>())) {
                host = h->get<std::string>();
            }
            throw ProtocolVersionError(std::string(what) + " uses agent protocol version " + v->dump() +
                                           "; this side speaks version " + std::to_string(VERSION) +
                                           ": upgrade the older of patch-agent and patch-controller so that both "
                                           "speak version " + std::to_string(VERSION),
                                       v->get<std::int64_t>(), host);
        }
    }

    const json& doc() const { return doc_; }

    const json* find(const char* key) const {
        const auto it = doc_.find(key);
        return it == doc_.end() || it->is_null() ? nullptr : &*it;
    }

    std::string string(const char* key, bool required, std::size_t max_len = 4096) const {
        return string_of(find(key), key, required, max_len);
    }

    std::string string_of(const json* v, const std::string& key, bool required, std::size_t max_len) const {
        if (v == nullptr) {
            if (required) {
                throw ProtocolError(std::string(what_) + " lacks the field \"" + key + "\"");
            }
            return {};
        }
        if (!v->is_string()) {
            throw ProtocolError(std::string(what_) + ": \"" + key + "\" must be a string");
        }
        const auto& s = v->get_ref<const std::string&>();
        if (s.size() > max_len) {
            throw ProtocolError(std::string(what_) + ": \"" + key + "\" is longer than " + std::to_string(max_len) +
                                " characters");
        }
        return s;
    }

    std::string hex(const char* key, std::size_t bytes) const {
        try {
            return from_hex(string(key, true, bytes * 2), bytes);
        } catch (const ProtocolError& e) {
            throw ProtocolError(std::string(what_) + ": \"" + key + "\": " + e.what());
        }
    }

    bool boolean(const char* key) const {
        const json* v = find(key);
        if (v == nullptr) {
            return false;
        }
        if (!v->is_boolean()) {
            throw ProtocolError(std::string(what_) + ": \"" + key + "\" must be true or false");
        }
        return v->get<bool>();
    }

    std::uint64_t unsigned_number(const char* key, std::uint64_t max = UINT64_MAX) const {
        return unsigned_of(find(key), key, max);
    }

    std::uint64_t unsigned_of(const json* v, const std::string& key, std::uint64_t max) const {
        if (v == nullptr) {
            return 0;
        }
        if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<std::int64_t>() >= 0)) {
            throw ProtocolError(std::string(what_) + ": \"" + key + "\" must be a non-negative integer");
        }
        const auto n = v->get<std::uint64_t>();
        if (n > max) {
            throw ProtocolError(std::string(what_) + ": \"" + key + "\" is larger than " + std::to_string(max));
        }
        return n;
    }

    std::vector<std::string> strings(const char* key) const {
        return strings_of(find(key), key);
    }

    std::vector<std::string> strings_of(const json* v, const std::string& key) const {
        std::vector<std::string> out;
        if (v == nullptr) {
            return out;
        }
        if (!v->is_array()) {
            throw ProtocolError(std::string(what_) + ": \"" + key + "\" must be a list");
        }
        if (v->size() > MAX_LIST_ENTRIES) {
            throw ProtocolError(std::string(what_) + ": \"" + key + "\" has more than " +
                                std::to_string(MAX_LIST_ENTRIES) + " entries");
        }
        out.reserve(v->size());
        for (const auto& item : *v) {
            out.push_back(string_of(&item, key + "[]", true, 1024));
        }
        return out;
    }

    const json* object(const char* key) const {
        const json* v = find(key);
        if (v != nullptr && !v->is_object()) {
            throw ProtocolError(std::string(what_) + ": \"" + key + "\" must be an object");
        }
        if (v != nullptr && v->size() > MAX_LIST_ENTRIES) {
            throw ProtocolError(std::string(what_) + ": \"" + key + "\" has more than " +
                                std::to_string(MAX_LIST_ENTRIES) + " entries");
        }
        return v;
    }

private:
    json doc_;
    const char* what_;
};

template <class Enum, std::size_t N>
std::optional<Enum> parse_word(const std::array<std::pair<Enum, std::string_view>, N>& words, std::string_view text) {
    for (const auto& [value, word] : words) {
        if (word == text) {
            return value;
        }
    }
    return std::nullopt;
}

template <class Enum, std::size_t N>
std::string_view word_of(const std::array<std::pair<Enum, std::string_view>, N>& words, Enum value) {
    for (const auto& [v, word] : words) {
        if (v == value) {
            return word;
        }
    }
    return "?";
}

constexpr std::array<std::pair<HostState, std::string_view>, 5> HOST_STATES{{
    {HostState::IDLE, "idle"},
    {HostState::INSTALLING, "installing"},
    {HostState::INSTALL_FAILED, "install-failed"},
    {HostState::INSTALL_REJECTED, "install-rejected"},
    {HostState::UNKNOWN, "unknown"},
}};
constexpr std::array<std::pair<CommandKind, std::string_view>, 5> COMMAND_KINDS{{
    {CommandKind::INSTALL, "install"},
    {CommandKind::REBOOT, "reboot"},
    {CommandKind::LOCK, "lock"},
    {CommandKind::UNLOCK, "unlock"},
    {CommandKind::HOOK, "hook"},
}};
constexpr std::array<std::pair<CommandStatus, std::string_view>, 6> COMMAND_STATUSES{{
    {CommandStatus::QUEUED, "queued"},
    {CommandStatus::SENT, "sent"},
    {CommandStatus::RUNNING, "running"},
    {CommandStatus::OK, "ok"},
    {CommandStatus::FAILED, "failed"},
    {CommandStatus::REJECTED, "rejected"},
}};

json envelope() {
    return json{{"protocol", VERSION}};
}

std::string hostname_field(const Reader& r, const char* what) {
    std::string name = r.string("hostname", true, MAX_HOSTNAME);
    if (!is_valid_hostname(name)) {
        throw ProtocolError(std::string(what) + ": \"hostname\" is not a valid host name");
    }
    return name;
}

}  // namespace

bool is_valid_hostname(std::string_view name) {
    if (name.empty() || name.size() > MAX_HOSTNAME || name.front() == '-' || name.front() == '.') {
        return false;
    }
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                        c == '.' || c == '_';
        if (!ok) {
            return false;
        }
    }
    return true;
}

std::string to_hex(std::string_view bytes) {
    return signing::to_hex(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

std::string from_hex(std::string_view hex, std::size_t max_bytes) {
    if (hex.size() % 2 != 0 || hex.size() / 2 > max_bytes) {
        throw ProtocolError("expected at most " + std::to_string(max_bytes) + " bytes of hex, got " +
                            std::to_string(hex.size()) + " characters");
    }
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out(hex.size() / 2, '\0');
    for (std::size_t i = 0; i < out.size(); ++i) {
        const int hi = nibble(hex[2 * i]);
        const int lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            throw ProtocolError("not a hex string");
        }
        out[i] = static_cast<char>((hi << 4) | lo);
    }
    return out;
}

std::string hello_mac(std::string_view host_key, std::string_view hostname, std::string_view client_nonce) {
    return mac(host_key, "hello\n" + std::string(hostname) + "\n" + std::string(client_nonce));
}

std::string hello_reply_mac(std::string_view host_key, std::string_view hostname, std::string_view client_nonce,
                            std::string_view session, std::string_view server_nonce) {
    return mac(host_key, "hello-reply\n" + std::string(hostname) + "\n" + std::string(client_nonce) + "\n" +
                             std::string(session) + "\n" + std::string(server_nonce));
}

std::string session_key(std::string_view host_key, std::string_view session, std::string_view client_nonce,
                        std::string_view server_nonce) {
    return mac(host_key, "session\n" + std::string(session) + "\n" + std::string(client_nonce) + "\n" +
                             std::string(server_nonce));
}

std::string request_mac(std::string_view key, std::string_view method, std::string_view path, std::uint64_t seq,
                        std::string_view body) {
    return mac(key, "req\n" + std::string(method) + "\n" + std::string(path) + "\n" + std::to_string(seq) + "\n" +
                        sha256_hex(body));
}

std::string response_mac(std::string_view key, std::uint64_t seq, int status, std::string_view body) {
    return mac(key, "resp\n" + std::to_string(seq) + "\n" + std::to_string(status) + "\n" + sha256_hex(body));
}

bool mac_equal(std::string_view a, std::string_view b) {
    return signing::equal_constant_time(a, b);
}

bool ReplayWindow::accept(std::uint64_t seq) {
    constexpr std::uint64_t WIDTH = 64;
    if (seq == 0) {
        return false;
    }
    if (seq > highest_) {
        const std::uint64_t shift = seq - highest_;
        seen_ = shift >= WIDTH ? 0 : seen_ << shift;
        seen_ |= 1U;
        highest_ = seq;
        return true;
    }
    const std::uint64_t age = highest_ - seq;
    if (age >= WIDTH) {
        return false;
    }
    const std::uint64_t bit = std::uint64_t{1} << age;
    if ((seen_ & bit) != 0) {
        return false;
    }
    seen_ |= bit;
    return true;
}

std::string error_json(std::string_view message) {
    json j = envelope();
    j["error"] = std::string(message);
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// --- Serialisers ---

std::string to_json(const EnrolRequest& m) {
    json j = envelope();
    j["hostname"] = m.hostname;
    return j.dump();
}

std::string to_json(const EnrolReply& m) {
    json j = envelope();
    j["hostname"] = m.hostname;
    j["host_key"] = to_hex(m.host_key);
    return j.dump();
}

std::string to_json(const HelloRequest& m) {
    json j = envelope();
    j["hostname"] = m.hostname;
    j["client_nonce"] = to_hex(m.client_nonce);
    j["mac"] = to_hex(m.mac);
    j["boot_id"] = m.boot_id;
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string to_json(const HelloReply& m) {
    json j = envelope();
    j["session"] = to_hex(m.session);
    j["server_nonce"] = to_hex(m.server_nonce);
    j["mac"] = to_hex(m.mac);
    j["poll_wait_ms"] = m.poll_wait_ms;
    j["stale_after_s"] = m.stale_after_s;
    return j.dump();
}

std::string to_json(const PollRequest& m) {
    json j = envelope();
    j["op_counter"] = m.op_counter;
    j["report_id"] = m.report_id;
    j["wait_ms"] = m.wait_ms;
    return j.dump();
}

std::string to_json(const PollReply& m) {
    json j = envelope();
    j["op_counter"] = m.op_counter;
    j["send_report"] = m.send_report;
    if (m.command) {
        j["command"] = {{"id", m.command->id}, {"kind", to_string(m.command->kind)}, {"force", m.command->force}};
        if (!m.command->hook.empty()) {
            j["command"]["hook"] = m.command->hook;
        }
    }
    return j.dump();
}

std::string to_json(const AgentReport& m) {
    json j = envelope();
    j["hostname"] = m.hostname;
    j["report_id"] = m.report_id;
    j["op_counter"] = m.op_counter;
    j["sw_version"] = m.sw_version;
    j["personality"] = m.personality;
    j["subfunctions"] = m.subfunctions;
    j["nodetype"] = m.nodetype;
    j["state"] = to_string(m.state);
    j["out_of_date"] = m.out_of_date;
    j["requires_reboot"] = m.requires_reboot;
    j["patch_failed"] = m.patch_failed;
    j["failure_reason"] = m.failure_reason;
    j["locked"] = m.locked;
    j["repo_revision"] = m.repo_revision;
    j["query_error"] = m.query_error;
    j["installed"] = m.installed;
    j["to_remove"] = m.to_remove;
    j["missing_pkgs"] = m.missing_pkgs;
    j["duplicated_pkgs"] = m.duplicated_pkgs;
    if (m.command) {
        j["command"] = {{"id", m.command->id},         {"kind", to_string(m.command->kind)},
                        {"status", to_string(m.command->status)}, {"reason", m.command->reason},
                        {"phase", m.command->phase},   {"done", m.command->done},
                        {"total", m.command->total}};
        if (m.command->exit_code != 0 || !m.command->output.empty()) {
            j["command"]["exit_code"] = m.command->exit_code;
            j["command"]["output"] = m.command->output;
        }
    }
    j["agent_version"] = m.agent_version;
    if (!m.health.empty()) {
        j["health"] = m.health;
        j["health_output"] = m.health_output;
    }
    j["labels"] = m.labels;
    // Scriptlet output and package names are not guaranteed UTF-8: replace, never throw.
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

CommandKind command_kind_of(const Reader& r, const json* value, const char* what) {
    const auto kind = parse_command_kind(r.string_of(value, "command.kind", true, 32));
    if (!kind) {
        throw ProtocolError(std::string(what) + ": \"command.kind\" must be one of install, reboot, lock, unlock, hook");
    }
    return *kind;
}

}  // namespace

// --- Words ---

std::string_view to_string(HostState state) { return word_of(HOST_STATES, state); }
std::optional<HostState> parse_host_state(std::string_view text) { return parse_word(HOST_STATES, text); }
std::string_view to_string(CommandKind kind) { return word_of(COMMAND_KINDS, kind); }
std::optional<CommandKind> parse_command_kind(std::string_view text) { return parse_word(COMMAND_KINDS, text); }
std::string_view to_string(CommandStatus status) { return word_of(COMMAND_STATUSES, status); }
std::optional<CommandStatus> parse_command_status(std::string_view text) {
    return parse_word(COMMAND_STATUSES, text);
}
bool is_hook_phase(std::string_view name) {
    for (std::string_view phase : {"precheck", "pre-lock", "post-install", "post-reboot", "post-unlock", "postcheck",
                                   "health"}) {
        if (name == phase) {
            return true;
        }
    }
    return false;
}
bool is_finished(CommandStatus status) {
    return status == CommandStatus::OK || status == CommandStatus::FAILED || status == CommandStatus::REJECTED;
}

// --- Parsers ---

EnrolRequest parse_enrol_request(std::string_view text) {
    const Reader r(text, MAX_SMALL_MESSAGE, "enrolment request");
    return {hostname_field(r, "enrolment request")};
}

EnrolReply parse_enrol_reply(std::string_view text) {
    const Reader r(text, MAX_SMALL_MESSAGE, "enrolment reply");
    return {hostname_field(r, "enrolment reply"), r.hex("host_key", HOST_KEY_BYTES)};
}

HelloRequest parse_hello_request(std::string_view text) {
    const Reader r(text, MAX_SMALL_MESSAGE, "hello");
    HelloRequest m;
    m.hostname = hostname_field(r, "hello");
    m.client_nonce = r.hex("client_nonce", NONCE_BYTES);
    m.mac = r.hex("mac", 32);
    if (m.client_nonce.size() != NONCE_BYTES) {
        throw ProtocolError("hello: \"client_nonce\" must be " + std::to_string(NONCE_BYTES) + " bytes");
    }
    m.boot_id = r.string("boot_id", true, MAX_BOOT_ID);
    return m;
}

HelloReply parse_hello_reply(std::string_view text) {
    const Reader r(text, MAX_SMALL_MESSAGE, "hello reply");
    HelloReply m;
    m.session = r.hex("session", NONCE_BYTES);
    m.server_nonce = r.hex("server_nonce", NONCE_BYTES);
    m.mac = r.hex("mac", 32);
    m.poll_wait_ms = static_cast<int>(r.unsigned_number("poll_wait_ms", MAX_POLL_WAIT_MS));
    m.stale_after_s = static_cast<int>(r.unsigned_number("stale_after_s", 86400));
    return m;
}

PollRequest parse_poll_request(std::string_view text) {
    const Reader r(text, MAX_SMALL_MESSAGE, "poll");
    PollRequest m;
    m.op_counter = r.unsigned_number("op_counter");
    m.report_id = r.string("report_id", false, 128);
    m.wait_ms = static_cast<int>(r.unsigned_number("wait_ms", MAX_POLL_WAIT_MS));
    return m;
}

PollReply parse_poll_reply(std::string_view text) {
    const Reader r(text, MAX_SMALL_MESSAGE, "poll reply");
    PollReply m;
    m.op_counter = r.unsigned_number("op_counter");
    m.send_report = r.boolean("send_report");
    if (const json* command = r.object("command"); command != nullptr) {
        auto field = [&](const char* key) { return command->contains(key) ? &(*command)[key] : nullptr; };
        Command c;
        c.id = r.string_of(field("id"), "command.id", true, MAX_COMMAND_ID);
        c.kind = command_kind_of(r, field("kind"), "poll reply");
        const json* f = field("force");
        if (f != nullptr && !f->is_boolean()) {
            throw ProtocolError("poll reply: \"command.force\" must be true or false");
        }
        c.force = f != nullptr && f->get<bool>();
        c.hook = r.string_of(field("hook"), "command.hook", c.kind == CommandKind::HOOK, 32);
        if (c.kind == CommandKind::HOOK && !is_hook_phase(c.hook)) {
            throw ProtocolError("poll reply: \"command.hook\" must be one of precheck, pre-lock, post-install, "
                                "post-reboot, post-unlock, postcheck, health");
        }
        m.command = std::move(c);
    }
    return m;
}

AgentReport parse_agent_report(std::string_view text) {
    const Reader r(text, MAX_REPORT_MESSAGE, "report");
    AgentReport m;
    m.hostname = hostname_field(r, "report");
    m.report_id = r.string("report_id", true, 128);
    m.op_counter = r.unsigned_number("op_counter");
    m.sw_version = r.string("sw_version", true, 64);
    m.personality = r.string("personality", false, 256);
    m.subfunctions = r.strings("subfunctions");
    m.nodetype = r.string("nodetype", false, 64);
    const auto state = parse_host_state(r.string("state", true, 32));
    if (!state || *state == HostState::UNKNOWN) {
        throw ProtocolError("report: \"state\" must be one of idle, installing, install-failed, install-rejected");
    }
    m.state = *state;
    m.out_of_date = r.boolean("out_of_date");
    m.requires_reboot = r.boolean("requires_reboot");
    m.patch_failed = r.boolean("patch_failed");
    m.failure_reason = r.string("failure_reason", false, 65536);
    m.locked = r.boolean("locked");
    m.repo_revision = r.string("repo_revision", false, 256);
    m.query_error = r.string("query_error", false, 65536);
    if (const json* installed = r.object("installed"); installed != nullptr) {
        for (const auto& [name, value] : installed->items()) {
            m.installed[name] = r.string_of(&value, "installed." + name, true, 1024);
        }
    }
    m.to_remove = r.strings("to_remove");
    m.missing_pkgs = r.strings("missing_pkgs");
    if (const json* dups = r.object("duplicated_pkgs"); dups != nullptr) {
        for (const auto& [name, arches] : dups->items()) {
            if (!arches.is_object()) {
                throw ProtocolError("report: \"duplicated_pkgs." + name + "\" must be an object");
            }
            for (const auto& [arch, versions] : arches.items()) {
                m.duplicated_pkgs[name][arch] = r.strings_of(&versions, "duplicated_pkgs." + name + "." + arch);
            }
        }
    }
    if (const json* command = r.object("command"); command != nullptr) {
        CommandReport c;
        auto field = [&](const char* key) { return command->contains(key) ? &(*command)[key] : nullptr; };
        c.id = r.string_of(field("id"), "command.id", true, MAX_COMMAND_ID);
        c.kind = command_kind_of(r, field("kind"), "report");
        const auto status = parse_command_status(r.string_of(field("status"), "command.status", true, 16));
        if (!status || *status == CommandStatus::QUEUED || *status == CommandStatus::SENT) {
            throw ProtocolError("report: \"command.status\" must be one of running, ok, failed, rejected");
        }
        c.status = *status;
        c.reason = r.string_of(field("reason"), "command.reason", false, 65536);
        c.phase = r.string_of(field("phase"), "command.phase", false, 32);
        c.done = r.unsigned_of(field("done"), "command.done", UINT32_MAX);
        c.total = r.unsigned_of(field("total"), "command.total", UINT32_MAX);
        c.exit_code = r.unsigned_of(field("exit_code"), "command.exit_code", 255);
        c.output = r.string_of(field("output"), "command.output", false,
                               std::max(MAX_COMMAND_OUTPUT, MAX_HOOK_OUTPUT + 1024));
        m.command = std::move(c);
    }
    m.agent_version = r.string("agent_version", false, 64);
    m.health = r.string("health", false, 16);
    if (!m.health.empty() && m.health != "ok" && m.health != "failing") {
        throw ProtocolError("report: \"health\" must be one of ok, failing");
    }
    m.health_output = r.string("health_output", false, MAX_HOOK_OUTPUT + 1024);
    if (const json* labels = r.object("labels"); labels != nullptr) {
        if (labels->size() > MAX_REPORTED_LABELS) {
            throw ProtocolError("report: \"labels\" holds more than " + std::to_string(MAX_REPORTED_LABELS) +
                                " labels");
        }
        for (const auto& [name, value] : labels->items()) {
            if (name.empty() || name.size() > 64 ||
                name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
                    std::string::npos) {
                throw ProtocolError("report: label names must be 1 to 64 letters, digits, '-', '_' or '.'");
            }
            m.labels[name] = r.string_of(&value, "labels." + name, true, 128);
        }
    }
    return m;
}

}  // namespace patching::core::protocol
