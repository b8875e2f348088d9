// SPDX-License-Identifier: Apache-2.0
// sw-patch writes text from the controller to a terminal with its control characters shown,
// not obeyed (issue #10).
#include "terminal_text.hpp"

#include "support/test_support.hpp"
#include "sw_patch/fake_controller.hpp"

#include <catch2/catch.hpp>

#include <ostream>
#include <sstream>

using patching::client::neutralise_controls;
using patching::client::TerminalSafeBuf;
using patching::test::FakeController;
using patching::test::route_table;

TEST_CASE("control characters are made visible", "[sw_patch][terminal]") {
    CHECK(neutralise_controls("\x1b]0;owned\x07\x1b[2Jsummary") == "^[]0;owned^G^[[2Jsummary");
    CHECK(neutralise_controls("a\tb\nc\rd\x7f") == "a\tb\nc^Md^?");
    CHECK(neutralise_controls("a\rb", true) == "a\rb");
    CHECK(neutralise_controls("csi \xC2\x9B" "31m") == "csi \\u009B31m");
    const std::string utf8 = "caf\xC3\xA9 \xC2\xA0 \xE2\x80\x99 \xF0\x9F\x98\x80";
    CHECK(neutralise_controls(utf8) == utf8);
}

TEST_CASE("the terminal streambuf neutralises byte by byte, as neutralise_controls does", "[sw_patch][terminal]") {
    const std::string text = "Summary: \x1b[31mred\x1b[0m \xC2\x9B" "2J caf\xC3\xA9\n";
    std::ostringstream target;
    TerminalSafeBuf safe(target.rdbuf(), false);
    std::ostream out(&safe);
    for (char c : text) {
        out << c;
    }
    out << std::flush;
    CHECK(target.str() == neutralise_controls(text));
    CHECK(target.str().find('\x1b') == std::string::npos);
}

TEST_CASE("sw-patch show writes a hostile summary neutralised to a terminal, raw to a pipe", "[sw_patch][terminal]") {
    // What a controller could send: an escape sequence that retitles the window and clears it.
    FakeController server(route_table({
        {"POST /v1/show/", {200, R"({"metadata": {"P1": {"sw_version": "22.12", "patchstate": "Applied",
            "summary": "\u001b]0;owned\u0007\u001b[2JSum"}}, "contents": {"P1": []}, "error": ""})"}},
    }));
    const std::string command = "LC_ALL=C SW_PATCH_CONTROLLER=" + server.url() + " " SW_PATCH_BINARY " show P1";
    std::string on_terminal;
    // script(1) (util-linux, Debian-required) gives the command a pseudo-terminal.
    REQUIRE(patching::test::run_command("script -qec '" + command + "' /dev/null", &on_terminal) == 0);
    CHECK(on_terminal.find("Summary:        ^[]0;owned^G^[[2JSum") != std::string::npos);
    CHECK(on_terminal.find('\x1b') == std::string::npos);
    std::string piped;
    REQUIRE(patching::test::run_command(command + " | cat", &piped) == 0);
    CHECK(piped.find("Summary:        \x1b]0;owned\x07\x1b[2JSum") != std::string::npos);
    // Our clients' header went with every request.
    for (const auto& request : server.requests()) {
        CHECK(request.header("x-patching-client") == "sw-patch/1");
    }
}
