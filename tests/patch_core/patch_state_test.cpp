// SPDX-License-Identifier: Apache-2.0
#include <patch_core/errors.hpp>
#include <patch_core/metadata.hpp>
#include <patch_core/patch_state.hpp>

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

using namespace patching::core;

namespace {

const std::string REL = "22.12";

PatchInfo make_patch(
    const std::string& id, RepoState repostate,
    std::map<std::string, std::string> versions = {{"pkgA", "1.0-2"}}, bool reboot = true) {
    PatchInfo patch;
    patch.id = id;
    patch.sw_version = REL;
    patch.repostate = repostate;
    patch.reboot_required = reboot;
    patch.content_versions = std::move(versions);
    return patch;
}

HostReport make_host(
    const std::string& id, bool out_of_date = false,
    std::map<std::string, std::string> installed = {}) {
    HostReport host;
    host.host_id = id;
    host.out_of_date = out_of_date;
    host.sw_version = REL;
    host.subfunctions = {"controller", "worker"};
    host.nodetype = "controller";
    host.installed = std::move(installed);
    return host;
}

// Drives a tracker and, after every step, checks it against a from-scratch recomputation.
class Tracker {
public:
    void set_patch(PatchInfo p) { tracker_.set_patch(std::move(p)), verify(); }
    void remove_patch(const std::string& id) { tracker_.remove_patch(id), verify(); }
    void set_repostate(const std::string& id, RepoState s) {
        tracker_.set_repostate(id, s), verify();
    }
    void start_interim(const std::string& id) { tracker_.start_interim(id), verify(); }
    void apply(const std::string& id) {
        set_repostate(id, RepoState::APPLIED);
        start_interim(id);
    }
    void remove(const std::string& id) {
        set_repostate(id, RepoState::AVAILABLE);
        start_interim(id);
    }
    void update_host(HostReport h) { tracker_.update_host(std::move(h)), verify(); }
    void host_reported(HostReport h) { tracker_.host_reported(std::move(h)), verify(); }
    void drop_host(const std::string& id) { tracker_.drop_host(id), verify(); }
    void clear_interim() { tracker_.clear_interim(), verify(); }

    PatchState state(const std::string& id) const { return tracker_.get_state(id); }
    bool insvc() const { return tracker_.is_insvc_patching_allowed(); }
    const PatchStateTracker& get() const { return tracker_; }

private:
    void verify() const { REQUIRE(tracker_.get_result() == tracker_.recompute_all()); }
    PatchStateTracker tracker_;
};

StateResult compute(
    const std::vector<PatchInfo>& patches, const std::vector<HostReport>& hosts,
    const InterimState& interim = {}) {
    std::map<std::string, PatchInfo> p;
    for (const auto& patch : patches) {
        p[patch.id] = patch;
    }
    std::map<std::string, HostReport> h;
    for (const auto& host : hosts) {
        h[host.host_id] = host;
    }
    return compute_patch_states(p, h, interim);
}

}  // namespace

TEST_CASE("state names are the reference's strings and parse back", "[state]") {
    const std::vector<std::pair<PatchState, std::string>> names = {
        {PatchState::AVAILABLE, "Available"},
        {PatchState::PARTIAL_APPLY, "Partial-Apply"},
        {PatchState::APPLIED, "Applied"},
        {PatchState::PARTIAL_REMOVE, "Partial-Remove"},
        {PatchState::COMMITTED, "Committed"},
        {PatchState::NA, "n/a"}};
    for (const auto& [state, name] : names) {
        CHECK(to_string(state) == name);
        CHECK(parse_patch_state(name) == state);
    }
    CHECK(to_string(RepoState::AVAILABLE) == "Available");
    CHECK(to_string(RepoState::APPLIED) == "Applied");
    CHECK(to_string(RepoState::COMMITTED) == "Committed");
    CHECK(parse_repo_state("Committed") == RepoState::COMMITTED);
    CHECK_FALSE(parse_repo_state("Partial-Apply"));
    CHECK_FALSE(parse_patch_state("applied"));
    CHECK_FALSE(parse_patch_state(""));
}

