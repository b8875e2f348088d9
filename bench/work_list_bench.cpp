// SPDX-License-Identifier: Apache-2.0
// work-list-bench: 100,000 work requests (10,000 parents of 9 children over 2,000 hosts) in a
// fresh SQLite store, then the time of filtered list pages (the API's GET /v1/work-requests) and
// of reading one parent (work-request show). Prints its figures.
//   usage: work-list-bench [DIR]   (DIR: where the database goes; default a fresh /tmp dir)
#include <store/sqlite/sqlite_store.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

using namespace patching::controller;

namespace {

double ms_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
    std::filesystem::path dir = argc > 1 ? argv[1] : std::filesystem::temp_directory_path() / "work-list-bench";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    SqliteStore store(dir / "patching.db");
    const WorkState states[] = {WorkState::SUCCEEDED, WorkState::FAILED, WorkState::CANCELED, WorkState::SKIPPED};
    auto start = std::chrono::steady_clock::now();
    store.write([&](WriteTransaction& tx) {
        for (std::int64_t p = 1; p <= 100'000; p += 10) {
            StoredWorkRequest parent;
            parent.id = parent.root_id = p;
            parent.state = states[(p / 10) % 4];
            parent.target_kind = "GROUP";
            parent.target = "g" + std::to_string(p % 50);
            parent.params = "{}";
            parent.time_accepted = parent.time_finished = 1'700'000'000 + p;
            parent.total = 9;
            tx.work().put_work_request(parent);
            for (std::int64_t c = 1; c < 10; ++c) {
                StoredWorkRequest child = parent;
                child.id = p + c;
                child.parent_id = p;
                child.state = states[(p + c) % 4];
                child.host = "host-" + std::to_string((p + c) % 2000);
                child.target_set = {"P1", "P2", "P3"};
                tx.work().put_work_request(child);
            }
        }
    });
    std::printf("stored 100,000 work requests in %.0f ms\n", ms_since(start));
    struct Case {
        const char* what;
        WorkRequestFilter filter;
    };
    const Case cases[] = {
        {"parents, newest page", {{}, {}, "", std::int64_t{0}, 0, 50}},
        {"FAILED children of one host", {{WorkState::FAILED}, {}, "host-1233", {}, 0, 50}},
        {"FAILED or CANCELED, all", {{WorkState::FAILED, WorkState::CANCELED}, {}, "", {}, 0, 50}},
        {"children of one parent", {{}, {}, "", std::int64_t{50001}, 0, 50}},
        {"HOST_INSTALL, a deep page", {{}, WorkOperation::HOST_INSTALL, "", {}, 20000, 50}},
    };
    double worst = 0;
    for (const auto& c : cases) {
        start = std::chrono::steady_clock::now();
        const auto page = store.work_queries().list_work_requests(c.filter);
        const double ms = ms_since(start);
        worst = std::max(worst, ms);
        std::printf("list page (%s): %zu rows in %.2f ms\n", c.what, page.size(), ms);
    }
    start = std::chrono::steady_clock::now();
    const auto one = store.work_queries().work_request(50001);
    std::printf("show one parent: %s in %.2f ms\n", one ? "found" : "missing", ms_since(start));
    std::printf("worst list page: %.2f ms (target <= 50 ms)\n", worst);
    std::filesystem::remove_all(dir);
    return worst <= 50.0 ? 0 : 1;
}
