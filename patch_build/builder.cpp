// SPDX-License-Identifier: Apache-2.0
#include "builder.hpp"

#include <patch_core/errors.hpp>
#include <patch_core/fs.hpp>
#include <patch_core/metadata.hpp>
#include <patch_core/patch_id.hpp>
#include <patch_core/rpm/package.hpp>
#include <signing/keys.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <set>

namespace patching::build {

using core::BuildError;

namespace {

// Metadata text goes verbatim into XML, so it must be valid UTF-8 without control characters
// other than tab and newline (XML 1.0 forbids most of them); the reader applies the same rule.
void check_text(const std::string& option, const std::optional<std::string>& value) {
    if (value) {
        if (auto problem = core::metadata_text_problem(*value)) {
            throw BuildError(option + " " + *problem);
        }
    }
}

std::uint64_t regular_file_size(const std::filesystem::path& path, const std::string& what) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        throw BuildError(what + " " + path.string() + " does not exist or cannot be read: " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        throw BuildError(what + " " + path.string() + " is not a regular file");
    }
    return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace

BuildPlan plan_build(const BuildRequest& r) {
    if (auto problem = core::patch_id_problem(r.id)) {
        throw BuildError("invalid --id \"" + r.id + "\": " + *problem);
    }
    if (r.release.empty()) {
        throw BuildError("The release version must be specified: use --release or set PLATFORM_RELEASE");
    }
    if (auto problem = core::release_problem(r.release)) {
        throw BuildError("invalid --release \"" + r.release + "\": " + *problem);
    }
    if (r.reboot_required && *r.reboot_required != "Y" && *r.reboot_required != "N") {
        throw BuildError("The --reboot-required option requires either Y or N as argument.");
    }
    for (const auto& req : r.required_patches) {
        if (auto problem = core::patch_id_problem(req)) {
            throw BuildError("invalid --req \"" + req + "\": " + *problem);
        }
        if (req == r.id) {
            throw BuildError("--req " + req + ": a patch cannot require itself");
        }
    }
    check_text("--summary", r.summary);
    check_text("--desc", r.description);
    check_text("--warn", r.warnings);
    check_text("--inst", r.install_instructions);
    check_text("--status", r.status);

    BuildPlan plan;
    core::PatchMetadata& m = plan.metadata;
    m.id = r.id;
    m.sw_version = r.release;
    m.summary = r.summary;
    m.description = r.description;
    m.install_instructions = r.install_instructions;
    m.warnings = r.warnings;
    m.status = r.status;
    m.unremovable = r.unremovable ? std::optional<std::string>("Y") : std::nullopt;
    m.reboot_required = r.reboot_required;
    m.apply_active_release_only = r.apply_active_release_only ? std::optional<std::string>("Y") : std::nullopt;
    m.required_patches = r.required_patches;
    std::sort(m.required_patches.begin(), m.required_patches.end());
    m.required_patches.erase(std::unique(m.required_patches.begin(), m.required_patches.end()),
                             m.required_patches.end());

    // Each RPM once, in command-line order (personality options first, as the reference's
    // getopt loop sees them, then positionals); the same path twice is the same package.
    std::map<std::filesystem::path, rpm::PackageInfo> by_path;
    std::map<std::string, std::filesystem::path> by_member;
    std::map<std::string, std::filesystem::path> by_name_arch;
    auto add_rpm = [&](const std::filesystem::path& given) -> const rpm::PackageInfo& {
        std::filesystem::path path = std::filesystem::absolute(given).lexically_normal();
        if (auto it = by_path.find(path); it != by_path.end()) {
            return it->second;
        }
        std::uint64_t size = regular_file_size(path, "RPM");
        rpm::PackageInfo info = rpm::read_package_file(path);
        if (info.is_source) {
            throw BuildError(path.string() + " is a source RPM; a patch carries binary RPMs");
        }
        std::string member = path.filename().string();
        if (member != info.file_name()) {
            throw BuildError(path.string() + " holds " + info.nevra() + "; rename the file to " + info.file_name() +
                             " (the controller identifies packages by file name)");
        }
        if (auto it = by_member.find(member); it != by_member.end()) {
            throw BuildError("duplicate package " + member + ": given as " + it->second.string() + " and " +
                             path.string());
        }
        std::string name_arch = info.name + "." + info.arch;
        if (auto it = by_name_arch.find(name_arch); it != by_name_arch.end()) {
            throw BuildError("duplicate package " + name_arch + ": " + it->second.filename().string() + " and " +
                             member + " (a patch carries one version of each package)");
        }
        if (size > (8ULL << 30U) - 1) {
            throw BuildError(path.string() + " is larger than 8 GiB, the tar format's limit");
        }
        by_member[member] = path;
        by_name_arch[name_arch] = path;
        plan.rpms.push_back({path, member, size});
        m.contents.push_back(member);
        return by_path.emplace(path, info).first->second;
    };
    for (const auto& [personality, paths] : r.personality_rpms) {
        const auto& known = core::known_personalities();
        if (std::find(known.begin(), known.end(), personality) == known.end()) {
            throw BuildError("unknown personality " + personality);
        }
        for (const auto& path : paths) {
            const rpm::PackageInfo& info = add_rpm(path);
            auto& packages = m.personalities[personality];
            if (std::find(packages.begin(), packages.end(), info.name) == packages.end()) {
                packages.push_back(info.name);
            }
        }
    }
    for (const auto& path : r.other_rpms) {
        add_rpm(path);
    }
    if (plan.rpms.empty()) {
        throw BuildError("Cannot generate empty patch: give at least one RPM");
    }

    for (const auto& [action, script] : {std::pair{"pre-apply", r.pre_apply}, std::pair{"pre-remove", r.pre_remove}}) {
        if (!script) {
            continue;
        }
        regular_file_size(*script, std::string("--") + action + " script");
        plan.semantics.push_back({std::string(action) + "/" + r.id, core::read_small_file(*script, 4U << 20U), 0755});
        m.semantics.emplace_back(action);
    }

    std::error_code ec;
    if (!std::filesystem::is_directory(r.output_dir, ec)) {
        throw BuildError("output directory " + r.output_dir.string() + " does not exist");
    }
    plan.output = r.output_dir / (r.id + ".patch");
    plan.mtime = r.source_date_epoch.value_or(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
    return plan;
}

void write_planned_patch(const BuildPlan& plan, const signing::PrivateKey& key, const core::ProgressFn& progress) {
    std::string metadata_tar =
        core::make_inner_tar({{"metadata.xml", core::to_metadata_xml(plan.metadata), 0644}}, plan.mtime);
    core::PatchWriter writer({plan.output, key, plan.mtime, progress});
    writer.add_metadata_tar(metadata_tar);
    writer.add_software_from_files(plan.rpms);
    if (!plan.semantics.empty()) {
        writer.add_semantics_tar(core::make_inner_tar(plan.semantics, plan.mtime));
    }
    writer.commit();
}

std::filesystem::path build_patch(const BuildRequest& request) {
    if (request.sign_key.empty()) {
        throw BuildError("no signing key: give --sign-key KEY.pem (or set PATCH_SIGNING_KEY)");
    }
    signing::PrivateKey key = signing::PrivateKey::load_pem(request.sign_key);
    if (request.cert) {
        signing::Certificate cert = signing::Certificate::load_pem(*request.cert);
        if (!cert.matches(key)) {
            throw BuildError("--cert " + request.cert->string() + " does not belong to --sign-key " +
                             request.sign_key.string());
        }
    }
    BuildPlan plan = plan_build(request);
    write_planned_patch(plan, key, request.progress);
    return plan.output;
}

}  // namespace patching::build
