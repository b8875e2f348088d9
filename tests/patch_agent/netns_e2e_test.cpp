// SPDX-License-Identifier: Apache-2.0
// End to end over a real network: the controller and three agents (controller, worker and
// storage personalities) each run in their own network namespace, joined by a bridge in a fifth
// "switch" namespace, so agents reach the controller only through its TLS listener on a veth
// address and the controller sees each agent's own address. Needs root and iproute2; skips with
// a warning where network namespaces cannot be created.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "support/rpm_factory.hpp"

#include <common/subprocess.hpp>
#include "support/test_support.hpp"

#include <common/subprocess.hpp>

namespace fs = std::filesystem;
using patching::test::binary_dir;
using patching::test::read_file;
using patching::test::RpmSpec;
using patching::test::run_command;
using patching::test::shell_quote;
using patching::test::trim;
using patching::test::TempDir;
using patching::test::write_file;
using namespace std::chrono_literals;

namespace {

constexpr const char* NS_PREFIX = "patchnet-";
constexpr const char* RELEASE = "22.12";
constexpr std::uint16_t REMOTE_PORT = 5491;  // each namespace has its own port space

/// Runs `command`; throws with its output if it fails.
std::string must_run(const std::string& command) {
    std::string output;
    if (run_command(command, &output) != 0) {
        throw std::runtime_error("command failed: " + command + "\n" + output);
    }
    return output;
}

/// Polls `condition` every 100 ms until it holds (true) or `timeout` passes (false).
bool wait_until(std::chrono::milliseconds timeout, const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(100ms);
    }
    return true;
}

std::string tail(const std::string& text, std::size_t max = 6000) {
    return text.size() <= max ? text : "..." + text.substr(text.size() - max);
}

/// `ip netns add` is not possible here (no privilege, no kernel support, a locked-down sandbox).
struct NetnsUnavailable : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Network namespaces named "patchnet-<pid>-<tag>", one "switch" namespace holding bridge br0
/// and one namespace per host, each with eth0 (a veth whose peer is a port of br0) on
/// 10.231.<N>.0/24. Everything lives inside the namespaces, so the destructor only has to delete
/// them (which deletes the links too) and parallel runs cannot collide.
class Network {
public:
    Network() : prefix_(NS_PREFIX + std::to_string(::getpid()) + "-") {
        remove_stale();
        subnet_ = "10.231." + std::to_string(1 + ::getpid() % 250) + ".";
        const std::string sw = prefix_ + "sw";
        std::string output;
        if (run_command("ip netns add " + shell_quote(sw), &output) != 0) {
            throw NetnsUnavailable(trim(output));
        }
        namespaces_.push_back(sw);
        must_run("ip -n " + shell_quote(sw) + " link set lo up");
        must_run("ip -n " + shell_quote(sw) + " link add br0 type bridge");
        must_run("ip -n " + shell_quote(sw) + " link set br0 up");
    }
    ~Network() {
        for (auto it = namespaces_.rbegin(); it != namespaces_.rend(); ++it) {
            run_command("ip netns del " + shell_quote(*it));
        }
    }
    Network(const Network&) = delete;
    Network& operator=(const Network&) = delete;

    /// Adds namespace <prefix><tag> with address <subnet><host_byte> on eth0; returns its name.
    std::string add_host(const std::string& tag, int host_byte) {
        const std::string ns = prefix_ + tag;
        const std::string sw = shell_quote(prefix_ + "sw");
        const std::string port = "p" + std::to_string(namespaces_.size());
        must_run("ip netns add " + shell_quote(ns));
        namespaces_.push_back(ns);
        must_run("ip -n " + shell_quote(ns) + " link set lo up");
        must_run(
            "ip -n " + sw + " link add " + port + " type veth peer name eth0 netns " + shell_quote(ns));
        must_run("ip -n " + sw + " link set " + port + " master br0 up");
        must_run("ip -n " + shell_quote(ns) + " addr add " + address(host_byte) + "/24 dev eth0");
        must_run("ip -n " + shell_quote(ns) + " link set eth0 up");
        return ns;
    }

