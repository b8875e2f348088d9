// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <patch_core/errors.hpp>

#include <string>
#include <utility>
#include <vector>

namespace patching::controller {

/// What an operation reports when it succeeds, and what it had already done when it fails:
/// the reference's info and warning lines, in order.
struct OpReport {
    std::vector<std::string> info;
    std::vector<std::string> warnings;

    void add_info(std::string line) { info.push_back(std::move(line)); }
    void add_warning(std::string line) { warnings.push_back(std::move(line)); }
    void merge(const OpReport& other) {
        info.insert(info.end(), other.info.begin(), other.info.end());
        warnings.insert(warnings.end(), other.warnings.begin(), other.warnings.end());
    }
};

/// Why a service refused or failed an operation. The API layer alone turns a kind into an
/// HTTP status (api/rest_mapping.cpp); services never know one.
enum class ErrorKind {
    INVALID,        ///< The request itself is malformed (bad argument, missing name).
    INVALID_PATCH,  ///< An uploaded patch failed verification.
    NOT_FOUND,      ///< An ID or host the request names does not exist.
    CONFLICT,       ///< A rule refuses it in the current state (dependencies, committed, ...).
    BUSY,           ///< Too much is running; retry later.
    INTERNAL,       ///< The operation failed half way (repository publishing); see the log.
};

/// The root of the controller's service errors. Carries the reference's error lines (each
/// shown on its own line to the operator) and the report of what had been done before the
/// failure, which the reference shows alongside the error.
class ServiceError : public core::Error {
public:
    ServiceError(ErrorKind kind, std::vector<std::string> lines, OpReport partial = {})
        : core::Error(join(lines)), kind_(kind), lines_(std::move(lines)), partial_(std::move(partial)) {}
    ServiceError(ErrorKind kind, std::string line, OpReport partial = {})
        : ServiceError(kind, std::vector<std::string>{std::move(line)}, std::move(partial)) {}

    ErrorKind kind() const { return kind_; }
    /// The error lines (never empty), without newlines at their ends.
    const std::vector<std::string>& lines() const { return lines_; }
    const OpReport& partial() const { return partial_; }

private:
    static std::string join(const std::vector<std::string>& lines) {
        std::string text;
        for (const auto& line : lines) {
            text += (text.empty() ? "" : "\n") + line;
        }
        return text;
    }

    ErrorKind kind_;
    std::vector<std::string> lines_;
    OpReport partial_;
};

/// The request is malformed.
class InvalidRequest : public ServiceError {
public:
    explicit InvalidRequest(std::string line) : ServiceError(ErrorKind::INVALID, std::move(line)) {}
};

/// The request is malformed in one named field (the resource API names it in its error body).
class InvalidField : public InvalidRequest {
public:
    InvalidField(std::string field, std::string line) : InvalidRequest(std::move(line)), field_(std::move(field)) {}
    const std::string& field() const { return field_; }

private:
    std::string field_;
};

/// An uploaded patch failed verification.
class InvalidPatch : public ServiceError {
public:
    explicit InvalidPatch(std::string line) : ServiceError(ErrorKind::INVALID_PATCH, std::move(line)) {}
};

/// Something the request names does not exist.
class NotFound : public ServiceError {
public:
    explicit NotFound(std::vector<std::string> lines, OpReport partial = {})
        : ServiceError(ErrorKind::NOT_FOUND, std::move(lines), std::move(partial)) {}
    explicit NotFound(std::string line) : ServiceError(ErrorKind::NOT_FOUND, std::move(line)) {}
};

/// A rule refuses the operation in the current state.
class Conflict : public ServiceError {
public:
    explicit Conflict(std::vector<std::string> lines, OpReport partial = {})
        : ServiceError(ErrorKind::CONFLICT, std::move(lines), std::move(partial)) {}
    explicit Conflict(std::string line) : ServiceError(ErrorKind::CONFLICT, std::move(line)) {}
};

/// Too much is running; the caller should retry.
class Busy : public ServiceError {
public:
    explicit Busy(std::string line) : ServiceError(ErrorKind::BUSY, std::move(line)) {}
};

/// The operation failed after it had changed state (a repository could not be published).
class OperationFailed : public ServiceError {
public:
    OperationFailed(std::vector<std::string> lines, OpReport partial)
        : ServiceError(ErrorKind::INTERNAL, std::move(lines), std::move(partial)) {}
};

}  // namespace patching::controller