TEST_CASE("host personality joins subfunctions, or uses nodetype on 14.10", "[state]") {
    HostReport host = make_host("h1");
    CHECK(host_personality(host) == "controller-worker");
    host.subfunctions = {"controller", "worker", "lowlatency"};
    CHECK(host_personality(host) == "controller-worker-lowlatency");
    host.subfunctions = {"storage"};
    CHECK(host_personality(host) == "storage");
    host.subfunctions = {};
    CHECK(host_personality(host).empty());
    host.sw_version = "14.10";
    host.subfunctions = {"controller", "worker"};
    CHECK(host_personality(host) == "controller");
}

TEST_CASE("make_patch_info derives content versions like the reference", "[state]") {
    PatchMetadata meta;
    meta.id = "P1";
    meta.sw_version = REL;
    meta.reboot_required = "N";
    meta.contents = {"pkgA-1.0-r2.tis.x86_64.rpm", "12:pkgB-2.3-5.tis.noarch.rpm",
                     "pkgC-1.0-1.i686.rpm", "pkgC-1.0-2.x86_64.rpm"};
    meta.personalities = {{"controller", {"pkgA"}}};
    const PatchInfo info = make_patch_info(meta, RepoState::APPLIED);
    CHECK(info.id == "P1");
    CHECK(info.sw_version == REL);
    CHECK(info.repostate == RepoState::APPLIED);
    CHECK_FALSE(info.reboot_required);
    CHECK(info.content_versions == std::map<std::string, std::string>{
                                       {"pkgA", "1.0-r2.tis"},
                                       {"pkgB", "2.3-5.tis"},  // multi-digit epoch: name pkgB
                                       {"pkgC", "1.0-2"}});    // arches collide, last wins
    CHECK(info.personalities == meta.personalities);
    meta.reboot_required = std::nullopt;
    CHECK(make_patch_info(meta, RepoState::AVAILABLE).reboot_required);
    meta.reboot_required = "";
    CHECK(make_patch_info(meta, RepoState::AVAILABLE).reboot_required);
}

TEST_CASE("the full life cycle of the state diagram", "[state]") {
    Tracker t;
    t.update_host(make_host("h1"));
    t.update_host(make_host("h2"));

    // import -> Available
    t.set_patch(make_patch("P1", RepoState::AVAILABLE));
    CHECK(t.state("P1") == PatchState::AVAILABLE);

    // apply -> Partial-Apply, until every host in the interim list has reported
    t.apply("P1");
    CHECK(t.state("P1") == PatchState::PARTIAL_APPLY);
    CHECK(t.get().is_host_in_interim("h1"));
    CHECK(t.insvc());  // the interim list alone does not forbid in-service patching

    // h1 reports that it still runs the old version
    t.host_reported(make_host("h1", true, {{"pkgA", "1.0-1@x86_64"}}));
    CHECK(t.state("P1") == PatchState::PARTIAL_APPLY);
    CHECK_FALSE(t.get().is_host_in_interim("h1"));
    CHECK_FALSE(t.insvc());
    // h2 reports it is current; h1 is still behind
    t.host_reported(make_host("h2"));
    CHECK(t.get().get_interim().empty());
    CHECK(t.state("P1") == PatchState::PARTIAL_APPLY);
    // h1 installs the patch
    t.host_reported(make_host("h1"));
    CHECK(t.state("P1") == PatchState::APPLIED);
    CHECK(t.insvc());

    // remove -> Partial-Remove, until every host reports and none is ahead
    t.remove("P1");
    CHECK(t.state("P1") == PatchState::PARTIAL_REMOVE);
    t.host_reported(make_host("h1", true, {{"pkgA", "1.0-2@x86_64"}}));
    t.host_reported(make_host("h2"));
    CHECK(t.state("P1") == PatchState::PARTIAL_REMOVE);  // h1 still has the patch's version
    t.host_reported(make_host("h1"));
    CHECK(t.state("P1") == PatchState::AVAILABLE);

    // apply again, converge, commit
    t.apply("P1");
    t.host_reported(make_host("h1"));
    t.host_reported(make_host("h2"));
    CHECK(t.state("P1") == PatchState::APPLIED);
    t.set_repostate("P1", RepoState::COMMITTED);
    CHECK(t.state("P1") == PatchState::COMMITTED);
}

