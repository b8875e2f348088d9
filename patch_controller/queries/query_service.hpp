// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "catalog/controller_state.hpp"
#include "service/errors.hpp"

#include <patch_core/rest.hpp>

#include <string>
#include <vector>

namespace patching::controller {

/// Which patches a query lists.
struct QueryRequest {
    std::string show;     ///< "", "all", "available", "applied" or "committed"
    std::string release;  ///< "" = every release
};

/// The read-only views of the catalog (query, show, dependencies, what-requires, is-applied),
/// in the reference's shapes as patch_core's typed REST replies. Takes only the shared lock:
/// never waits for an operation. Thread-safe.
class QueryService {
public:
    explicit QueryService(const ControllerState& state) : state_(state) {}

    core::rest::QueryReply query(const QueryRequest& request) const;
    /// Unknown IDs are listed in the reply's error, not thrown.
    core::rest::ShowReply show(std::vector<std::string> ids) const;
    core::rest::DependenciesReply query_dependencies(std::vector<std::string> ids, bool recursive) const;
    /// Which patches require each of `ids`. @throws NotFound (with the lines for known IDs).
    OpReport what_requires(std::vector<std::string> ids) const;
    core::rest::AppDependenciesReply app_dependencies() const;
    /// True if every ID exists and its patch state is exactly `state` (is-applied, is-available).
    bool all_in_state(const std::vector<std::string>& ids, const std::string& state) const;

private:
    /// REQUIRES: state_.mutex held.
    core::rest::PatchEntry entry(const std::string& id, const CatalogPatch& p) const;

    const ControllerState& state_;
};

}  // namespace patching::controller
