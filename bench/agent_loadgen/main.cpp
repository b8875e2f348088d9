// SPDX-License-Identifier: Apache-2.0
// patch-agent-loadgen: thousands of simulated patch agents in one process, for
// bench/agent_bench.sh. See fleet.hpp for what they do and what is printed.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <patch_core/errors.hpp>
#include <patch_core/fs.hpp>
#include <string>

#include "fleet.hpp"

namespace {

using patching::core::Error;

// "name-[E:]V-R.arch", e.g. fixture-alpha-1.0-1.noarch.
patching::rpm::InstalledPackage parse_nevra(const std::string& text) {
    patching::rpm::InstalledPackage p;
    const auto dot = text.rfind('.');
    const auto rel_dash = dot == std::string::npos ? std::string::npos : text.rfind('-', dot);
    const auto ver_dash = rel_dash == std::string::npos || rel_dash == 0
                              ? std::string::npos
                              : text.rfind('-', rel_dash - 1);
    if (ver_dash == std::string::npos || ver_dash == 0) {
        throw Error("--installed " + text + ": expected NAME-[E:]VERSION-RELEASE.ARCH");
    }
    p.name = text.substr(0, ver_dash);
    std::string version = text.substr(ver_dash + 1, rel_dash - ver_dash - 1);
    if (auto colon = version.find(':'); colon != std::string::npos) {
        p.epoch = version.substr(0, colon);
        version = version.substr(colon + 1);
    }
    p.version = version;
    p.release = text.substr(rel_dash + 1, dot - rel_dash - 1);
    p.arch = text.substr(dot + 1);
    return p;
}

// "http://IP:PORT" -> address, port (the loadgen speaks plain HTTP to an IP address).
void parse_url(const std::string& url, patching::bench::FleetOptions& o) {
    const std::string scheme = "http://";
    if (url.rfind(scheme, 0) != 0) {
        throw Error("--controller must be http://IP:PORT, not " + url);
    }
    std::string rest = url.substr(scheme.size());
    while (!rest.empty() && rest.back() == '/') {
        rest.pop_back();
    }
    const auto colon = rest.rfind(':');
    if (colon == std::string::npos) {
        throw Error("--controller must name the port: " + url);
    }
    o.address = rest.substr(0, colon);
    o.port = static_cast<std::uint16_t>(std::stoul(rest.substr(colon + 1)));
}

}  // namespace

int main(int argc, char** argv) {
    patching::bench::FleetOptions o;
    CLI::App app{
        "Simulated patch agents speaking the real protocol to one controller "
        "(bench/agent_bench.sh)."};
    std::string url;
    std::string token_file;
    std::vector<std::string> installed;
    std::string subfunctions = "controller";
    int poll_wait_s = 25;
    bool no_fetch = false;
    app.add_option("--controller", url, "Controller URL, http://IP:PORT")->required();
    app.add_option("--enrolment-token-file", token_file, "The controller's enrolment token")
        ->required();
    app.add_option("--hosts", o.hosts, "Number of simulated hosts")->capture_default_str();
    app.add_option("--first-batch", o.first_batch, "Set up this many hosts, the rest on SIGUSR1");
    app.add_option("--prefix", o.prefix, "Host name prefix")->capture_default_str();
    app.add_option("--first-index", o.first_index, "Number of the first host")
        ->capture_default_str();
    app.add_option("--release", o.release, "The hosts' sw_version")->capture_default_str();
    app.add_option("--personality", o.personality, "The hosts' personality")->capture_default_str();
    app.add_option("--subfunctions", subfunctions, "Comma-separated subfunctions")
        ->capture_default_str();
    app.add_option(
        "--installed", installed, "A package in every host's rpmdb: NAME-[E:]V-R.ARCH (repeat)");
    app.add_option("--setup-concurrency", o.setup_concurrency, "Hosts setting up at once")
        ->capture_default_str();
    app.add_option("--poll-wait-seconds", poll_wait_s, "How long polls ask to be held")
        ->capture_default_str();
    app.add_flag(
        "--no-fetch-repodata", no_fetch, "On re-query fetch only repomd.xml (primary/comps once)");
    app.add_option("--stats-seconds", o.stats_seconds, "Seconds between stats lines")
        ->capture_default_str();
    app.add_option(
           "--install-seconds", o.install_seconds,
           "Accept install commands and report their outcome after this many seconds "
           "(default: refuse them)")
        ->check(CLI::Range(0.0, 86400.0));
    app.add_option(
           "--install-failure-rate", o.install_failure_rate,
           "Share of simulated installs that fail (0 to 1)")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    app.add_option(
           "--phase-seconds", o.phase_seconds,
           "Accept lock, unlock and hook commands and report them ok after this many seconds; a "
           "successful install then makes the host current (default: refuse them)")
        ->check(CLI::Range(0.0, 86400.0));
    app.add_option(
           "--reboot-seconds", o.reboot_seconds,
           "A reboot command: a new boot id and a hello this many seconds later")
        ->check(CLI::Range(0.0, 86400.0))
        ->capture_default_str();
    app.add_flag("--reboot-required", o.reboot_required, "With --phase-seconds: installs leave the host needing a reboot");
    CLI11_PARSE(app, argc, argv);
    try {
        parse_url(url, o);
        std::string token = patching::core::read_small_file(token_file, 4096);
        while (!token.empty() &&
               (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
            token.pop_back();
        }
        o.enrolment_token = token;
        for (const auto& p : installed) {
            o.installed.push_back(parse_nevra(p));
        }
        o.subfunctions.clear();
        for (std::size_t start = 0; start <= subfunctions.size();) {
            auto comma = subfunctions.find(',', start);
            if (comma == std::string::npos) {
                comma = subfunctions.size();
            }
            if (comma > start) {
                o.subfunctions.push_back(subfunctions.substr(start, comma - start));
            }
            start = comma + 1;
        }
        if (o.subfunctions.empty()) {
            throw Error("--subfunctions must name at least one");
        }
        o.poll_wait_ms = poll_wait_s * 1000;
        o.fetch_repodata = !no_fetch;
        // Two connections per host, plus slack.
        rlimit nofile{};
        getrlimit(RLIMIT_NOFILE, &nofile);
        nofile.rlim_cur = nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
        const auto needed = static_cast<rlim_t>(o.hosts) * 2 + 64;
        if (nofile.rlim_cur < needed) {
            throw Error(
                "needs " + std::to_string(needed) + " file descriptors, the hard limit is " +
                std::to_string(nofile.rlim_cur));
        }
        std::signal(SIGPIPE, SIG_IGN);
        patching::bench::Fleet fleet(o);
        return fleet.run();
    } catch (const std::exception& e) {
        std::cerr << "patch-agent-loadgen: error: " << patching::core::format_error_chain(e)
                  << "\n";
        return 1;
    }
}
