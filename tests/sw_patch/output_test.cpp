// SPDX-License-Identifier: Apache-2.0
// Layouts compared byte for byte with the reference: the §6.3 samples of the spec, and strings
// produced by Python's textwrap / str.format for the same data.
#include "output.hpp"

#include <catch2/catch.hpp>

using namespace patching::client;
using nlohmann::json;

namespace {

Response ok(json body) {
    return Response{200, std::move(body)};
}

}  // namespace

TEST_CASE("query table matches the spec sample", "[sw_patch][output]") {
    json pd = {
        {"TS_21.12_PATCH_0002",
         {{"sw_version", "21.12"},
          {"repostate", "Applied"},
          {"patchstate", "Partial-Remove"},
          {"reboot_required", "Y"}}},
        {"TS_21.12_PATCH_0001",
         {{"sw_version", "21.12"},
          {"repostate", "Applied"},
          {"patchstate", "Applied"},
          {"reboot_required", "N"}}},
    };
    CHECK(
        format_query_table(pd) ==
        "     Patch ID        RR  Release   Patch State\n"
        "===================  ==  =======  ==============\n"
        "TS_21.12_PATCH_0001  N    21.12      Applied\n"
        "TS_21.12_PATCH_0002  Y    21.12   Partial-Remove\n"
        "\n");
}

TEST_CASE("query table shows Repo State when a patchstate is n/a", "[sw_patch][output]") {
    json pd = {
        {"TS_22.12_PATCH_0001",
         {{"sw_version", "22.12"},
          {"repostate", "Applied"},
          {"patchstate", "n/a"},
          {"reboot_required", "N"}}},
        // No reboot_required: the reference shows Y.
        {"TS_22.12_PATCH_0010_LONGER",
         {{"sw_version", "22.12"}, {"repostate", "Available"}, {"patchstate", "n/a"}}},
    };
    CHECK(
        format_query_table(pd) ==
        "         Patch ID           RR  Release  Repo State  Patch State\n"
        "==========================  ==  =======  ==========  ===========\n"
        "TS_22.12_PATCH_0001         N    22.12    Applied        n/a\n"
        "TS_22.12_PATCH_0010_LONGER  Y    22.12   Available       n/a\n"
        "\n");
}

TEST_CASE("an empty query still prints the header", "[sw_patch][output]") {
    CHECK(
        format_op_result(
            ok({{"pd", json::object()}, {"info", ""}, {"warning", ""}, {"error", ""}})) ==
        "Patch ID  RR  Release  Patch State\n"
        "========  ==  =======  ===========\n"
        "\n");
}

TEST_CASE("query-hosts table matches the spec sample", "[sw_patch][output]") {
    json data = json::array({
        {{"hostname", "controller-0"},
         {"ip", "192.168.204.2"},
         {"patch_current", true},
         {"requires_reboot", false},
         {"sw_version", "21.12"},
         {"state", "idle"},
         {"patch_failed", false},
         {"interim_state", false}},
        {{"hostname", "compute-1"},
         {"ip", "192.168.204.61"},
         {"patch_current", false},
         {"requires_reboot", false},
         {"sw_version", "21.12"},
         {"state", "idle"},
         {"patch_failed", false},
         {"interim_state", true}},
        {{"hostname", "compute-0"},
         {"ip", "192.168.204.60"},
         {"patch_current", false},
         {"requires_reboot", true},
         {"sw_version", "21.12"},
         {"state", "install-failed"},
         {"patch_failed", true},
         {"interim_state", true}},
    });
    CHECK(
        format_hosts_result(ok({{"data", data}})) ==
        "  Hostname      IP Address    Patch Current  Reboot Required  Release      State\n"
        "============  ==============  =============  ===============  =======  ==============\n"
        "compute-0     192.168.204.60     Failed            Yes         21.12   install-failed\n"
        "compute-1     192.168.204.61     Pending           No          21.12        idle\n"
        "controller-0  192.168.204.2        Yes             No          21.12        idle\n");
}

TEST_CASE("query-hosts without data", "[sw_patch][output]") {
    CHECK(
        format_hosts_result(ok({{"data", json::array()}})) ==
        "Hostname  IP Address  Patch Current  Reboot Required  Release  State\n"
        "========  ==========  =============  ===============  =======  =====\n");
    CHECK(format_hosts_result(ok({{"x", 1}})) == "Invalid data returned:\n{\n    \"x\": 1\n}\n");
    CHECK(
        format_hosts_result(Response{500, {{"error", "boom"}}}) ==
        std::string(INTERNAL_ERROR_MESSAGE) + "\nError:\nboom\n");
}

TEST_CASE("messages: info as is, then Warning: and Error: blocks", "[sw_patch][output]") {
    CHECK(
        format_messages({{"info", "P1 is now in the repo\n"}, {"warning", ""}, {"error", ""}}) ==
        "P1 is now in the repo\n\n");
    CHECK(
        format_messages(
            {{"info", ""},
             {"warning", "Unremovable patch P1 being removed\n"},
             {"error", "Patch P2 does not exist\n"}}) ==
        "Warning:\nUnremovable patch P1 being removed\n\nError:\nPatch P2 does not exist\n\n");
    CHECK(format_messages(json(true)).empty());
    CHECK(
        format_op_result(Response{500, json::object()}) ==
        std::string(INTERNAL_ERROR_MESSAGE) + "\n");
    CHECK(
        format_op_result(Response{409, {{"error", "Rejected: busy"}}}) ==
        "Error:\nRejected: busy\n");
}