TEST_CASE("a patch leaves partial state only when all pending hosts have reported", "[state]") {
    Tracker t;
    t.update_host(make_host("h1"));
    t.update_host(make_host("h2"));
    t.update_host(make_host("h3"));
    t.set_patch(make_patch("P1", RepoState::AVAILABLE));
    t.apply("P1");
    CHECK(t.get().get_interim() == InterimState{{"P1", {"h1", "h2", "h3"}}});
    t.host_reported(make_host("h1"));
    t.host_reported(make_host("h3"));
    CHECK(t.get().get_interim() == InterimState{{"P1", {"h2"}}});
    CHECK(t.state("P1") == PatchState::PARTIAL_APPLY);
    // a hello-ack level update does not count as a fresh report
    t.update_host(make_host("h2"));
    CHECK(t.state("P1") == PatchState::PARTIAL_APPLY);
    t.host_reported(make_host("h2"));
    CHECK(t.get().get_interim().empty());
    CHECK(t.state("P1") == PatchState::APPLIED);
}

TEST_CASE("installed versions: behind, equal and ahead", "[state]") {
    const HostReport behind = make_host("h1", true, {{"pkgA", "1.0-1@x86_64"}});
    const HostReport equal = make_host("h1", true, {{"pkgA", "1.0-2@x86_64"}});
    const HostReport ahead = make_host("h1", true, {{"pkgA", "1.0-3@x86_64"}});

    SECTION("Applied patch: only a host below the patch version makes it Partial-Apply") {
        const PatchInfo p = make_patch("P1", RepoState::APPLIED);
        CHECK(compute({p}, {behind}).states.at("P1") == PatchState::PARTIAL_APPLY);
        CHECK(compute({p}, {equal}).states.at("P1") == PatchState::APPLIED);
        CHECK(compute({p}, {ahead}).states.at("P1") == PatchState::APPLIED);
    }
    SECTION("Available patch: a host at or above the patch version makes it Partial-Remove") {
        const PatchInfo p = make_patch("P1", RepoState::AVAILABLE);
        CHECK(compute({p}, {behind}).states.at("P1") == PatchState::AVAILABLE);
        CHECK(compute({p}, {equal}).states.at("P1") == PatchState::PARTIAL_REMOVE);
        CHECK(compute({p}, {ahead}).states.at("P1") == PatchState::PARTIAL_REMOVE);
    }
    SECTION("while the patch is in the interim list any installed version counts") {
        const InterimState interim{{"P1", {"h9"}}};
        const PatchInfo applied = make_patch("P1", RepoState::APPLIED);
        StateResult r = compute({applied}, {ahead}, interim);
        CHECK(r.states.at("P1") == PatchState::PARTIAL_APPLY);
        CHECK_FALSE(r.allow_insvc_patching);  // the host hit, not the list, clears the flag
        r = compute({applied}, {make_host("h1", false, ahead.installed)}, interim);
        CHECK(r.states.at("P1") == PatchState::PARTIAL_APPLY);
        CHECK(r.allow_insvc_patching);
        const PatchInfo available = make_patch("P1", RepoState::AVAILABLE);
        r = compute({available}, {behind}, interim);
        CHECK(r.states.at("P1") == PatchState::PARTIAL_REMOVE);
        CHECK_FALSE(r.allow_insvc_patching);
    }
    SECTION("hosts that are current are ignored entirely") {
        HostReport current = behind;
        current.out_of_date = false;
        current.missing_pkgs = {"pkgA"};
        PatchInfo p = make_patch("P1", RepoState::APPLIED);
        p.personalities = {{"controller-worker", {"pkgA"}}};
        const StateResult r = compute({p}, {current});
        CHECK(r.states.at("P1") == PatchState::APPLIED);
        CHECK(r.allow_insvc_patching);
    }
    SECTION("packages the patch does not contain are ignored") {
        const HostReport other = make_host("h1", true, {{"pkgZ", "0.1-1@x86_64"}});
        CHECK(compute({make_patch("P1", RepoState::APPLIED)}, {other}).states.at("P1") ==
              PatchState::APPLIED);
    }
}