    std::string address(int host_byte) const { return subnet_ + std::to_string(host_byte); }

private:
    /// Deletes namespaces left behind by runs that were killed (their PID no longer exists).
    static void remove_stale() {
        std::string list;
        if (run_command("ip netns list", &list) != 0) {
            return;
        }
        std::istringstream lines(list);
        std::string line;
        while (std::getline(lines, line)) {
            const std::string name = line.substr(0, line.find(' '));
            if (name.rfind(NS_PREFIX, 0) != 0) {
                continue;
            }
            const std::string rest = name.substr(std::strlen(NS_PREFIX));
            const auto dash = rest.find('-');
            if (dash == std::string::npos || dash == 0 ||
                rest.substr(0, dash).find_first_not_of("0123456789") != std::string::npos) {
                continue;
            }
            const auto pid = static_cast<pid_t>(std::stol(rest.substr(0, dash)));
            if (::kill(pid, 0) != 0 && errno == ESRCH) {
                run_command("ip netns del " + shell_quote(name));
            }
        }
    }

    std::string prefix_;
    std::string subnet_;
    std::vector<std::string> namespaces_;
};

/// A program run with `ip netns exec NS ...` (which execs it, so the PID is the program's),
/// output to `log`. The destructor stops it: SIGTERM, then SIGKILL after 10 s.
class NsProcess {
public:
    NsProcess(const std::string& ns, std::vector<std::string> argv, fs::path log)
        : log_(std::move(log)) {
        static const std::string ip = trim(must_run("command -v ip"));
        patching::common::subprocess::Options options;
        options.argv = {ip, "netns", "exec", ns};
        options.argv.insert(options.argv.end(), argv.begin(), argv.end());
        options.output = patching::common::subprocess::Output::FILE;
        options.output_file = log_;
        options.new_process_group = false;  // SIGTERM reaches the program alone, as before
        process_ = patching::common::subprocess::Child::spawn(options);
    }
    ~NsProcess() { stop(); }
    NsProcess(const NsProcess&) = delete;
    NsProcess& operator=(const NsProcess&) = delete;

    bool running() {
        process_.poll();
        return process_.running();
    }
    std::string log() const {
        try {
            return read_file(log_);
        } catch (const std::exception&) {
            return {};
        }
    }
    void stop() {
        if (!running()) {
            return;
        }
        process_.signal(SIGTERM);
        if (!process_.wait_for(10s)) {
            process_.kill();
        }
    }

private:
    fs::path log_;
    patching::common::subprocess::Child process_;
};

/// errno of a TCP connect to address:port made from inside namespace `ns`; 0 if it connected.
/// A network namespace is per thread, so a short-lived thread enters it.
int connect_errno_from(const std::string& ns, const std::string& address, std::uint16_t port) {
    int result = EINVAL;
    std::thread([&] {
        const int ns_fd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
        if (ns_fd < 0 || ::setns(ns_fd, CLONE_NEWNET) != 0) {
            result = errno;
            if (ns_fd >= 0) {
                ::close(ns_fd);
            }
            return;
        }
        ::close(ns_fd);
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            result = errno;
            return;
        }
        timeval timeout{2, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        ::inet_pton(AF_INET, address.c_str(), &addr.sin_addr);
        result =
            ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 ? 0 : errno;
        ::close(fd);
    }).join();
    return result;
}

/// One row of `sw-patch query-hosts`.
struct HostRow {
    std::string ip;
    std::string patch_current;
    std::string reboot_required;
    std::string release;
    std::string state;
};

/// Rows of the query-hosts table by host name (the rows after the "====" rule).
std::map<std::string, HostRow> parse_hosts(const std::string& table) {
    std::map<std::string, HostRow> rows;
    std::istringstream lines(table);
    std::string line;
    bool body = false;
    while (std::getline(lines, line)) {
        if (!body) {
            body = line.rfind("====", 0) == 0;
            continue;
        }
        std::istringstream words(line);
        std::string name;
        HostRow row;
        if (words >> name >> row.ip >> row.patch_current >> row.reboot_required >> row.release >>
            row.state) {
            rows[name] = row;
        }
    }
    return rows;
}

/// The last column (Patch State) of `id`'s row in `sw-patch query`, or "".
std::string patch_state(const std::string& table, const std::string& id) {
    std::istringstream lines(table);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind(id + " ", 0) == 0) {
            return line.substr(line.find_last_of(' ') + 1);
        }
    }
    return {};
}