TEST_CASE("show layout matches the reference at 72 and 96 columns", "[sw_patch][output]") {
    json data = {
        {"metadata",
         {{"TS_21.12_PATCH_0002",
           {{"sw_version", "21.12"},
            {"patchstate", "n/a"},
            {"repostate", "Available"},
            {"status", "REL"},
            {"unremovable", "N"},
            {"reboot_required", "Y"},
            {"apply_active_release_only", ""},
            {"summary",
             "Fix the patch-agent restart when the node is locked under heavy load on "
             "controller-0"},
            {"description",
             "First line of the description, which is long enough to need wrapping at "
             "seventy-two columns.\n\nThird line after a blank one."},
            {"install_instructions",
             "Lock the host.\nRun sw-patch host-install controller-0 and wait for the "
             "installation to complete before unlocking."},
            {"warnings", "Reboot required."},
            {"requires", {"TS_21.12_PATCH_0001"}}}},
          {"TS_21.12_PATCH_0001",
           {{"sw_version", "21.12"},
            {"patchstate", "Applied"},
            {"repostate", "Applied"},
            {"status", "REL"},
            {"unremovable", "Y"},
            {"reboot_required", "N"},
            {"apply_active_release_only", "Y"},
            {"summary", "First"},
            {"description", ""},
            {"install_instructions", ""},
            {"warnings", ""},
            {"requires", json::array()}}}}},
        {"contents",
         {{"TS_21.12_PATCH_0002", {"pkg-b-1.0-1.x86_64.rpm", "pkg-a-2.0-1.x86_64.rpm"}},
          {"TS_21.12_PATCH_0001", json::array()}}},
        {"error", "TS_99 is unrecognized\n"}};
    const std::string head =
        "TS_21.12_PATCH_0001:\n    Release:        21.12\n    Patch State:    Applied\n"
        "    Status:         REL\n    Unremovable:    Y\n    RR:             N\n"
        "    Apply Active Release Only: Y\n    Summary:        First\n    Contents:\n\n\n"
        "TS_21.12_PATCH_0002:\n    Release:        21.12\n    Patch State:    n/a\n"
        "    Repo State:     Available\n    Status:         REL\n    Unremovable:    N\n"
        "    RR:             Y\n";
    const std::string tail =
        "    Warnings:       Reboot required.\n    Requires:\n                    "
        "TS_21.12_PATCH_0001\n    Contents:\n                    pkg-a-2.0-1.x86_64.rpm\n"
        "                    pkg-b-1.0-1.x86_64.rpm\n\n\nError:\nTS_99 is unrecognized\n\n";
    CHECK(
        format_show_result(ok(data), 72) ==
        head +
            "    Summary:        Fix the patch-agent restart when the node is locked\n"
            "                    under heavy load on controller-0\n"
            "    Description:    First line of the description, which is long enough\n"
            "                    to need wrapping at seventy-two columns.\n\n"
            "                    Third line after a blank one.\n"
            "    Install Instructions:\n                    Lock the host.\n"
            "                    Run sw-patch host-install controller-0 and wait for\n"
            "                    the installation to complete before unlocking.\n" +
            tail);
    CHECK(
        format_show_result(ok(data), 96) ==
        head +
            "    Summary:        Fix the patch-agent restart when the node is locked under heavy "
            "load on\n                    controller-0\n"
            "    Description:    First line of the description, which is long enough to need "
            "wrapping at\n                    seventy-two columns.\n\n"
            "                    Third line after a blank one.\n"
            "    Install Instructions:\n                    Lock the host.\n"
            "                    Run sw-patch host-install controller-0 and wait for the "
            "installation to\n                    complete before unlocking.\n" +
            tail);
}

TEST_CASE("wrap width follows the terminal like set_term_width", "[sw_patch][output]") {
    CHECK(wrap_width(std::nullopt) == 72);
    CHECK(wrap_width(60) == 72);
    CHECK(wrap_width(61) == 57);
    CHECK(wrap_width(120) == 116);
}

