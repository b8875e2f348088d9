// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <stdexcept>
#include <string>

// sw_patch deliberately does not link patch_core (which pulls in signing), so its failures have
// their own small tree; main() turns any of them into "Error: <message>" and exit code 1.
namespace patching::client {

/// Root of every failure sw-patch reports. The message is for people: it says what failed and,
/// where possible, what to do about it.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what) : std::runtime_error(what) {}
};

/// The configuration (config file, environment, flags or token file) is unusable.
class ConfigError : public Error {
    using Error::Error;
};

/// A request could not be completed at the transport level (TLS, timeout, reset...).
class TransportError : public Error {
    using Error::Error;
};

/// The controller could not be reached at all (connection refused, unknown host). A subclass of
/// TransportError so that retry loops can treat both alike.
class ConnectionError : public TransportError {
    using TransportError::TransportError;
};

/// The controller refused the credentials (HTTP 401) or the role (HTTP 403).
class AuthError : public Error {
public:
    AuthError(long status, const std::string& what) : Error(what), status_(status) {}
    long status() const { return status_; }

private:
    long status_;
};

/// The controller answered with something that is not the documented protocol (e.g. not JSON).
class ProtocolError : public Error {
    using Error::Error;
};

/// Arguments that CLI11 accepts but that make no sense together; exits with ExitCode::USAGE.
class UsageError : public Error {
    using Error::Error;
};

}  // namespace patching::client
