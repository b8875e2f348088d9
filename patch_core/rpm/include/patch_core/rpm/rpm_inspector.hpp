// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <patch_core/patch_file.hpp>
#include <patch_core/rpm/package.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace patching::rpm {

/// Checks, during read_patch's single pass, that every software.tar member is a binary RPM
/// whose header (name, version, release, arch) matches its file name. Only the first bytes of
/// each member are buffered (growing up to `max_header_bytes` for RPMs with huge headers), so
/// memory stays bounded for any package size.
class RpmHeaderInspector : public core::SoftwareInspector {
public:
    explicit RpmHeaderInspector(size_t max_header_bytes = 32U << 20U) : max_header_(max_header_bytes) {}

    void begin_member(const std::string& name, std::uint64_t size) override;
    void member_data(std::span<const std::byte> data) override;
    void end_member() override;

    /// Member name -> package identity, for every member that passed.
    const std::map<std::string, PackageInfo>& packages() const { return packages_; }

private:
    bool try_parse();

    size_t max_header_;
    std::string name_;
    std::uint64_t size_ = 0;
    std::vector<std::byte> buffer_;
    size_t next_attempt_ = 0;
    bool done_ = false;
    std::string last_error_;
    std::map<std::string, PackageInfo> packages_;
};

}  // namespace patching::rpm