TEST_CASE("wrap_text reproduces Python's textwrap.fill", "[sw_patch][output]") {
    const std::string i20(20, ' ');
    CHECK(
        wrap_text(
            "    Description:    This patch fixes the in-service restart of the patch-agent "
            "daemon when the node is locked and the controller-0 host is under heavy load",
            72, "", i20) ==
        "    Description:    This patch fixes the in-service restart of the\n"
        "                    patch-agent daemon when the node is locked and the\n"
        "                    controller-0 host is under heavy load");
    // A word longer than the line is broken, at the width (no hyphen in reach).
    CHECK(
        wrap_text(
            "    Summary:        Averyveryveryverylongwordwithoutanyspacesthatmustbebroken"
            "becauseitistoolongforthewidth-andhasahyphen end",
            72, "", i20) ==
        "    Summary:        Averyveryveryverylongwordwithoutanyspacesthatmustbeb\n"
        "                    rokenbecauseitistoolongforthewidth-andhasahyphen end");
    CHECK(
        wrap_text("    Apply Active Release Only: Y", 72, "", i20) ==
        "    Apply Active Release Only: Y");
    CHECK(
        wrap_text(
            "Partial-Apply state-of-the-art x86_64-linux --all foo--bar e-mail a-b-c "
            "re-re-entry",
            20, "", "  ") ==
        "Partial-Apply state-\n  of-the-art\n  x86_64-linux --all\n  foo--bar e-mail\n"
        "  a-b-c re-re-entry");
    CHECK(
        wrap_text("tabs\there\tand  double  spaces", 15, "> ", ">> ") ==
        "> tabs    here\n>> and  double\n>> spaces");
    CHECK(wrap_text("", 20, i20, i20).empty());
    CHECK(
        wrap_text("   leading spaces kept on first line only", 20, "", "    ") ==
        "   leading spaces\n    kept on first\n    line only");
    CHECK(
        wrap_text("naïve café résumé-writing über-long-compound", 18) ==
        "naïve café résumé-\nwriting über-long-\ncompound");
}

TEST_CASE("commit warning wraps with a 9-space hanging indent", "[sw_patch][output]") {
    CHECK(
        format_commit_warning(72) ==
        "WARNING: Committing a patch is an irreversible operation. Committed\n"
        "         patches cannot be removed.\n");
    CHECK(
        format_commit_warning(40) ==
        "WARNING: Committing a patch is an\n         irreversible operation.\n"
        "         Committed patches cannot be\n         removed.\n");
}

TEST_CASE("centring and padding follow str.format", "[sw_patch][output]") {
    CHECK(center("ab", 5) == " ab  ");
    CHECK(center("abc", 2) == "abc");
    CHECK(pad_right("é", 3) == "é  ");
    CHECK(display_length("naïve") == 5);
}

TEST_CASE("query-dependencies prints sorted IDs one per line", "[sw_patch][output]") {
    CHECK(
        format_dependencies_result(ok({{"patches", {"B", "A", "C"}}, {"error", ""}})) ==
        "A\nB\nC\n");
    CHECK(
        format_dependencies_result(
            ok({{"patches", json::array()}, {"error", "X is unrecognized\n"}})) ==
        "Error:\nX is unrecognized\n\n");
}

TEST_CASE("application dependencies table", "[sw_patch][output]") {
    CHECK(format_app_dependencies(json::object()) == "There are no application dependencies.\n");
    json deps = {{"platform-integ-apps", {"P2", "P1"}}, {"a", {"P_LONGER_NAME_0001"}}};
    CHECK(
        format_app_dependencies(deps) ==
        "Application          Required Patches\n"
        "===================  ==================\n"
        "a                    P_LONGER_NAME_0001\n"
        "platform-integ-apps  P2, P1\n");
}

TEST_CASE("is-applied prints True or False like Python", "[sw_patch][output]") {
    CHECK(format_bool_result(ok(true)) == "True\n");
    CHECK(format_bool_result(ok(false)) == "False\n");
    CHECK(format_bool_result(Response{404, {{"error", "x"}}}) == "False\n");
}

TEST_CASE("debug and JSON output formats", "[sw_patch][output]") {
    json body = {{"pd", {{"P1", {{"sw_version", "21.12"}, {"b", 1}}}}}, {"info", ""}};
    CHECK(
        format_debug(ok(body)) ==
        "{\n    \"P1\": {\n        \"b\": 1,\n        \"sw_version\": \"21.12\"\n    }\n}\n");
    CHECK(format_debug(ok({{"data", json::array()}})) == "[]\n");
    CHECK(format_debug(ok({{"info", "é"}})) == "{\n    \"info\": \"\\u00e9\"\n}\n");
    CHECK(
        format_debug(Response{500, json::object()}) == std::string(INTERNAL_ERROR_MESSAGE) + "\n");
    CHECK(
        format_json(body) ==
        "{\n    \"info\": \"\",\n    \"pd\": {\n        \"P1\": {\n            \"b\": 1,\n"
        "            \"sw_version\": \"21.12\"\n        }\n    }\n}\n");
}

TEST_CASE("upload progress line", "[sw_patch][output]") {
    CHECK(
        format_progress("P.patch", 0, 4U << 20U, 0) ==
        "P.patch  [                    ]    0%      0.0/4.0 MiB  0.0 MiB/s");
    CHECK(
        format_progress("P.patch", 2U << 20U, 4U << 20U, 1.0) ==
        "P.patch  [##########          ]   50%      2.0/4.0 MiB  2.0 MiB/s");
    CHECK(
        format_progress("P.patch", 4U << 20U, 4U << 20U, 2.0) ==
        "P.patch  [####################]  100%      4.0/4.0 MiB  2.0 MiB/s");
    CHECK(
        format_progress("empty.patch", 0, 0, 0) ==
        "empty.patch  [####################]  100%      0.0/0.0 MiB  0.0 MiB/s");
}
