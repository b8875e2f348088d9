// SPDX-License-Identifier: Apache-2.0
#include "config.hpp"

#include <common/ini.hpp>
#include <common/text.hpp>

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "errors.hpp"

namespace patching::client {

namespace {

using common::trim;

std::optional<double> parse_seconds(std::string_view text) {
    std::string copy(trim(text));
    if (copy.empty()) {
        return std::nullopt;
    }
    char* end = nullptr;
    errno = 0;
    double value = std::strtod(copy.c_str(), &end);
    if (errno != 0 || end == nullptr || *end != '\0' || !std::isfinite(value) || value < 0) {
        return std::nullopt;
    }
    return value;
}

std::optional<std::string> read_small_file(const std::filesystem::path& path, int* error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        *error = errno;
        return std::nullopt;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string normalise_url(const std::string& url, const std::string& origin) {
    std::string value(trim(url));
    if (value.rfind("http://", 0) != 0 && value.rfind("https://", 0) != 0) {
        throw ConfigError(
            "controller URL from " + origin + " must start with http:// or https://: \"" + value +
            "\"");
    }
    while (!value.empty() && value.back() == '/') {
        value.pop_back();
    }
    return value;
}

bool path_exists(const std::filesystem::path& path) {
    std::error_code ec;
    return std::filesystem::exists(path, ec);
}

// A token file the user did not name explicitly: used if readable, otherwise remembered for the
// message shown if the controller then asks for a token.
void try_implicit_token_file(const std::filesystem::path& path, Settings& settings) {
    if (!path_exists(path)) {
        return;
    }
    if (::access(path.c_str(), R_OK) != 0) {
        settings.token_hint = "the token file " + path.string() +
                              " exists but you cannot read it (" + std::strerror(errno) +
                              "): run as root or set SW_PATCH_TOKEN";
        return;
    }
    settings.token = read_token_file(path);
    settings.token_source = path.string();
}

}  // namespace

Environment system_environment() {
    Environment env;
    env.getenv = [](const std::string& name) -> std::optional<std::string> {
        const char* value = std::getenv(name.c_str());
        if (value == nullptr) {
            return std::nullopt;
        }
        return std::string(value);
    };
    return env;
}

ConfigFile parse_config(std::string_view text, const std::string& origin) {
    ConfigFile config;
    common::ini::Schema schema;
    schema.section("")
        .text("controller", config.controller)
        .text("token_file", config.token_file)
        .text("ca_file", config.ca_file)
        .custom("timeout", [&config](const common::ini::Entry& e, const std::string& where) {
            config.timeout = parse_seconds(e.value);
            if (!config.timeout) {
                throw ConfigError(
                    where + ": timeout must be a number of seconds (0 for none), got \"" + e.value +
                    "\"");
            }
        });
    // sw-patch.conf: "key = value" lines, '#' comments, optional double quotes, no sections;
    // a key given twice counts once, the last time.
    const common::ini::Syntax syntax{.comment_chars = "#", .strip_quotes = true, .last_duplicate_wins = true};
    try {
        schema.apply(common::ini::Document::parse(text, origin, syntax));
    } catch (const common::ini::Error& e) {
        throw ConfigError(e.what());
    }
    return config;
}

std::string read_token_file(const std::filesystem::path& path) {
    int error = 0;
    auto text = read_small_file(path, &error);
    if (!text) {
        std::string why = std::strerror(error);
        if (error == EACCES) {
            why += ": run as root or set SW_PATCH_TOKEN";
        }
        throw ConfigError("cannot read the token file " + path.string() + ": " + why);
    }
    std::string_view first(*text);
    first = first.substr(0, first.find('\n'));
    std::string token(trim(first));
    if (token.empty()) {
        throw ConfigError("the token file " + path.string() + " is empty");
    }
    return token;
}

Settings resolve_settings(const ConnectionFlags& flags, const Environment& env) {
    auto getenv = [&env](const char* name) -> std::optional<std::string> {
        if (!env.getenv) {
            return std::nullopt;
        }
        auto value = env.getenv(name);
        if (value && value->empty()) {
            return std::nullopt;
        }
        return value;
    };

    ConfigFile config;
    std::string config_origin;
    if (auto explicit_path = getenv("SW_PATCH_CONFIG")) {
        int error = 0;
        auto text = read_small_file(*explicit_path, &error);
        if (!text) {
            throw ConfigError(
                "cannot read the config file " + *explicit_path +
                " (from SW_PATCH_CONFIG): " + std::strerror(error));
        }
        config_origin = *explicit_path;
        config = parse_config(*text, config_origin);
    } else if (path_exists(env.default_config)) {
        int error = 0;
        // An unreadable system config is skipped: it may be root-only, and the defaults or the
        // environment may be all this user needs.
        if (auto text = read_small_file(env.default_config, &error)) {
            config_origin = env.default_config.string();
            config = parse_config(*text, config_origin);
        }
    }

    Settings settings;
    if (!flags.controller.empty()) {
        settings.controller = normalise_url(flags.controller, "--controller");
    } else if (auto value = getenv("SW_PATCH_CONTROLLER")) {
        settings.controller = normalise_url(*value, "SW_PATCH_CONTROLLER");
    } else if (config.controller) {
        settings.controller = normalise_url(*config.controller, config_origin);
    }

    if (!flags.token_file.empty()) {
        settings.token = read_token_file(flags.token_file);
        settings.token_source = flags.token_file;
    } else if (auto value = getenv("SW_PATCH_TOKEN"); value && !trim(*value).empty()) {
        settings.token = std::string(trim(*value));
        settings.token_source = "SW_PATCH_TOKEN";
    } else if (auto path = getenv("SW_PATCH_TOKEN_FILE")) {
        settings.token = read_token_file(*path);
        settings.token_source = *path;
    } else if (config.token_file) {
        try_implicit_token_file(*config.token_file, settings);
    } else {
        try_implicit_token_file(env.default_token_file, settings);
    }

    if (config.ca_file) {
        settings.ca_file = *config.ca_file;
    }
    if (config.timeout) {
        settings.timeout_s = *config.timeout;
    }
    if (auto value = getenv("SW_PATCH_POLL_INTERVAL")) {
        auto seconds = parse_seconds(*value);
        if (!seconds) {
            throw ConfigError(
                "SW_PATCH_POLL_INTERVAL must be a number of seconds, got \"" + *value + "\"");
        }
        settings.poll_interval_s = *seconds;
    }
    return settings;
}

std::optional<std::string> running_release(const std::filesystem::path& build_info) {
    int error = 0;
    auto text = read_small_file(build_info, &error);
    if (!text) {
        return std::nullopt;
    }
    std::istringstream in(*text);
    std::string line;
    while (std::getline(in, line)) {
        std::string_view view = trim(line);
        if (view.rfind("SW_VERSION", 0) != 0) {
            continue;
        }
        auto eq = view.find('=');
        if (eq == std::string_view::npos || trim(view.substr(0, eq)) != "SW_VERSION") {
            continue;
        }
        std::string_view value = trim(view.substr(eq + 1));
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
            value.back() == value.front()) {
            value = value.substr(1, value.size() - 2);
        }
        if (!value.empty()) {
            return std::string(value);
        }
    }
    return std::nullopt;
}

}  // namespace patching::client
