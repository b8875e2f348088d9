// SPDX-License-Identifier: Apache-2.0
// Times RepositoryPublisher on a repository of N packages: the initial publish, adding and
// removing one package, a no-change publish and a comps-only change, next to plain createrepo_c
// runs as baselines (a full run, and the reference's in-place `createrepo --update`).
// Usage: repo_publish_bench RPM_DIR WORK_DIR [N] [RUNS] [EXTRA_DIR]
//   RPM_DIR holds at least N+1 noarch RPMs (repo_publish_bench.sh generates them); the noarch
//   RPMs of EXTRA_DIR (e.g. large ones) are part of the base set too.
#include <controller/repo/repository.hpp>
#include <common/subprocess.hpp>

#include <patch_core/errors.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using patching::controller::PublishResult;
using patching::controller::RepoPackage;
using patching::controller::RepositoryPublisher;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_of(const std::function<void()>& fn) {
    auto start = Clock::now();
    fn();
    return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Timing {
    double best = 1e9;
    double worst = 0;
    std::size_t read = 0;
    bool incremental = false;
    void add(double s, const PublishResult& r) {
        best = std::min(best, s);
        worst = std::max(worst, s);
        read = r.packages_read.size();
        incremental = r.incremental;
    }
};

void print_row(const char* label, const Timing& t, bool show_read = true) {
    std::printf("  %-58s %8.3f s  (worst %.3f s)", label, t.best, t.worst);
    if (show_read) {
        std::printf("  RPMs read: %zu%s", t.read, t.incremental ? ", incremental" : "");
    }
    std::printf("\n");
}

void run_tool(const std::vector<std::string>& argv) {
    patching::common::subprocess::Options tool;
    tool.argv = argv;
    auto r = patching::common::subprocess::run(std::move(tool), {.timeout = std::chrono::minutes(30)});
    if (!r.is_success()) {
        throw patching::core::Error(argv[0] + " failed: " + r.output);
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s RPM_DIR WORK_DIR [N] [RUNS] [EXTRA_DIR]\n", argv[0]);
        return 2;
    }
    try {
        const fs::path rpm_dir = argv[1];
        const fs::path work = fs::absolute(argv[2]);
        const std::size_t n = argc > 3 ? std::stoul(argv[3]) : 1000;
        const int runs = argc > 4 ? std::stoi(argv[4]) : 3;

        std::vector<fs::path> rpms;
        for (const auto& entry : fs::directory_iterator(rpm_dir)) {
            if (entry.path().extension() == ".rpm") {
                rpms.push_back(entry.path());
            }
        }
        std::sort(rpms.begin(), rpms.end());
        if (rpms.size() < n + 1) {
            std::fprintf(
                stderr, "need %zu RPMs in %s, found %zu\n", n + 1, rpm_dir.c_str(), rpms.size());
            return 2;
        }
        std::vector<RepoPackage> base;
        for (std::size_t i = 0; i < n; ++i) {
            base.push_back({rpms[i], rpms[i].filename().string(), "noarch"});
        }
        std::uintmax_t extra_bytes = 0;
        if (argc > 5) {
            for (const auto& entry : fs::directory_iterator(argv[5])) {
                if (entry.path().filename().string().ends_with(".noarch.rpm")) {
                    base.push_back({entry.path(), entry.path().filename().string(), "noarch"});
                    extra_bytes += entry.file_size();
                }
            }
        }
        std::vector<RepoPackage> plus_one = base;
        plus_one.push_back({rpms[n], rpms[n].filename().string(), "noarch"});
        const std::string comps = "<comps>\n</comps>\n\n";
        const std::string comps2 =
            "<comps>\n  <group>\n    <id>updates-controller</id>\n    <packagelist/>\n  "
            "</group>\n</comps>\n";

        fs::remove_all(work);
        fs::create_directories(work);
        RepositoryPublisher publisher(work / "updates");
        const std::string rel = "bench";
        PublishResult result;

        Timing initial;
        Timing add;
        Timing remove;
        Timing noop;
        Timing comps_only;
        initial.add(seconds_of([&] { result = publisher.publish(rel, base, comps); }), result);
        for (int i = 0; i < runs; ++i) {
            add.add(seconds_of([&] { result = publisher.publish(rel, plus_one, comps); }), result);
            noop.add(seconds_of([&] { result = publisher.publish(rel, plus_one, comps); }), result);
            remove.add(seconds_of([&] { result = publisher.publish(rel, base, comps); }), result);
        }
        for (int i = 0; i < runs; ++i) {
            comps_only.add(
                seconds_of(
                    [&] { result = publisher.publish(rel, base, i % 2 == 0 ? comps2 : comps); }),
                result);
        }

        // Baselines on the same tree of N+1 packages.
        publisher.publish(rel, plus_one, comps);
        const fs::path dir = publisher.release_dir(rel);
        Timing full_nodb;
        Timing full_db;
        Timing ref_update;
        PublishResult none;
        for (int i = 0; i < runs; ++i) {
            const fs::path out = work / "baseline-out";
            fs::remove_all(out);
            fs::create_directories(out);
            full_nodb.add(
                seconds_of([&] {
                    run_tool(
                        {"createrepo_c", "-q", "--workers", "2", "--no-database", "--groupfile",
                         (dir / "comps.xml").string(), "--outputdir", out.string(), dir.string()});
                }),
                none);
            fs::remove_all(out);
            fs::create_directories(out);
            full_db.add(
                seconds_of([&] {
                    run_tool(
                        {"createrepo_c", "-q", "--workers", "2", "--groupfile",
                         (dir / "comps.xml").string(), "--outputdir", out.string(), dir.string()});
                }),
                none);
        }
        // The reference: `createrepo --update -g comps.xml <repo_dir>` in place, after adding one.
        const fs::path ref = work / "reference";
        fs::create_directories(ref / "Packages" / "noarch");
        fs::copy_file(dir / "comps.xml", ref / "comps.xml");
        for (const auto& pkg : base) {
            fs::create_hard_link(pkg.source, ref / "Packages" / "noarch" / pkg.file_name);
        }
        run_tool({"createrepo_c", "-q", "--workers", "2", "-g", "comps.xml", ref.string()});
        const fs::path extra = ref / "Packages" / "noarch" / plus_one.back().file_name;
        for (int i = 0; i < runs; ++i) {
            fs::create_hard_link(plus_one.back().source, extra);
            ref_update.add(
                seconds_of([&] {
                    run_tool(
                        {"createrepo_c", "-q", "--workers", "2", "--update", "-g", "comps.xml",
                         ref.string()});
                }),
                none);
            fs::remove(extra);
            run_tool(
                {"createrepo_c", "-q", "--workers", "2", "--update", "-g", "comps.xml",
                 ref.string()});
        }

        std::printf("repository of %zu packages (+1)", base.size());
        if (extra_bytes > 0) {
            std::printf(
                ", %zu of them from %s (%.0f MiB)", base.size() - n, argv[5],
                static_cast<double>(extra_bytes) / (1U << 20U));
        }
        std::printf(", best of %d runs\n", runs);
        std::printf("RepositoryPublisher::publish:\n");
        print_row("initial publish (full createrepo_c)", initial);
        print_row("add one package", add);
        print_row("remove one package", remove);
        print_row("nothing changed", noop);
        print_row("comps.xml changed only", comps_only);
        std::printf("baselines (createrepo_c, %zu packages):\n", plus_one.size());
        print_row("full run, --no-database", full_nodb, false);
        print_row("full run, with sqlite (createrepo default)", full_db, false);
        print_row("reference: in-place --update after adding one, sqlite", ref_update, false);
        fs::remove_all(work);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", patching::core::format_error_chain(e).c_str());
        return 1;
    }
}