TEST_CASE("the installed-version check skips hosts of another release", "[state]") {
    HostReport host = make_host("h1", true, {{"pkgA", "1.0-1@x86_64"}});
    host.sw_version = "21.12";
    const PatchInfo p = make_patch("P1", RepoState::APPLIED);
    CHECK(compute({p}, {host}).states.at("P1") == PatchState::APPLIED);
    host.sw_version = REL;
    CHECK(compute({p}, {host}).states.at("P1") == PatchState::PARTIAL_APPLY);

    SECTION("but the hosts of another release stay in the interim list") {
        Tracker t;
        HostReport old = make_host("old", true, {{"pkgA", "1.0-1@x86_64"}});
        old.sw_version = "21.12";
        t.update_host(old);
        t.set_patch(make_patch("P1", RepoState::AVAILABLE));
        t.apply("P1");
        t.update_host(old);
        CHECK(t.state("P1") == PatchState::PARTIAL_APPLY);
        t.host_reported(old);
        CHECK(t.state("P1") == PatchState::APPLIED);
    }
}

TEST_CASE("missing personality packages make an Applied patch Partial-Apply", "[state]") {
    PatchInfo p = make_patch("P1", RepoState::APPLIED, {{"pkgA", "1.0-2"}, {"pkgNew", "1.0-1"}});
    p.personalities = {{"controller-worker", {"pkgNew"}}};
    HostReport host = make_host("h1", true);
    host.missing_pkgs = {"pkgNew"};

    CHECK(compute({p}, {host}).states.at("P1") == PatchState::PARTIAL_APPLY);
    SECTION("any release: the missing check does not look at sw_version") {
        host.sw_version = "21.12";
        CHECK(compute({p}, {host}).states.at("P1") == PatchState::PARTIAL_APPLY);
    }
    SECTION("only for the host's own personality") {
        host.subfunctions = {"worker"};
        CHECK(compute({p}, {host}).states.at("P1") == PatchState::APPLIED);
    }
    SECTION("on 14.10 the personality is the node type") {
        host.sw_version = "14.10";
        host.nodetype = "controller";
        CHECK(compute({p}, {host}).states.at("P1") == PatchState::APPLIED);
        host.nodetype = "controller-worker";
        CHECK(compute({p}, {host}).states.at("P1") == PatchState::PARTIAL_APPLY);
    }
    SECTION("the package must also be in the patch's contents") {
        p.content_versions.erase("pkgNew");
        CHECK(compute({p}, {host}).states.at("P1") == PatchState::APPLIED);
    }
    SECTION("an Available patch is not affected by missing packages") {
        p.repostate = RepoState::AVAILABLE;
        CHECK(compute({p}, {host}).states.at("P1") == PatchState::AVAILABLE);
    }
}

TEST_CASE("packages to remove make an Available patch Partial-Remove", "[state]") {
    PatchInfo p = make_patch("P1", RepoState::AVAILABLE, {{"pkgNew", "1.0-1"}});
    p.personalities = {{"controller-worker", {"pkgNew"}}};
    HostReport host = make_host("h1", true);
    host.to_remove = {"pkgNew"};

    CHECK(compute({p}, {host}).states.at("P1") == PatchState::PARTIAL_REMOVE);
    SECTION("any release") {
        host.sw_version = "21.12";
        CHECK(compute({p}, {host}).states.at("P1") == PatchState::PARTIAL_REMOVE);
    }
    SECTION("only for the host's own personality") {
        host.subfunctions = {"storage"};
        CHECK(compute({p}, {host}).states.at("P1") == PatchState::AVAILABLE);
    }
    SECTION("an Applied patch is not affected by packages to remove") {
        p.repostate = RepoState::APPLIED;
        CHECK(compute({p}, {host}).states.at("P1") == PatchState::APPLIED);
    }
}

