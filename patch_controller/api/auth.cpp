// SPDX-License-Identifier: Apache-2.0
#include "api/auth.hpp"

#include <common/log.hpp>
#include <common/text.hpp>

#include <patch_core/errors.hpp>
#include <patch_core/fs.hpp>
#include <signing/digest.hpp>

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <mutex>
#include <sstream>

namespace patching::controller {

const char* to_string(Role role) {
    switch (role) {
    case Role::ADMIN:
        return "admin";
    case Role::READER:
        return "reader";
    case Role::METRICS:
        return "metrics";
    }
    return "reader";
}

namespace {

std::string trimmed(std::string_view s) {
    return std::string(common::trim(s));
}

std::string sha256_hex(const std::string& token) {
    signing::Sha256 sha;
    sha.update({reinterpret_cast<const std::byte*>(token.data()), token.size()});
    auto digest = sha.finish();
    return signing::to_hex(digest);
}

std::string random_token() {
    std::array<std::uint8_t, 32> bytes{};
    size_t got = 0;
    while (got < bytes.size()) {
        ssize_t n = ::getrandom(bytes.data() + got, bytes.size() - got, 0);
        if (n < 0) {
            throw core::SystemError(errno, "getrandom failed while creating a token");
        }
        got += static_cast<size_t>(n);
    }
    return signing::to_hex(bytes);
}

}  // namespace

Authenticator::Authenticator(const ControllerConfig& config) : config_(config) {
    std::error_code ec;
    if (!std::filesystem::exists(config.local_token_file, ec)) {
        std::filesystem::create_directories(config.local_token_file.parent_path(), ec);
        core::write_file_atomically(config.local_token_file, random_token() + "\n", 0600);
    }
    local_hash_ = sha256_hex(trimmed(core::read_small_file(config.local_token_file, 4096)));
    reload_if_changed();
}

void Authenticator::reload_if_changed() {
    std::error_code ec;
    auto mtime = std::filesystem::last_write_time(config_.tokens_file, ec);
    if (ec) {
        by_hash_.clear();  // no tokens file: only the local token
    } else if (mtime == tokens_mtime_ && !by_hash_.empty()) {
        return;
    } else {
        std::map<std::string, Caller> loaded;
        std::istringstream in(core::read_small_file(config_.tokens_file, 4U << 20U));
        std::string line;
        int number = 0;
        while (std::getline(in, line)) {
            ++number;
            line = trimmed(line.substr(0, line.find('#')));
            if (line.empty()) {
                continue;
            }
            std::istringstream fields(line);
            std::string name;
            std::string role;
            std::string hash;
            if (!(fields >> name >> role >> hash) || (role != "admin" && role != "reader" && role != "metrics") ||
                hash.size() != 64) {
                // One bad line must not lock everybody out: skip it, loudly.
                common::log::warning(config_.tokens_file.string() + ":" + std::to_string(number) +
                                     ": ignored, expected \"NAME admin|reader|metrics SHA256HEX\"");
                continue;
            }
            loaded[hash] = Caller{name, role == "admin"    ? Role::ADMIN
                                        : role == "reader" ? Role::READER
                                                           : Role::METRICS};
        }
        by_hash_ = std::move(loaded);
        tokens_mtime_ = mtime;
    }
    by_hash_[local_hash_] = Caller{"local-root", Role::ADMIN};
}

std::optional<Caller> Authenticator::authenticate(const HttpRequest& request) {
    std::lock_guard lock(mutex_);
    reload_if_changed();
    auto it = request.headers.find("authorization");
    if (it != request.headers.end() && it->second.rfind("Bearer ", 0) == 0) {
        auto found = by_hash_.find(sha256_hex(trimmed(it->second.substr(7))));
        if (found != by_hash_.end()) {
            return found->second;
        }
        return std::nullopt;  // a wrong token is refused even where anonymous access is allowed
    }
    if (request.loopback && config_.allow_unauthenticated_local) {
        return Caller{"local-unauthenticated", Role::ADMIN};
    }
    return std::nullopt;
}

std::string Authenticator::add_token(const std::filesystem::path& tokens_file, const std::string& name, Role role) {
    if (name.empty() || name.find_first_of(" \t\n#") != std::string::npos) {
        throw core::Error("token name must be one word without '#'");
    }
    std::string token = random_token();
    std::string existing;
    struct stat before {};
    const bool existed = ::stat(tokens_file.c_str(), &before) == 0;
    if (existed) {
        existing = core::read_small_file(tokens_file, 4U << 20U);
        if (!existing.empty() && existing.back() != '\n') {
            existing += '\n';
        }
    }
    existing += name + " " + to_string(role) + " " + sha256_hex(token) + "\n";
    core::write_file_atomically(tokens_file, existing, existed ? (before.st_mode & 07777U) : 0600U);
    // Keep the owner and group the file had: packages make it root:patching 0640 so that the
    // daemon (user patching) reads what root's add-token writes.
    if (existed && ::chown(tokens_file.c_str(), before.st_uid, before.st_gid) != 0) {
        throw core::SystemError(errno, "token added, but cannot restore the owner of", tokens_file);
    }
    return token;
}

}  // namespace patching::controller
