// SPDX-License-Identifier: Apache-2.0
// Atomic files with deferred durability and grouped syncs (the agent's flags and ledger).
#include <patch_core/errors.hpp>
#include <patch_core/fs.hpp>

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

namespace fs = std::filesystem;
using patching::core::AtomicFile;
using patching::core::Sync;
using patching::test::TempDir;

TEST_CASE("An atomic file committed without a sync is in place and leaves no temporary", "[core][fs]") {
    TempDir dir;
    const fs::path target = dir.path() / "ledger";
    patching::test::write_file(target, "old\n");
    {
        AtomicFile file(target);
        file.write_all("new\n", 4);
        CHECK(patching::test::read_file(target) == "old\n");  // nothing visible before commit
        // The caller syncs the data before the rename, then the directory.
        patching::core::sync_paths({file.temp_path()});
        file.commit(Sync::LATER);
        patching::core::sync_paths({dir.path()});
    }
    CHECK(patching::test::read_file(target) == "new\n");
    patching::core::write_file_atomically(dir.path() / "flag", "x", 0644, Sync::LATER);
    CHECK(patching::test::read_file(dir.path() / "flag") == "x");
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.path())) {
        ++entries;
    }
    CHECK(entries == 2);
}

TEST_CASE("sync_paths syncs files and directories once each and skips vanished ones", "[core][fs]") {
    TempDir dir;
    patching::test::write_file(dir.path() / "a", "a");
    patching::test::write_file(dir.path() / "b", "b");
    CHECK_NOTHROW(patching::core::sync_paths(
        {dir.path() / "a", dir.path() / "b", dir.path() / "a", dir.path() / "gone", dir.path()}));
    CHECK_NOTHROW(patching::core::sync_paths({}));
    CHECK_THROWS_AS(
        patching::core::sync_paths({dir.path() / "a" / "not-a-directory"}),
        patching::core::SystemError);
}