TEST_CASE("allow_insvc_patching: reboot-required partial patches forbid it", "[state]") {
    const HostReport behind = make_host("h1", true, {{"pkgA", "1.0-1@x86_64"}});
    SECTION("an in-service patch keeps it allowed") {
        const StateResult r =
            compute({make_patch("P1", RepoState::APPLIED, {{"pkgA", "1.0-2"}}, false)}, {behind});
        CHECK(r.states.at("P1") == PatchState::PARTIAL_APPLY);
        CHECK(r.allow_insvc_patching);
    }
    SECTION("a reboot-required patch forbids it") {
        const StateResult r =
            compute({make_patch("P1", RepoState::APPLIED, {{"pkgA", "1.0-2"}}, true)}, {behind});
        CHECK_FALSE(r.allow_insvc_patching);
    }
    SECTION("one reboot-required hit among in-service ones is enough") {
        const StateResult r = compute(
            {make_patch("P1", RepoState::APPLIED, {{"pkgA", "1.0-2"}}, false),
             make_patch("P2", RepoState::APPLIED, {{"pkgA", "1.0-2"}}, true)},
            {behind});
        CHECK_FALSE(r.allow_insvc_patching);
    }
    SECTION("the tracker restores it when the blocking patch converges") {
        Tracker t;
        t.set_patch(make_patch("P1", RepoState::APPLIED, {{"pkgA", "1.0-2"}}, true));
        t.set_patch(make_patch("P2", RepoState::APPLIED, {{"pkgA", "1.0-2"}}, false));
        t.update_host(behind);
        CHECK_FALSE(t.insvc());
        t.set_repostate("P1", RepoState::AVAILABLE);  // behind is fine for Available
        CHECK(t.insvc());
        CHECK(t.state("P2") == PatchState::PARTIAL_APPLY);
        t.set_patch(make_patch("P2", RepoState::APPLIED, {{"pkgA", "1.0-2"}}, true));
        CHECK_FALSE(t.insvc());
        t.host_reported(make_host("h1"));
        CHECK(t.insvc());
    }
}

TEST_CASE("a Committed patch is never partial", "[state]") {
    PatchInfo p = make_patch("P1", RepoState::COMMITTED, {{"pkgA", "1.0-2"}, {"pkgNew", "1-1"}});
    p.personalities = {{"controller-worker", {"pkgNew"}}};
    HostReport host = make_host("h1", true, {{"pkgA", "1.0-1@x86_64"}});
    host.missing_pkgs = {"pkgNew"};
    host.to_remove = {"pkgNew"};
    const StateResult r = compute({p}, {host}, {{"P1", {"h1"}}});
    CHECK(r.states.at("P1") == PatchState::COMMITTED);
    CHECK(r.allow_insvc_patching);

    Tracker t;
    t.update_host(make_host("h1"));
    t.set_patch(make_patch("P1", RepoState::APPLIED));
    t.apply("P1");
    t.set_repostate("P1", RepoState::COMMITTED);  // committed while still in the interim list
    CHECK(t.state("P1") == PatchState::COMMITTED);
    t.update_host(host);
    CHECK(t.state("P1") == PatchState::COMMITTED);
}

