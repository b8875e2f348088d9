// SPDX-License-Identifier: Apache-2.0
// The INI reader: syntax, schema, range checks, and "file:line" in every message.
#include <common/ini.hpp>

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace ini = patching::common::ini;
using Catch::Contains;
using patching::test::TempDir;
using patching::test::write_file;

namespace {

struct Settings {
    std::string name = "default";
    std::uint16_t port = 5487;
    int workers = 4;
    bool flag = false;
    std::optional<std::filesystem::path> file;
    double seconds = 1.5;
};

ini::Schema schema_for(Settings& s) {
    ini::Schema schema;
    schema.section("daemon")
        .text("name", s.name)
        .number<std::uint16_t>("port", s.port, 0, 65535)
        .number("workers", s.workers, 1, 64)
        .boolean("flag", s.flag)
        .path("file", s.file)
        .real("seconds", s.seconds, 0, 3600);
    return schema;
}

Settings read(const std::string& text) {
    Settings s;
    schema_for(s).apply(ini::Document::parse(text, "daemon.conf"));
    return s;
}

std::string error_of(const std::string& text) {
    try {
        read(text);
    } catch (const ini::Error& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("An INI file is read into the schema's targets", "[common][ini]") {
    Settings s = read(
        "# comment\n; another\n\n[daemon]\n name = ctl one \nport=70\nworkers = 8\nflag = yes\n"
        "file = /etc/x\nseconds = 2.5\n");
    CHECK(s.name == "ctl one");
    CHECK(s.port == 70);
    CHECK(s.workers == 8);
    CHECK(s.flag);
    CHECK(s.file == std::filesystem::path("/etc/x"));
    CHECK(s.seconds == 2.5);

    Settings defaults = read("[daemon]\n");
    CHECK(defaults.name == "default");
    CHECK(defaults.port == 5487);
}

TEST_CASE("A number out of range is refused naming file:line, never wrapped", "[common][ini]") {
    // 70000 would be 4464 as a 16-bit port.
    CHECK(
        error_of("[daemon]\n\nport = 70000\n") ==
        "daemon.conf:3: port must be a whole number from 0 to 65535, not \"70000\"");
    CHECK_THAT(error_of("[daemon]\nport = -1\n"), Contains("daemon.conf:2: port"));
    CHECK_THAT(error_of("[daemon]\nworkers = 0\n"), Contains("daemon.conf:2: workers must be a whole number from 1 to 64"));
    CHECK_THAT(error_of("[daemon]\nworkers = 65\n"), Contains("daemon.conf:2:"));
    CHECK_THAT(error_of("[daemon]\nworkers = 4x\n"), Contains("daemon.conf:2:"));
    CHECK_THAT(error_of("[daemon]\nworkers = \n"), Contains("daemon.conf:2:"));
    CHECK_THAT(error_of("[daemon]\nworkers = +4\n"), Contains("daemon.conf:2:"));
    CHECK_THAT(
        error_of("[daemon]\nworkers = 99999999999999999999999\n"), Contains("daemon.conf:2:"));
    CHECK_THAT(error_of("[daemon]\nseconds = -0.5\n"), Contains("daemon.conf:2: seconds must be a number from 0 to 3600"));
    CHECK_THAT(error_of("[daemon]\nseconds = soon\n"), Contains("daemon.conf:2:"));
    CHECK_THAT(error_of("[daemon]\nflag = maybe\n"), Contains("daemon.conf:2: flag must be true or false"));
}

TEST_CASE("Unknown keys and sections are errors naming file:line", "[common][ini]") {
    CHECK_THAT(
        error_of("[daemon]\nname = x\nprot = 1\n"),
        Contains("daemon.conf:3: unknown key \"prot\" in [daemon] (known keys: name, port,"));
    CHECK_THAT(
        error_of("[daemon]\n[other]\nname = x\n"),
        Contains("daemon.conf:2: unknown section [other] (expected [daemon])"));
    CHECK_THAT(error_of("name = x\n"), Contains("daemon.conf:1: name is outside any section"));
    CHECK_THAT(
        error_of("[daemon]\nname = a\nname = b\n"), Contains("daemon.conf:3: name is set twice"));
    CHECK_THAT(error_of("[daemon]\njust words\n"), Contains("daemon.conf:2: expected \"key = value\""));
    CHECK_THAT(error_of("[daemon\n"), Contains("daemon.conf:1: expected \"[section]\""));
    CHECK_THAT(error_of("[daemon]\n= x\n"), Contains("daemon.conf:2:"));
    // Control bytes of a hostile file do not reach the terminal.
    CHECK_THAT(error_of("[daemon]\nbad\x1b[2J = 1\n"), Contains("bad\\x1b[2J"));
}

TEST_CASE("A file without sections, quotes, and the last duplicate winning", "[common][ini]") {
    std::string controller;
    std::optional<double> timeout;
    ini::Schema schema;
    schema.section("").text("controller", controller).real("timeout", timeout, 0, 1e9);
    ini::Syntax syntax{.comment_chars = "#", .strip_quotes = true, .last_duplicate_wins = true};
    schema.apply(ini::Document::parse(
        "controller = x\ncontroller = \"http://a:1\"\ntimeout=3\n", "sw.conf", syntax));
    CHECK(controller == "http://a:1");
    CHECK(timeout == 3.0);
    CHECK_THROWS_WITH(
        schema.apply(ini::Document::parse("contoller = y\n", "sw.conf", syntax)),
        Contains("sw.conf:1: unknown key \"contoller\" (known keys: controller, timeout)"));
    CHECK_THROWS_WITH(
        schema.apply(ini::Document::parse("; not a comment here\n", "sw.conf", syntax)),
        Contains("sw.conf:1: expected \"key = value\""));
}

TEST_CASE("Document::load names the file it cannot read", "[common][ini]") {
    TempDir tmp;
    CHECK_THROWS_WITH(
        ini::Document::load(tmp / "absent.conf"),
        Contains("absent.conf") && Contains("No such file"));
    write_file(tmp / "d.conf", "[daemon]\nport = 70000\n");
    Settings s;
    CHECK_THROWS_WITH(
        schema_for(s).apply(ini::Document::load(tmp / "d.conf")),
        Contains((tmp / "d.conf").string() + ":2: port must be"));
}
