// SPDX-License-Identifier: Apache-2.0
// The agent's record of the commands it ran (issue #9 item 7): durable, bounded, survives a
// reload, and a damaged file is an error naming the file and what to do.
#include "support/test_support.hpp"

#include <commands/command_journal.hpp>

#include <catch2/catch.hpp>

using namespace patching;
using namespace patching::agent;
namespace proto = patching::core::protocol;

TEST_CASE("The command journal keeps the newest ids, across reloads", "[agent][commands]") {
    test::TempDir dir;
    const auto file = dir / "commands";
    {
        CommandJournal journal(file, 3);
        CHECK_FALSE(journal.last());
        journal.record({"1-a", proto::CommandKind::INSTALL, proto::CommandStatus::RUNNING, ""});
        journal.record({"1-a", proto::CommandKind::INSTALL, proto::CommandStatus::FAILED, "tab\there\nnewline \\ slash"});
        journal.record({"2-b", proto::CommandKind::INSTALL, proto::CommandStatus::OK, ""});
        journal.record({"3-c", proto::CommandKind::REBOOT, proto::CommandStatus::REJECTED, "cannot"});
        REQUIRE(journal.find("1-a"));
        CHECK(journal.find("1-a")->status == proto::CommandStatus::FAILED);
        journal.record({"4-d", proto::CommandKind::INSTALL, proto::CommandStatus::RUNNING, ""});
        CHECK_FALSE(journal.find("1-a"));  // the oldest went: capacity 3
    }
    CommandJournal reloaded(file, 3);
    CHECK_FALSE(reloaded.find("1-a"));
    REQUIRE(reloaded.find("3-c"));
    CHECK(reloaded.find("3-c")->kind == proto::CommandKind::REBOOT);
    CHECK(reloaded.find("3-c")->reason == "cannot");
    REQUIRE(reloaded.last());
    CHECK(reloaded.last()->id == "4-d");
    CHECK(reloaded.last()->status == proto::CommandStatus::RUNNING);

    // Reasons with tabs and newlines come back whole.
    reloaded.record({"5-e", proto::CommandKind::INSTALL, proto::CommandStatus::FAILED, "a\tb\nc\\d"});
    CHECK(CommandJournal(file, 3).find("5-e")->reason == "a\tb\nc\\d");
    // A smaller capacity at the next start keeps the newest.
    CommandJournal smaller(file, 1);
    CHECK(smaller.last()->id == "5-e");
    CHECK_FALSE(smaller.find("4-d"));
}

TEST_CASE("A damaged command journal is an error naming the file and what to do", "[agent][commands]") {
    test::TempDir dir;
    const auto file = dir / "commands";
    test::write_file(file, "1-a\tinstall\tok\t\nthis is not a record\n");
    CHECK_THROWS_WITH(CommandJournal(file, 10), Catch::Contains(file.string() + " line 2") &&
                                                    Catch::Contains("move it away"));
    test::write_file(file, "1-a\tinstall\tqueued-ish\t\n");
    CHECK_THROWS_WITH(CommandJournal(file, 10), Catch::Contains("line 1"));
}