TEST_CASE("epochs are ignored by the installed-version check", "[state]") {
    const PatchInfo p = make_patch("P1", RepoState::APPLIED, {{"pkgA", "1.0-2"}});
    // With the epoch counted, 1:1.0-1 would be newer than 1.0-2.
    CHECK(compute({p}, {make_host("h1", true, {{"pkgA", "1:1.0-1@x86_64"}})}).states.at("P1") ==
          PatchState::PARTIAL_APPLY);
    CHECK(compute({p}, {make_host("h1", true, {{"pkgA", "12:1.0-1@x86_64"}})}).states.at("P1") ==
          PatchState::PARTIAL_APPLY);
    CHECK(compute({p}, {make_host("h1", true, {{"pkgA", "12:1.0-3@x86_64"}})}).states.at("P1") ==
          PatchState::APPLIED);
    // A patch version written with an epoch is stripped as well.
    const PatchInfo with_epoch = make_patch("P1", RepoState::APPLIED, {{"pkgA", "7:1.0-2"}});
    CHECK(compute({with_epoch}, {make_host("h1", true, {{"pkgA", "1.0-1@x86_64"}})})
              .states.at("P1") == PatchState::PARTIAL_APPLY);
    CHECK(compute({with_epoch}, {make_host("h1", true, {{"pkgA", "1.0-2@x86_64"}})})
              .states.at("P1") == PatchState::APPLIED);
    // rpm ordering, not string ordering: 1.0-10 is newer than 1.0-9.
    const PatchInfo p9 = make_patch("P9", RepoState::APPLIED, {{"pkgA", "1.0-9"}});
    CHECK(compute({p9}, {make_host("h1", true, {{"pkgA", "1.0-10@x86_64"}})}).states.at("P9") ==
          PatchState::APPLIED);
}

TEST_CASE("fixed: with no hosts every patch shows its repostate", "[state]") {
    const StateResult r = compute(
        {make_patch("P1", RepoState::AVAILABLE), make_patch("P2", RepoState::APPLIED),
         make_patch("P3", RepoState::COMMITTED)},
        {}, {{"P2", {}}});
    CHECK(r.states == std::map<std::string, PatchState>{
                          {"P1", PatchState::AVAILABLE},
                          {"P2", PatchState::APPLIED},
                          {"P3", PatchState::COMMITTED}});
    CHECK(r.allow_insvc_patching);

    Tracker t;
    t.set_patch(make_patch("P1", RepoState::AVAILABLE));
    t.apply("P1");  // no hosts: no interim list
    CHECK(t.get().get_interim().empty());
    CHECK(t.state("P1") == PatchState::APPLIED);
    // a host appearing later does not find the patch stuck in Partial-Apply
    t.host_reported(make_host("h1"));
    CHECK(t.state("P1") == PatchState::APPLIED);
}

TEST_CASE("fixed: dropping the last pending host ends the partial state", "[state]") {
    Tracker t;
    t.update_host(make_host("h1"));
    t.update_host(make_host("h2"));
    t.set_patch(make_patch("P1", RepoState::AVAILABLE));
    t.apply("P1");
    t.host_reported(make_host("h1"));
    CHECK(t.state("P1") == PatchState::PARTIAL_APPLY);
    t.drop_host("h2");  // the reference kept an empty list: Partial-Apply until a sync
    CHECK(t.get().get_interim().empty());
    CHECK(t.state("P1") == PatchState::APPLIED);

    SECTION("dropping a host also removes its contribution") {
        t.update_host(make_host("h3", true, {{"pkgA", "1.0-1@x86_64"}}));
        CHECK(t.state("P1") == PatchState::PARTIAL_APPLY);
        t.drop_host("h3");
        CHECK(t.state("P1") == PatchState::APPLIED);
        t.drop_host("nonexistent");
    }
}

TEST_CASE("interim helpers", "[state]") {
    InterimState interim;
    interim_start(interim, "P1", {"h1", "h2"});
    interim_start(interim, "P2", {"h2"});
    interim_start(interim, "P3", {});
    CHECK(interim == InterimState{{"P1", {"h1", "h2"}}, {"P2", {"h2"}}});
    CHECK(interim_has_host(interim, "h2"));
    interim_host_reported(interim, "h2");
    CHECK(interim == InterimState{{"P1", {"h1"}}});
    CHECK_FALSE(interim_has_host(interim, "h2"));
    interim_start(interim, "P1", {"h1", "h3"});  // a new operation resets the list
    interim_drop_host(interim, "h1");
    CHECK(interim == InterimState{{"P1", {"h3"}}});
    interim_drop_host(interim, "h3");
    CHECK(interim.empty());
    interim_start(interim, "P1", {"h1"});
    interim_start(interim, "P1", {});
    CHECK(interim.empty());
}