struct Agent {
    std::string hostname;
    std::string personality;
    int host_byte = 0;
    std::string ns;
    fs::path root;
    std::unique_ptr<NsProcess> process;
};

}  // namespace

TEST_CASE(
    "agents in their own network namespaces enrol, report their addresses and install a patch over "
    "TLS",
    "[agent][e2e][netns]") {
    if (::geteuid() != 0) {
        patching::test::skip_test("network namespaces need root");
        return;
    }
    if (run_command("command -v ip && command -v openssl && command -v createrepo_c") != 0) {
        patching::test::skip_test("ip (iproute2), openssl and createrepo_c are needed");
        return;
    }
    if (!patching::test::have_rpmbuild()) {
        return;
    }
    std::optional<Network> net;
    try {
        net.emplace();
    } catch (const NetnsUnavailable& e) {
        patching::test::skip_test(std::string("cannot create a network namespace: ") + e.what());
        return;
    }

    const fs::path bin = binary_dir();
    const fs::path controller_bin = bin / "patch_controller" / "patch-controller";
    const fs::path agent_bin = bin / "patch_agent" / "patch-agent";
    const fs::path sw_patch_bin = bin / "sw_patch" / "sw-patch";
    const fs::path build_bin = bin / "patch_build" / "patch-build";
    const fs::path keys_bin = bin / "signing" / "patch-keys";
    for (const auto& tool : {controller_bin, agent_bin, sw_patch_bin, build_bin, keys_bin}) {
        REQUIRE(fs::exists(tool));
    }

    TempDir dir;
    const std::string ctl_ns = net->add_host("ctl", 1);
    const std::string ctl_addr = net->address(1);
    // The TLS listener on the controller's own address, then on every address (0.0.0.0), as
    // deployments configure it.
    const std::string remote_address = GENERATE(as<std::string>{}, "veth", "0.0.0.0") == "veth"
                                           ? ctl_addr
                                           : std::string("0.0.0.0");
    INFO("remote_address = " << remote_address);
    std::vector<Agent> agents;
    for (auto [hostname, personality, host_byte] :
         {std::tuple{"controller-0", "controller", 11},
          {"worker-0", "worker", 12},
          {"storage-0", "storage", 13}}) {
        Agent& a = agents.emplace_back();
        a.hostname = hostname;
        a.personality = personality;
        a.host_byte = host_byte;
        a.ns = net->add_host(a.personality, a.host_byte);
    }

    // Packages: the base release has nsdemo-alpha 1.0-1 everywhere; the patch upgrades it on
    // every host and brings a new package to workers only.
    const fs::path rpms = dir / "rpms";
    auto base = patching::test::build_rpm(rpms, RpmSpec("nsdemo-alpha").set_version("1.0", "1"));
    auto fixed = patching::test::build_rpm(rpms, RpmSpec("nsdemo-alpha").set_version("1.0", "2"));
    auto tool = patching::test::build_rpm(
        rpms, RpmSpec("nsdemo-worker-tool")
                  .set_version("1.0", "1")
                  .add_file("/etc/nsdemo/tool.conf", "mode = worker\n"));
    REQUIRE((base && fixed && tool));

    // A release signing key and the controller's trust directory.
    const fs::path trust = dir / "trust";
    fs::create_directories(trust);
    must_run(
        shell_quote(keys_bin.string()) + " genkey --bits 2048 -o " +
        shell_quote((dir / "release-key.pem").string()));
    must_run(
        shell_quote(keys_bin.string()) + " gencert --key " + shell_quote((dir / "release-key.pem").string()) +
        " --cn 'netns test release' --days 2 -o " + shell_quote((trust / "release.pem").string()));
    const std::string patch_id = "NETNS_22.12_PATCH_0001";
    must_run(
        shell_quote(build_bin.string()) + " --id " + patch_id + " --release " + RELEASE +
        " --status REL --reboot-required N --summary 'netns end to end' --sign-key " +
        shell_quote((dir / "release-key.pem").string()) + " --cert " +
        shell_quote((trust / "release.pem").string()) + " --all-nodes " + shell_quote(fixed->string()) +
        " --worker " + shell_quote(tool->string()) + " -o " + shell_quote(dir.path().string()));
    const fs::path patch_file = dir / (patch_id + ".patch");
    REQUIRE(fs::exists(patch_file));

    // The controller's TLS identity is its veth address.
    const fs::path tls_key = dir / "server.key";
    const fs::path tls_cert = dir / "server.pem";
    must_run(
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=patch-controller -addext "
        "subjectAltName=IP:" +
        ctl_addr + " -keyout " + shell_quote(tls_key.string()) + " -out " + shell_quote(tls_cert.string()));

    const fs::path ctl = dir / "controller";
    const fs::path feed = ctl / "feed" / ("rel-" + std::string(RELEASE)) / "Packages";
    fs::create_directories(feed);
    fs::copy_file(*base, feed / base->filename());
    for (const char* sub : {"state", "repo"}) {
        fs::create_directories(ctl / sub);
    }
    const fs::path enrolment_token = dir / "enrolment.token";
    write_file(enrolment_token, "netns-enrol-" + std::to_string(::getpid()) + "-a8f3c1d9e2\n");
    write_file(
        ctl / "controller.conf",
        "[controller]\nstate_dir = " + (ctl / "state").string() +
            "\nrepo_dir = " + (ctl / "repo").string() + "\nfeed_dir = " + (ctl / "feed").string() +
            "\ntrust_dir = " + trust.string() + "\ntokens_file = " + (ctl / "tokens").string() +
            "\nlocal_token_file = " + (ctl / "admin.token").string() +
            "\nrunning_release = " + RELEASE +
            "\nlisten_address = 127.0.0.1\nlisten_port = 0\nremote_address = " + remote_address +
            "\nremote_port = " + std::to_string(REMOTE_PORT) +
            "\ntls_certificate = " + tls_cert.string() + "\ntls_private_key = " + tls_key.string() +
            "\nenrolment_token_file = " + enrolment_token.string() +
            "\nagent_poll_seconds = 5\nagent_stale_seconds = 60\n");
    NsProcess controller(
        ctl_ns, {controller_bin.string(), "--config", (ctl / "controller.conf").string()},
        ctl / "controller.log");
    const fs::path port_file = ctl / "state" / "api.port";
    if (!wait_until(15s, [&] {
            std::error_code ec;
            return fs::exists(port_file, ec) && !read_file(port_file).empty() &&
                   read_file(port_file).back() == '\n';
        })) {
        FAIL("patch-controller did not start:\n" << tail(controller.log()));
    }
    const auto api_port = static_cast<std::uint16_t>(std::stoul(read_file(port_file)));

    // Everything the agents and the controller said, for failure messages.
    auto logs = [&] {
        std::string out = "--- controller\n" + tail(controller.log());
        for (auto& a : agents) {
            out += "\n--- " + a.hostname + "\n" +
                   (a.process ? tail(a.process->log(), 3000) : std::string());
        }
        return out;
    };
    // sw-patch inside the controller's namespace, against its loopback API.
    auto sw_patch = [&](const std::string& args, std::string* output) {
        return run_command(
            "ip netns exec " + shell_quote(ctl_ns) +
                " env SW_PATCH_CONTROLLER=http://127.0.0.1:" + std::to_string(api_port) +
                " SW_PATCH_TOKEN_FILE=" + shell_quote((ctl / "admin.token").string()) +
                " SW_PATCH_POLL_INTERVAL=0.2 " + shell_quote(sw_patch_bin.string()) + " " + args,
            output);
    };

    for (auto& a : agents) {
        a.root = dir / ("root-" + a.hostname);
        fs::create_directories(a.root);
        must_run("rpm --root " + shell_quote(a.root.string()) + " -i --nodeps " + shell_quote(base->string()));
        const fs::path state = dir / ("agent-" + a.hostname);
        fs::create_directories(state);
        const fs::path config = state / "agent.conf";
        write_file(
            config, "[agent]\nhostname = " + a.hostname + "\npersonality = " + a.personality +
                        "\nsw_version = " + RELEASE + "\ncontroller_url = https://" + ctl_addr +
                        ":" + std::to_string(REMOTE_PORT) + "\nca_file = " + tls_cert.string() +
                        "\nroot = " + a.root.string() + "\nstate_dir = " + state.string() +
                        "\nenrolment_token_file = " + enrolment_token.string() +
                        "\npoll_wait_seconds = 5\n");
        a.process = std::make_unique<NsProcess>(
            a.ns, std::vector<std::string>{agent_bin.string(), "--config", config.string()},
            state / "agent.log");
    }

    // The network is real: from an agent's namespace the controller's loopback API does not
    // exist (not at 127.0.0.1, not at the controller's address); only its TLS listener answers.
    CHECK(connect_errno_from(ctl_ns, "127.0.0.1", api_port) == 0);
    for (auto& a : agents) {
        INFO(a.hostname);
        CHECK(connect_errno_from(a.ns, "127.0.0.1", api_port) != 0);
        CHECK(connect_errno_from(a.ns, ctl_addr, api_port) != 0);
        CHECK(connect_errno_from(a.ns, ctl_addr, REMOTE_PORT) == 0);
    }

    std::string hosts_text;
    std::map<std::string, HostRow> hosts;
    // Each table must list every agent, with `want_current` and the agent's own address.
    auto hosts_are = [&](const std::string& want_current) {
        bool died = false;
        const bool ok = wait_until(30s, [&] {
            died = !controller.running() || std::any_of(agents.begin(), agents.end(), [](Agent& a) {
                return !a.process->running();
            });
            if (died) {
                return true;
            }
            if (sw_patch("query-hosts", &hosts_text) != 0) {
                return false;
            }
            hosts = parse_hosts(hosts_text);
            for (const auto& a : agents) {
                auto it = hosts.find(a.hostname);
                if (it == hosts.end() || it->second.ip != net->address(a.host_byte) ||
                    it->second.patch_current != want_current) {
                    return false;
                }
            }
            return true;
        });
        return ok && !died;
    };

    if (!hosts_are("Yes")) {
        FAIL("the agents did not all report over the network:\n" << hosts_text << "\n" << logs());
    }
    for (const auto& a : agents) {
        INFO(hosts_text);
        CHECK(hosts[a.hostname].ip != "127.0.0.1");
        CHECK(hosts[a.hostname].release == RELEASE);
    }

    std::string output;
    {
        const int rc = sw_patch("upload " + shell_quote(patch_file.string()), &output);
        INFO(output);
        REQUIRE(rc == 0);
        REQUIRE(output.find(patch_id + " is now available") != std::string::npos);
    }
    {
        const int rc = sw_patch("apply " + patch_id, &output);
        INFO(output);
        REQUIRE(rc == 0);
    }
    if (!hosts_are("No")) {
        FAIL("the hosts did not see the applied patch:\n" << hosts_text << "\n" << logs());
    }

    for (const auto& a : agents) {
        // No node is locked: --force (a reboot_required N patch is in-service anyway).
        const int rc = sw_patch("host-install --force " + a.hostname, &output);
        INFO(a.hostname << ":\n" << output << "\n" << logs());
        REQUIRE(rc == 0);
    }
    if (!hosts_are("Yes")) {
        FAIL(
            "the hosts are not patch current after host-install:\n"
            << hosts_text << "\n"
            << logs());
    }
    for (const auto& a : agents) {
        INFO(hosts_text);
        CHECK(hosts[a.hostname].reboot_required == "No");
        CHECK(hosts[a.hostname].state == "idle");
    }
    std::string query_text;
    const bool applied = wait_until(10s, [&] {
        return sw_patch("query", &query_text) == 0 &&
               patch_state(query_text, patch_id) == "Applied";
    });
    INFO(query_text);
    CHECK(applied);

    for (const auto& a : agents) {
        INFO(a.hostname);
        std::string q;
        CHECK(run_command("rpm --root " + shell_quote(a.root.string()) + " -q nsdemo-alpha", &q) == 0);
        CHECK(trim(q) == "nsdemo-alpha-1.0-2.noarch");
        const int tool_rc =
            run_command("rpm --root " + shell_quote(a.root.string()) + " -q nsdemo-worker-tool", &q);
        if (a.personality == "worker") {
            CHECK(tool_rc == 0);
            CHECK(trim(q) == "nsdemo-worker-tool-1.0-1.noarch");
            CHECK(fs::exists(a.root / "etc" / "nsdemo" / "tool.conf"));
        } else {
            CHECK(tool_rc != 0);
        }
    }
    for (auto& a : agents) {
        INFO(a.hostname << "\n" << logs());
        CHECK(a.process->running());
    }
    CHECK(controller.running());
}
