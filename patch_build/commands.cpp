// SPDX-License-Identifier: Apache-2.0
#include "commands.hpp"

#include "builder.hpp"
#include "trust_options.hpp"

#include <patch_core/errors.hpp>
#include <patch_core/patch_file.hpp>
#include <patch_core/rpm/rpm_inspector.hpp>
#include <signing/keys.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>

namespace patching::build {

namespace {

// A one-line progress display on a terminal, for inputs big enough to make people wait.
core::ProgressFn terminal_progress(const std::string& label) {
    if (::isatty(STDERR_FILENO) == 0) {
        return {};
    }
    auto last_percent = std::make_shared<int>(-1);
    return [label, last_percent](std::uint64_t done, std::uint64_t total) {
        if (total < (32U << 20U)) {
            return;
        }
        int percent = static_cast<int>(done * 100 / total);
        if (percent == *last_percent) {
            return;
        }
        *last_percent = percent;
        std::fprintf(stderr, "\r%s: %3d%% (%llu/%llu MiB)%s", label.c_str(), percent,
                     static_cast<unsigned long long>(done >> 20U), static_cast<unsigned long long>(total >> 20U),
                     done >= total ? "\n" : "");
    };
}

std::optional<std::int64_t> source_date_epoch() {
    const char* value = std::getenv("SOURCE_DATE_EPOCH");
    if (value == nullptr || *value == '\0') {
        return std::nullopt;
    }
    char* end = nullptr;
    long long parsed = std::strtoll(value, &end, 10);
    if (*end != '\0' || parsed < 0) {
        throw core::BuildError(std::string("SOURCE_DATE_EPOCH=\"") + value + "\" is not a non-negative integer");
    }
    return parsed;
}

std::filesystem::path default_key() {
    const char* env = std::getenv("PATCH_SIGNING_KEY");
    return env != nullptr ? std::filesystem::path(env) : std::filesystem::path();
}

core::VerifiedPatch verify_with_rpm_checks(const std::filesystem::path& path, const signing::TrustStore& trust,
                                           bool verify_signature = true) {
    rpm::RpmHeaderInspector inspector;
    core::ReadOptions options;
    options.inspector = &inspector;
    options.verify_signature = verify_signature;
    options.progress = terminal_progress("Verifying " + path.filename().string());
    return core::read_patch(path, trust, options);
}

std::string describe_signer(const signing::VerifyResult& r) {
    if (!r.signer) {
        return "no signer";
    }
    return r.signer->subject() + " (" + signing::to_string(r.cert_class) + " certificate, SHA-256 " +
           r.signer->fingerprint_sha256() + ", " + (r.scheme == signing::SignatureScheme::PSS ? "RSA-PSS" : "PKCS#1 v1.5") +
           ")";
}

// Writes a copy of `patch` with a new metadata.tar (or the same one) and a fresh signature,
// software.tar and semantics.tar copied byte for byte; replaces the file atomically.
void rewrite_patch(const core::VerifiedPatch& patch, const std::string& metadata_tar, const signing::PrivateKey& key) {
    core::PatchWriter writer({patch.path, key, source_date_epoch().value_or(std::time(nullptr)),
                              terminal_progress("Writing " + patch.path.filename().string())});
    writer.add_metadata_tar(metadata_tar);
    writer.add_software_from_patch(patch.path, patch.software_tar_size);
    if (patch.has_semantics) {
        writer.add_semantics_tar(patch.semantics_tar);
    }
    writer.commit();
}

}  // namespace

void setup_build(CLI::App& app) {
    auto req = std::make_shared<BuildRequest>();
    req->release = std::getenv("PLATFORM_RELEASE") != nullptr ? std::getenv("PLATFORM_RELEASE") : "";
    req->sign_key = default_key();
    auto rr = std::make_shared<std::string>();
    app.add_option("--id", req->id, "Patch ID (mandatory); the output is <ID>.patch");
    app.add_option("--release", req->release, "Release (sw_version); default $PLATFORM_RELEASE");
    app.add_option("--status", req->status, "Status: DEV, REL or OBS");
    app.add_flag("--unremovable", req->unremovable, "Mark the patch unremovable");
    app.add_option("--reboot-required", *rr, "Y or N (default Y)");
    app.add_option("--summary", req->summary, "Summary");
    app.add_option("--desc", req->description, "Description");
    app.add_option("--warn", req->warnings, "Warnings");
    app.add_option("--inst", req->install_instructions, "Install instructions");
    app.add_option("--req", req->required_patches, "Required patch ID (repeatable)")->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    for (const auto& personality : core::known_personalities()) {
        app.add_option("--" + personality, req->personality_rpms[personality],
                       "RPM for " + personality + " hosts (repeatable)")
            ->allow_extra_args(false)
            ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    }
    auto all_nodes = std::make_shared<std::vector<std::filesystem::path>>();
    app.add_option("--all-nodes", *all_nodes, "RPM for every personality (repeatable)")
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app.add_option("--pre-apply", req->pre_apply, "Semantic check script run before apply");
    app.add_option("--pre-remove", req->pre_remove, "Semantic check script run before remove");
    app.add_flag("--apply-active-release-only", req->apply_active_release_only,
                 "Refuse to apply during an upgrade to another release");
    app.add_option("--sign-key", req->sign_key, "PEM RSA private key to sign with (default $PATCH_SIGNING_KEY)");
    app.add_option("--cert", req->cert, "Certificate of the signing key, checked to match it");
    app.add_option("-o,--output-dir", req->output_dir, "Directory for <ID>.patch (default: current directory)");
    app.add_option("rpms", req->other_rpms, "RPMs in the patch without a personality");
    app.callback([&app, req, rr, all_nodes] {
        if (!app.get_subcommands().empty()) {
            return;
        }
        if (req->id.empty()) {
            throw CLI::ValidationError("--id", "The --id argument is mandatory.");
        }
        if (!rr->empty()) {
            req->reboot_required = *rr;
        }
        for (const auto& personality : core::known_personalities()) {
            auto& list = req->personality_rpms[personality];
            list.insert(list.end(), all_nodes->begin(), all_nodes->end());
        }
        std::erase_if(req->personality_rpms, [](const auto& kv) { return kv.second.empty(); });
        req->source_date_epoch = source_date_epoch();
        req->progress = terminal_progress("Building " + req->id + ".patch");
        std::filesystem::path out = build_patch(*req);
        std::cout << "Patch is " << out.string() << "\n";
    });
}

void setup_verify(CLI::App& app) {
    auto cmd = app.add_subcommand("verify", "Verify patch files: integrity, signature, structure and RPM headers");
    auto trust = std::make_shared<TrustArgs>();
    auto files = std::make_shared<std::vector<std::filesystem::path>>();
    cmd->add_option("patches", *files, "Patch files")->required();
    add_trust_options(*cmd, *trust);
    cmd->callback([trust, files] {
        signing::TrustStore store = load_trust(*trust);
        int failures = 0;
        for (const auto& file : *files) {
            try {
                core::VerifiedPatch p = verify_with_rpm_checks(file, store);
                std::cout << file.string() << ": OK: " << p.metadata.id << " (" << p.software.size()
                          << " RPMs), signed by " << describe_signer(p.signature) << "\n";
            } catch (const std::exception& e) {
                std::cerr << "patch-build verify: " << core::format_error_chain(e) << "\n";
                ++failures;
            }
        }
        if (failures > 0) {
            throw CLI::RuntimeError(static_cast<int>(ExitCode::ERROR));
        }
    });
}

void setup_query(CLI::App& app) {
    auto cmd = app.add_subcommand("query", "Show a patch file's metadata and which certificate verifies it (query_patch)");
    auto trust = std::make_shared<TrustArgs>();
    auto file = std::make_shared<std::filesystem::path>();
    auto field = std::make_shared<std::string>();
    cmd->add_option("--file", *file, "Patch file")->required();
    cmd->add_option("--field", *field, "Print only this field");
    add_trust_options(*cmd, *trust);
    cmd->callback([trust, file, field] {
        core::VerifiedPatch p = verify_with_rpm_checks(*file, load_trust(*trust));
        const core::PatchMetadata& m = p.metadata;
        auto list = [](const std::vector<std::string>& items) {
            std::string out = "[";
            for (size_t i = 0; i < items.size(); ++i) {
                out += (i > 0 ? ", '" : "'") + items[i] + "'";
            }
            return out + "]";
        };
        // The reference's order: id, sw_version, status, cert, reboot_required, unremovable,
        // summary, description, install_instructions, warnings, then the rest.
        std::vector<std::pair<std::string, std::string>> fields = {
            {"id", "'" + m.id + "'"},
            {"sw_version", "'" + m.sw_version + "'"},
            {"status", "'" + m.status.value_or("") + "'"},
            {"cert", std::string("'") + signing::to_string(p.signature.cert_class) + "'"},
            {"reboot_required", std::string("'") + (m.is_reboot_required() ? "Y" : "N") + "'"},
            {"unremovable", "'" + m.unremovable.value_or("") + "'"},
            {"summary", "'" + m.summary.value_or("") + "'"},
            {"description", "'" + m.description.value_or("") + "'"},
            {"install_instructions", "'" + m.install_instructions.value_or("") + "'"},
            {"warnings", "'" + m.warnings.value_or("") + "'"},
            {"apply_active_release_only", "'" + m.apply_active_release_only.value_or("") + "'"},
            {"contents", list(m.contents)},
            {"requires", list(m.required_patches)},
            {"semantics", list(m.semantics)},
        };
        for (const auto& [type, packages] : m.personalities) {
            fields.emplace_back("personality-" + type, list(packages));
        }
        fields.emplace_back("signer", "'" + describe_signer(p.signature) + "'");
        for (const auto& [k, v] : fields) {
            if (field->empty()) {
                std::cout << k << ": " << v << "\n";
            } else if (k == *field) {
                std::cout << (v.size() >= 2 && v.front() == '\'' ? v.substr(1, v.size() - 2) : v) << "\n";
                return;
            }
        }
        if (!field->empty()) {
            throw core::Error("unknown field \"" + *field + "\"");
        }
    });
}

void setup_modify(CLI::App& app) {
    auto cmd = app.add_subcommand("modify", "Change a patch's status to REL, DEV or OBS and re-sign it (modify_patch)");
    auto trust = std::make_shared<TrustArgs>();
    auto file = std::make_shared<std::filesystem::path>();
    auto key = std::make_shared<std::filesystem::path>(default_key());
    auto status = std::make_shared<std::string>();
    cmd->add_option("--file", *file, "Patch file, rewritten in place")->required();
    cmd->add_option("--sign-key", *key, "PEM RSA private key (default $PATCH_SIGNING_KEY)");
    auto rel = cmd->add_flag_callback("--released", [status] { *status += "REL"; }, "Set status REL");
    auto dev = cmd->add_flag_callback("--development", [status] { *status += "DEV"; }, "Set status DEV");
    auto obs = cmd->add_flag_callback("--obsolete", [status] { *status += "OBS"; }, "Set status OBS");
    rel->excludes(dev)->excludes(obs);
    dev->excludes(obs);
    add_trust_options(*cmd, *trust);
    cmd->callback([trust, file, key, status] {
        if (status->empty()) {
            throw CLI::ValidationError("status", "give exactly one of --released, --development, --obsolete");
        }
        if (key->empty()) {
            throw core::Error("no signing key: give --sign-key KEY.pem (or set PATCH_SIGNING_KEY)");
        }
        signing::PrivateKey private_key = signing::PrivateKey::load_pem(*key);
        core::VerifiedPatch p = verify_with_rpm_checks(*file, load_trust(*trust));
        core::PatchMetadata m = p.metadata;
        std::string old = m.status.value_or("");
        m.status = *status;
        std::int64_t mtime = source_date_epoch().value_or(std::time(nullptr));
        rewrite_patch(p, core::make_inner_tar({{"metadata.xml", core::to_metadata_xml(m), 0644}}, mtime), private_key);
        std::cout << file->string() << ": status " << (old.empty() ? "(none)" : old) << " -> " << *status << "\n";
    });
}

void setup_sign(CLI::App& app) {
    auto cmd = app.add_subcommand("sign", "Re-sign a patch with another key, keeping its content byte for byte");
    auto trust = std::make_shared<TrustArgs>();
    auto file = std::make_shared<std::filesystem::path>();
    auto key = std::make_shared<std::filesystem::path>(default_key());
    auto signing_cert = std::make_shared<std::filesystem::path>();
    auto unverified = std::make_shared<bool>(false);
    cmd->add_option("--file", *file, "Patch file, rewritten in place")->required();
    cmd->add_option("--sign-key", *key, "PEM RSA private key (default $PATCH_SIGNING_KEY)");
    cmd->add_option("--signing-cert", *signing_cert, "Certificate of the new key, checked to match it");
    cmd->add_flag("--no-verify-old", *unverified,
                  "Do not require the current signature to verify (integrity and structure are still checked)");
    add_trust_options(*cmd, *trust);
    cmd->callback([trust, file, key, signing_cert, unverified] {
        if (key->empty()) {
            throw core::Error("no signing key: give --sign-key KEY.pem (or set PATCH_SIGNING_KEY)");
        }
        signing::PrivateKey private_key = signing::PrivateKey::load_pem(*key);
        if (!signing_cert->empty() && !signing::Certificate::load_pem(*signing_cert).matches(private_key)) {
            throw core::Error("--signing-cert " + signing_cert->string() + " does not belong to " + key->string());
        }
        signing::TrustStore store =
            *unverified ? signing::TrustStore::from_certificates({}) : load_trust(*trust);
        core::VerifiedPatch p = verify_with_rpm_checks(*file, store, !*unverified);
        rewrite_patch(p, p.metadata_tar, private_key);
        std::cout << file->string() << ": re-signed\n";
    });
}

}  // namespace patching::build