TEST_CASE("the reference rules on interim lists in the pure function", "[state]") {
    const PatchInfo p = make_patch("P1", RepoState::APPLIED);
    const HostReport current = make_host("h1");
    // a listed patch is partial even if its list is empty (only the tracker never keeps one)
    CHECK(compute({p}, {current}, {{"P1", {}}}).states.at("P1") == PatchState::PARTIAL_APPLY);
    // Available in the list: Partial-Remove; list entries for unknown patches are ignored
    PatchInfo avail = make_patch("P2", RepoState::AVAILABLE);
    const StateResult r = compute({p, avail}, {current}, {{"P2", {"h1"}}, {"P9", {"h1"}}});
    CHECK(r.states == std::map<std::string, PatchState>{
                          {"P1", PatchState::APPLIED}, {"P2", PatchState::PARTIAL_REMOVE}});
}

TEST_CASE("tracker bookkeeping: replace, remove, clear, unknown IDs", "[state]") {
    Tracker t;
    t.update_host(make_host("h1", true, {{"pkgA", "1.0-1@x86_64"}, {"pkgB", "3-1@noarch"}}));
    t.set_patch(make_patch("P1", RepoState::APPLIED, {{"pkgB", "2-1"}}));
    CHECK(t.state("P1") == PatchState::APPLIED);
    t.set_patch(make_patch("P1", RepoState::APPLIED, {{"pkgA", "1.0-2"}}));  // re-import
    CHECK(t.state("P1") == PatchState::PARTIAL_APPLY);
    CHECK(t.get().find_patch("P1")->content_versions.count("pkgA") == 1);
    t.start_interim("P1");
    t.set_patch(make_patch("P1", RepoState::APPLIED, {{"pkgB", "2-1"}}));
    CHECK(t.get().get_interim().count("P1") == 1);  // a replaced patch keeps its list
    CHECK(t.state("P1") == PatchState::PARTIAL_APPLY);
    t.clear_interim();
    CHECK(t.state("P1") == PatchState::APPLIED);
    t.start_interim("P1");
    t.remove_patch("P1");
    CHECK(t.state("P1") == PatchState::NA);
    CHECK(t.get().get_states().empty());
    CHECK(t.get().get_interim().empty());
    CHECK_FALSE(t.get().is_host_in_interim("h1"));
    CHECK(t.get().find_patch("P1") == nullptr);
    REQUIRE(t.get().find_host("h1") != nullptr);
    CHECK(t.get().find_host("h1")->installed.size() == 2);
    CHECK(t.get().get_host_count() == 1);
    t.remove_patch("P1");

    PatchStateTracker raw;
    CHECK_THROWS_AS(raw.set_repostate("nope", RepoState::APPLIED), AssertionError);
    CHECK_THROWS_AS(raw.start_interim("nope"), AssertionError);
}

