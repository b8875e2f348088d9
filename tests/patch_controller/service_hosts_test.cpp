// SPDX-License-Identifier: Apache-2.0
// The host table: reports, staleness on a fixed clock, install dispatch, persistence.
#include "patch_controller/service_fixture.hpp"

#include <service/errors.hpp>

#include <catch2/catch.hpp>

using namespace patching;
using namespace patching::test;

namespace {

const controller::HostView* find(const std::vector<controller::HostView>& hosts, const std::string& name) {
    for (const auto& h : hosts) {
        if (h.hostname == name) {
            return &h;
        }
    }
    return nullptr;
}

}  // namespace

TEST_CASE_METHOD(ServiceFixture, "hosts: a report adds a current host, silence makes it stale", "[service][hosts]") {
    report("host-1");
    auto hosts = ctl().hosts().list();
    REQUIRE(hosts.size() == 1);
    CHECK(hosts[0].patch_current);
    CHECK_FALSE(hosts[0].stale);
    CHECK(hosts[0].state == core::protocol::HostState::IDLE);
    CHECK(store.load_hosts().size() == 1);

    clock.advance(config.agent_stale_seconds + 1);
    hosts = ctl().hosts().list();
    CHECK(hosts[0].stale);
    CHECK(hosts[0].secs_since_ack == config.agent_stale_seconds + 1);
    CHECK_THROWS_AS(ctl().hosts().install("host-1", false), controller::Conflict);
}

TEST_CASE_METHOD(ServiceFixture, "hosts: a report commits to the store only when who the host is changes",
                 "[service][hosts]") {
    report("host-1");
    const int after_first = store.commits();
    clock.advance(5);
    report("host-1");
    CHECK(store.commits() == after_first);
}

TEST_CASE_METHOD(ServiceFixture, "hosts: install dispatch goes out in the agent's news", "[service][hosts]") {
    report("host-1");
    std::string woken;
    ctl().notifier().set([&](const std::string& host) { woken = host; });
    auto r = ctl().hosts().install("192.0.2.10", false);  // by address, as the reference allows
    CHECK(r.info == std::vector<std::string>{"Patch installation request sent to host-1."});
    CHECK(woken == "host-1");
    auto news = ctl().hosts().agent_news("host-1", "host-1-" + std::to_string(clock.now_seconds()));
    CHECK_FALSE(news.send_report);
    REQUIRE(news.command);
    CHECK(news.command->kind == core::protocol::CommandKind::INSTALL);
    CHECK(ctl().hosts().list()[0].install_pending);
    CHECK_THROWS_AS(ctl().hosts().install("nobody", false), controller::NotFound);
}

TEST_CASE_METHOD(ServiceFixture, "hosts: after a restart a persisted host is not current until it reports",
                 "[service][hosts]") {
    report("host-1");
    report("host-2", true);
    restart();
    auto hosts = ctl().hosts().list();
    REQUIRE(hosts.size() == 2);
    for (const auto& h : hosts) {
        CHECK_FALSE(h.patch_current);
        CHECK(h.stale);
        CHECK(h.state == core::protocol::HostState::UNKNOWN);
        CHECK(h.agent == nullptr);
        CHECK(h.report.sw_version == "22.12");
    }
    CHECK(ctl().hosts().agent_news("host-1", "anything").send_report);
    CHECK_THROWS_AS(ctl().hosts().install("host-1", false), controller::Conflict);

    report("host-1");
    const auto* h1 = find(ctl().hosts().list(), "host-1");
    REQUIRE(h1 != nullptr);
    CHECK(h1->patch_current);
    CHECK_FALSE(h1->stale);

    ctl().hosts().drop("host-2");
    CHECK(store.load_hosts().size() == 1);
    CHECK_THROWS_AS(ctl().hosts().drop("host-2"), controller::NotFound);
}

TEST_CASE_METHOD(ServiceFixture, "hosts: an applied patch is partial until the host reports", "[service][hosts]") {
    import_fixtures();
    report("host-1", false);
    ctl().lifecycle().apply({{P1}, true});
    CHECK(ctl().hosts().list()[0].interim_state);
    report("host-1", true);  // the agent re-queried after the apply
    CHECK_FALSE(ctl().hosts().list()[0].interim_state);
    CHECK_FALSE(ctl().hosts().list()[0].patch_current);
}
