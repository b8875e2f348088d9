// SPDX-License-Identifier: Apache-2.0
#include "patch_agent/e2e_cluster.hpp"

#include "support/rpm_factory.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>
#include <stdexcept>

namespace patching::test::e2e {

namespace fs = std::filesystem;

namespace {

// The in-service package: it ships a restart script and its %post and %preun drop it where the
// agent runs in-service scripts, as the reference's INSVC_* packages do (spec §4.3).
RpmSpec in_service_package(const std::string& release) {
    const std::string shipped = "/usr/share/e2e/e2e-insvc-restart";
    RpmSpec spec("e2e-insvc");
    spec.set_version("1.0", release);
    if (release != "1") {
        spec.add_file(
                shipped,
                "#!/bin/sh\nmkdir -p /var/lib/e2e\necho \"restarted on $PATCH_PERSONALITY\" >> " +
                    std::string(INSVC_MARKER) + "\n",
                0700)
            .set_post("cp " + shipped + " /run/patching/patch-scripts/")
            .set_preun("cp " + shipped + " /run/patching/patch-scripts/ || :");
    }
    return spec;
}

fs::path build(const fs::path& work, const RpmSpec& spec) {
    auto rpm = build_rpm(work, spec);
    REQUIRE(rpm);
    return *rpm;
}

}  // namespace

const Packages* packages() {
    static std::optional<Packages> built;
    static std::unique_ptr<TempDir> dir;
    if (built) {
        return &*built;
    }
    if (!have_rpmbuild()) {
        return nullptr;
    }
    dir = std::make_unique<TempDir>();
    const fs::path work = dir->path();
    Packages p;
    p.insvc_1 = build(work, in_service_package("1"));
    p.insvc_2 = build(work, in_service_package("2"));
    p.rr_1 = build(work, RpmSpec("e2e-rr"));
    p.rr_2 = build(
        work,
        RpmSpec("e2e-rr").set_version("1.0", "2").set_post("touch /var/run/node_is_patched_rr"));
    p.lib_1 = build(work, RpmSpec("e2e-lib"));
    p.lib_2 = build(work, RpmSpec("e2e-lib").set_version("2.0", "1"));
    p.app_1 = build(work, RpmSpec("e2e-app").add_preamble("Requires: e2e-lib"));
    p.app_2 = build(
        work, RpmSpec("e2e-app").set_version("2.0", "1").add_preamble("Requires: e2e-lib >= 2.0"));
    p.plugin_1 = build(work, RpmSpec("e2e-plugin").add_preamble("Requires: e2e-app >= 2.0"));
    p.slow_1 = build(work, RpmSpec("e2e-slow"));
    // Slow only the first time, so the install after the crash does not wait again. The root's
    // busybox shell runs "sleep" only as "busybox sleep" (no /proc to re-exec itself through).
    p.slow_2 = build(
        work, RpmSpec("e2e-slow")
                  .set_version("1.0", "2")
                  .set_post(
                      "if [ ! -e " + std::string(SLOW_STARTED_MARKER) +
                      " ]; then mkdir -p /var/lib/e2e; "
                      "touch " +
                      std::string(SLOW_STARTED_MARKER) + "; busybox sleep 5; fi"));
    built = p;
    return &*built;
}

std::vector<HostSpec> three_hosts() {
    return {{"controller-0", "controller"}, {"worker-0", "worker"}, {"storage-0", "storage"}};
}

std::vector<std::string> host_names(int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
        out.push_back("host-" + std::to_string(i));
    }
    return out;
}

std::vector<HostSpec> hosts(int n) {
    std::vector<HostSpec> out;
    for (const auto& name : host_names(n)) {
        out.push_back({name, "controller"});
    }
    return out;
}

nlohmann::json wait_finished(Cluster& cluster, std::int64_t id, std::chrono::seconds timeout) {
    nlohmann::json wr;
    const bool done = eventually(
        [&] {
            const Response r = cluster.controller().get("/v1/work-requests/" + std::to_string(id));
            wr = r.body;
            const std::string s = r.status == 200 ? wr.value("status", "") : "";
            return s == "SUCCEEDED" || s == "FAILED" || s == "CANCELED" || s == "SKIPPED";
        },
        timeout);
    INFO(wr.dump(2) << "\n" << cluster.logs());
    REQUIRE(done);
    return wr;
}