TEST_CASE("incremental tracking equals full recomputation over random histories", "[state]") {
    const std::vector<std::string> packages = {"p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7"};
    const std::vector<std::string> versions = {"1.0-1", "1.0-2", "1.1-1", "2.0-1", "1.0-10",
                                               "1.0~rc1-1"};
    const std::vector<std::string> installed_versions = {
        "1.0-1@x86_64", "1.0-2@x86_64", "1.1-1@noarch", "1:1.0-1@x86_64", "12:2.0-1@x86_64",
        "0.9-1@x86_64", "1.0-10@i686", "3.0-1@x86_64"};
    const std::vector<std::string> releases = {"21.12", "22.12", "14.10"};
    const std::vector<std::string> personalities = {"controller", "worker", "controller-worker",
                                                    "storage"};
    const std::vector<std::vector<std::string>> subfunction_sets = {
        {"controller"}, {"worker"}, {"controller", "worker"}, {"storage"}};
    const std::vector<RepoState> repostates = {RepoState::AVAILABLE, RepoState::APPLIED,
                                               RepoState::COMMITTED};

    size_t total_steps = 0;
    for (unsigned seed : {1U, 2U, 3U, 4U, 5U}) {
        std::mt19937 rng(seed);
        auto pick = [&](const auto& list) -> const auto& {
            return list[std::uniform_int_distribution<size_t>(0, list.size() - 1)(rng)];
        };
        auto chance = [&](int percent) {
            return std::uniform_int_distribution<int>(0, 99)(rng) < percent;
        };
        auto random_id = [&](char prefix, int count) {
            return std::string(1, prefix) +
                   std::to_string(std::uniform_int_distribution<int>(0, count - 1)(rng));
        };
        auto random_patch = [&](const std::string& id) {
            PatchInfo p;
            p.id = id;
            p.sw_version = pick(releases);
            p.repostate = pick(repostates);
            p.reboot_required = chance(50);
            for (int n = std::uniform_int_distribution<int>(0, 3)(rng); n > 0; --n) {
                p.content_versions[pick(packages)] = pick(versions);
            }
            for (const auto& [pkg, version] : p.content_versions) {
                if (chance(40)) {
                    p.personalities[pick(personalities)].push_back(pkg);
                }
            }
            if (chance(10)) {
                p.personalities[pick(personalities)].push_back(pick(packages));
            }
            return p;
        };
        auto random_host = [&](const std::string& id) {
            HostReport h;
            h.host_id = id;
            h.out_of_date = chance(70);
            h.sw_version = pick(releases);
            h.subfunctions = pick(subfunction_sets);
            h.nodetype = pick(personalities);
            for (int n = std::uniform_int_distribution<int>(0, 3)(rng); n > 0; --n) {
                h.installed[pick(packages)] = pick(installed_versions);
            }
            for (int n = std::uniform_int_distribution<int>(0, 2)(rng); n > 0; --n) {
                h.to_remove.push_back(pick(packages));
            }
            for (int n = std::uniform_int_distribution<int>(0, 2)(rng); n > 0; --n) {
                h.missing_pkgs.push_back(pick(packages));
            }
            return h;
        };

        PatchStateTracker tracker;
        std::map<std::string, PatchInfo> patches;  // the model, kept by the test
        std::map<std::string, HostReport> hosts;
        InterimState interim;
        for (int step = 0; step < 1500; ++step, ++total_steps) {
            const int op = std::uniform_int_distribution<int>(0, 99)(rng);
            if (op < 15) {
                PatchInfo p = random_patch(random_id('P', 8));
                patches[p.id] = p;
                tracker.set_patch(p);
            } else if (op < 19) {
                const std::string id = random_id('P', 8);
                patches.erase(id);
                interim.erase(id);
                tracker.remove_patch(id);
            } else if (op < 32 && !patches.empty()) {
                auto it = patches.begin();
                std::advance(it, std::uniform_int_distribution<long>(
                                     0, static_cast<long>(patches.size()) - 1)(rng));
                const RepoState state = pick(repostates);
                it->second.repostate = state;
                tracker.set_repostate(it->first, state);
                if (chance(70)) {
                    std::set<std::string> ids;
                    for (const auto& [host_id, host] : hosts) {
                        ids.insert(host_id);
                    }
                    interim_start(interim, it->first, ids);
                    tracker.start_interim(it->first);
                }
            } else if (op < 50) {
                HostReport h = random_host(random_id('H', 6));
                hosts[h.host_id] = h;
                tracker.update_host(h);
            } else if (op < 80) {
                HostReport h = random_host(random_id('H', 6));
                hosts[h.host_id] = h;
                interim_host_reported(interim, h.host_id);
                tracker.host_reported(h);
            } else if (op < 97) {
                const std::string id = random_id('H', 6);
                hosts.erase(id);
                interim_drop_host(interim, id);
                tracker.drop_host(id);
            } else {
                interim.clear();
                tracker.clear_interim();
            }
            INFO("seed " << seed << " step " << step << " op " << op);
            REQUIRE(tracker.get_interim() == interim);
            const StateResult expected = compute_patch_states(patches, hosts, interim);
            REQUIRE(tracker.get_result() == expected);
            REQUIRE(tracker.recompute_all() == expected);
            for (const auto& [host_id, host] : hosts) {
                REQUIRE(tracker.is_host_in_interim(host_id) == interim_has_host(interim, host_id));
            }
        }
    }
    CHECK(total_steps >= 1000);
}
