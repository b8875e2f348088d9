// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "signing/digest.hpp"

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace patching::signing {

/// HMAC-SHA256 of `data` under `key` (RFC 2104). Used to authenticate controller <-> agent
/// messages with per-host keys.
Sha256Digest hmac_sha256(std::span<const std::byte> key, std::string_view data);

/// Compares two byte strings in time independent of where they differ, so a forger cannot
/// learn a MAC byte by byte from response times. Different lengths compare unequal.
bool equal_constant_time(std::string_view a, std::string_view b);

/// `count` bytes from OpenSSL's CSPRNG. @throws Error if the generator cannot be seeded.
std::string random_bytes(std::size_t count);

}  // namespace patching::signing
