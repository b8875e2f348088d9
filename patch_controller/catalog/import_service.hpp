// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "catalog/controller_state.hpp"
#include "catalog/patch_files.hpp"
#include "catalog/publishing.hpp"
#include <patch_core/clock.hpp>
#include "config.hpp"
#include "service/errors.hpp"

#include <signing/trust_store.hpp>

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace patching::controller {

/// A streamed upload: the HTTP body, read as it arrives.
struct UploadRequest {
    /// Where to store the body (a fresh private path; the caller deletes it afterwards).
    std::filesystem::path patch_file;
    /// Reads the next body bytes, 0 at the end; throws if the client goes away.
    std::function<std::size_t(char*, std::size_t)> read_body;
};

/// Brings patches into the catalog (spec §3.4 import): verifies the signed .patch, checks the
/// release and RPM rules against the base feed and the other patches, places the RPMs and
/// semantic scripts, then commits the patch in one store transaction. A re-import of a known
/// patch updates its metadata only.
///
/// Thread-safe: receiving and verifying run without the operation lock (a slow upload does not
/// hold up apply or remove); only the import itself takes it.
class ImportService {
public:
    ImportService(const ControllerConfig& config, ControllerState& state, Store& store, const PatchFiles& files,
                  Publishing& publishing, const signing::TrustStore& trust, const core::Clock& clock)
        : config_(config), state_(state), store_(store), files_(files), publishing_(publishing), trust_(trust),
          clock_(clock) {}

    /// Stores and verifies the upload as it arrives, then imports it.
    /// @throws InvalidRequest (bad name, failed upload), InvalidPatch (verification),
    ///         Conflict (release not installed, RPM rules, contents differ from the known patch).
    OpReport upload(const UploadRequest& request);
    /// Imports every *.patch of the controller's absolute directories `dirs`, in name order;
    /// failures of some do not stop the others (they are reported together, first kind wins).
    /// Only directories under config.import_roots are read (InvalidRequest otherwise).
    OpReport upload_dir(const std::vector<std::string>& dirs);

private:
    /// True if the resolved path `real` is one of the import roots or inside one.
    bool under_import_roots(const std::filesystem::path& real) const;
    OpReport import_one(const std::filesystem::path& patch_file, const UploadRequest* upload);
    /// The release and RPM rules; returns the reference's error lines. REQUIRES: operation_mutex.
    std::vector<std::string> check_import(const core::PatchMetadata& md, const std::vector<StoredRpm>& rpms);

    const ControllerConfig& config_;
    ControllerState& state_;
    Store& store_;
    const PatchFiles& files_;
    Publishing& publishing_;
    const signing::TrustStore& trust_;
    const core::Clock& clock_;
};

}  // namespace patching::controller
