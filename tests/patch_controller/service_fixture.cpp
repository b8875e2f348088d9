// SPDX-License-Identifier: Apache-2.0
#include "patch_controller/service_fixture.hpp"

#include <patch_core/rpm/package.hpp>

#include <catch2/catch.hpp>

#include <filesystem>

namespace patching::test {

namespace fs = std::filesystem;

void RecordingPublisher::publish(const std::string& release, const std::vector<controller::RepoPackage>& packages,
                                 const std::string&) {
    std::lock_guard lock(mutex_);
    calls_.push_back(release);
    if (failing_) {
        throw core::Error("createrepo_c: simulated failure");
    }
    auto& names = packages_[release];
    names.clear();
    for (const auto& p : packages) {
        names.push_back(p.file_name);
    }
}

bool RecordingPublisher::is_published(const std::string& release) const {
    std::lock_guard lock(mutex_);
    return packages_.contains(release);
}

void RecordingPublisher::remove_release(const std::string& release) {
    std::lock_guard lock(mutex_);
    packages_.erase(release);
}

std::vector<std::string> RecordingPublisher::calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
}

std::vector<std::string> RecordingPublisher::packages(const std::string& release) const {
    std::lock_guard lock(mutex_);
    auto it = packages_.find(release);
    return it == packages_.end() ? std::vector<std::string>{} : it->second;
}

ServiceFixture::ServiceFixture() {
    rpm::init_librpm();
    config.state_dir = dir.path() / "state";
    config.repo_dir = dir.path() / "repo";
    config.feed_dir = dir.path() / "feed";
    config.trust_dir = dir.path() / "trust";
    config.running_release = "22.12";
    config.import_roots = {fixtures_dir()};
    const fs::path packages = config.feed_dir / "rel-22.12" / "Packages";
    fs::create_directories(packages);
    for (const char* nvr : {"fixture-alpha-1.0-1", "fixture-beta-1.0-1", "fixture-gamma-1.0-1"}) {
        fs::copy_file(fixtures_dir() / "rpms" / (std::string(nvr) + ".noarch.rpm"),
                      packages / (std::string(nvr) + ".noarch.rpm"));
    }
    fs::create_directories(config.trust_dir);
    fs::copy_file(fixtures_dir() / "keys" / "fixture-signing-cert.pem", config.trust_dir / "fixture-signing-cert.pem");
    restart();
}

void ServiceFixture::restart() {
    controller_.reset();
    controller_ = std::make_unique<controller::Controller>(config, store, signing::TrustStore::load(config.trust_dir),
                                                           publisher, clock);
    controller_->recover();
}

void ServiceFixture::import_fixtures() {
    controller::OpReport r = ctl().imports().upload_dir({(fixtures_dir() / "stx").string()});
    REQUIRE(r.info.size() == 3);
}

void ServiceFixture::report(const std::string& host, bool out_of_date) {
    core::protocol::AgentReport r;
    r.hostname = host;
    r.report_id = host + "-" + std::to_string(clock.now_seconds());
    r.op_counter = ctl().hosts().published_op_counter();
    r.sw_version = "22.12";
    r.personality = "controller";
    r.subfunctions = {"controller"};
    r.nodetype = "controller";
    r.out_of_date = out_of_date;
    ctl().hosts().agent_report(r, "192.0.2.10");
}

std::string ServiceFixture::repostate(const std::string& id) {
    auto reply = ctl().queries().query({"", ""});
    return reply.pd.contains(id) ? reply.pd.at(id).repostate : "";
}

std::string ServiceFixture::patchstate(const std::string& id) {
    auto reply = ctl().queries().query({"", ""});
    return reply.pd.contains(id) ? reply.pd.at(id).patchstate : "";
}

}  // namespace patching::test