std::map<std::string, nlohmann::json> children_by_host(Cluster& cluster, std::int64_t parent) {
    const Response r = cluster.controller().get("/v1/work-requests?parent=" + std::to_string(parent) + "&limit=100");
    std::map<std::string, nlohmann::json> out;
    for (const auto& c : r.body["items"]) {
        out[c["host"]] = c;
    }
    return out;
}

Cluster::Cluster(const std::vector<HostSpec>& hosts) : Cluster(hosts, ClusterOptions{}) {}

Cluster::Cluster(const std::vector<HostSpec>& hosts, const ClusterOptions& cluster_options) {
    const std::vector<std::string>& agent_config = cluster_options.agents;
    packages_ = packages();
    if (packages_ == nullptr) {
        return;
    }
    ControllerHarness::Options controller_options = agent_controller_options();
    for (const auto& line : cluster_options.extra_config) {
        controller_options.extra_config.push_back(line);
    }
    controller_ = std::make_unique<ControllerHarness>(controller_options);
    if (!cluster_options.environment.empty()) {
        controller_->set_environment(cluster_options.environment);
    }
    write_enrolment_token(*controller_);
    add_to_feed(*controller_, packages_->base());
    controller_->start();
    for (const auto& host : hosts) {
        AgentOptions options;
        options.hostname = host.hostname;
        options.personality = host.personality;
        options.extra_config = host.extra_config;
        for (std::string line : agent_config) {
            for (auto at = line.find("{host}"); at != std::string::npos; at = line.find("{host}")) {
                line.replace(at, 6, host.hostname);
            }
            options.extra_config.push_back(line);
        }
        auto agent =
            std::make_unique<AgentHarness>(*controller_, dir_.path() / host.hostname, options);
        if (!agent->prepare_root(packages_->base(), dir_.path() / "work")) {
            return;
        }
        agents_.push_back(std::move(agent));
    }
    for (auto& agent : agents_) {
        agent->start();
    }
    for (auto& agent : agents_) {
        wait_settled(agent->hostname(), true);
    }
    ok_ = true;
}

Cluster::~Cluster() {
    // Agents first: they would only log the controller's absence.
    agents_.clear();
}

AgentHarness& Cluster::agent(const std::string& hostname) {
    for (auto& a : agents_) {
        if (a->hostname() == hostname) {
            return *a;
        }
    }
    throw std::runtime_error("no agent " + hostname + " in this cluster");
}

fs::path Cluster::build_patch(const PatchSpec& spec) const {
    return controller_->build(spec);
}

CommandResult Cluster::sw_patch(const std::string& args) const {
    return run_sw_patch(*controller_, args);
}

std::string Cluster::logs() const {
    std::string out = "--- controller log:\n" + (controller_ ? controller_->log() : std::string());
    for (const auto& a : agents_) {
        out += "--- " + a->hostname() + " log:\n" + a->log();
    }
    return out;
}

nlohmann::json Cluster::wait_for_host(
    const std::string& hostname,
    const std::string& what,
    const std::function<bool(const nlohmann::json&)>& condition,
    std::chrono::milliseconds timeout) const {
    try {
        return test::wait_for_host(*controller_, hostname, what, condition, timeout);
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(std::string(e.what()) + "\n" + logs());
    }
}

nlohmann::json Cluster::wait_settled(
    const std::string& hostname, bool current, std::chrono::milliseconds timeout) const {
    try {
        return wait_for_host_settled(*controller_, hostname, current, timeout);
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(std::string(e.what()) + "\n" + logs());
    }
}

void Cluster::wait_patch_state(
    const std::string& patch_id,
    const std::string& state,
    std::chrono::milliseconds timeout) const {
    try {
        wait_for_patch_state(*controller_, patch_id, state, timeout);
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(std::string(e.what()) + "\n" + logs());
    }
}

std::string read_if_exists(const fs::path& file) {
    std::error_code ec;
    return fs::exists(file, ec) ? read_file(file) : std::string();
}

std::size_t line_count(const std::string& text) {
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

}  // namespace patching::test::e2e
