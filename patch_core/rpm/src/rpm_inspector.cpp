// SPDX-License-Identifier: Apache-2.0
#include <patch_core/rpm/rpm_inspector.hpp>

#include <algorithm>

namespace patching::rpm {

namespace {
constexpr size_t FIRST_ATTEMPT = 256U << 10U;  // holds the header of nearly every real package
}

void RpmHeaderInspector::begin_member(const std::string& name, std::uint64_t size) {
    name_ = name;
    size_ = size;
    buffer_.clear();
    next_attempt_ = static_cast<size_t>(std::min<std::uint64_t>(FIRST_ATTEMPT, size));
    done_ = false;
    last_error_.clear();
}

bool RpmHeaderInspector::try_parse() {
    PrefixResult r = read_package_prefix(buffer_, name_);
    if (!r.info) {
        last_error_ = r.error;
        return false;
    }
    const PackageInfo& info = *r.info;
    if (info.is_source) {
        throw core::PatchFileError("software.tar member \"" + name_ + "\" is a source RPM; patches carry binary RPMs");
    }
    if (info.file_name() != name_) {
        throw core::PatchFileError("software.tar member \"" + name_ + "\" holds package " + info.nevra() +
                                   ", whose file name would be " + info.file_name());
    }
    packages_[name_] = info;
    done_ = true;
    buffer_.clear();
    buffer_.shrink_to_fit();
    return true;
}

void RpmHeaderInspector::member_data(std::span<const std::byte> data) {
    while (!done_ && !data.empty()) {
        size_t take = std::min(data.size(), next_attempt_ - buffer_.size());
        buffer_.insert(buffer_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
        data = data.subspan(take);
        if (buffer_.size() < next_attempt_) {
            return;
        }
        if (try_parse()) {
            return;
        }
        if (buffer_.size() >= max_header_ || buffer_.size() >= size_) {
            throw core::PatchFileError("software.tar member \"" + name_ + "\" is not a valid RPM: " + last_error_);
        }
        next_attempt_ = static_cast<size_t>(
            std::min<std::uint64_t>({next_attempt_ * 8, max_header_, size_}));
    }
}

void RpmHeaderInspector::end_member() {
    if (!done_ && (buffer_.empty() || !try_parse())) {
        throw core::PatchFileError("software.tar member \"" + name_ + "\" is not a valid RPM: " +
                                   (last_error_.empty() ? "empty file" : last_error_));
    }
}

}  // namespace patching::rpm
