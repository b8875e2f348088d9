// SPDX-License-Identifier: Apache-2.0
#include <common/subprocess.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <thread>
#include <utility>

extern char** environ;

namespace patching::common::subprocess {

namespace {

using SteadyClock = std::chrono::steady_clock;

// What the child failed to do before exec, sent to the parent through the error pipe.
enum Step : int { STEP_IO = 1, STEP_CHDIR, STEP_CHROOT, STEP_EXEC };

struct ChildFailure {
    int step = 0;
    int error = 0;
};

// Everything the child needs, prepared before fork(): between fork and exec a threaded process
// may only make async-signal-safe calls.
struct Prepared {
    std::vector<std::string> args;
    std::vector<char*> argv;
    std::vector<std::string> sh_args;
    std::vector<char*> sh_argv;
    std::vector<std::string> env;
    std::vector<char*> envp;
    std::string cwd;
    std::string root;
};

void prepare(const Options& options, Prepared& p) {
    p.args = options.argv;
    for (auto& a : p.args) {
        p.argv.push_back(a.data());
    }
    p.argv.push_back(nullptr);
    p.sh_args.emplace_back("/bin/sh");
    p.sh_args.insert(p.sh_args.end(), options.argv.begin(), options.argv.end());
    for (auto& a : p.sh_args) {
        p.sh_argv.push_back(a.data());
    }
    p.sh_argv.push_back(nullptr);
    p.env = options.extra_environment;
    if (options.environment) {
        p.env.insert(p.env.end(), options.environment->begin(), options.environment->end());
    } else {
        for (char** e = environ; *e != nullptr; ++e) {
            p.env.emplace_back(*e);
        }
    }
    for (auto& e : p.env) {
        p.envp.push_back(e.data());
    }
    p.envp.push_back(nullptr);
    p.cwd = options.cwd.string();
    if (options.chroot_dir) {
        p.root = options.chroot_dir->string();
    }
}

[[noreturn]] void fail_child(int error_fd, int step) noexcept {
    ChildFailure f{step, errno};
    ssize_t ignored = ::write(error_fd, &f, sizeof f);
    static_cast<void>(ignored);
    ::_exit(127);
}

struct ChildFds {
    int in = -1;   // becomes stdin, or -1 to keep the parent's
    int out = -1;  // becomes stdout, or -1 to keep
    int err = -1;  // becomes stderr, or -1 to keep
    int error_pipe = -1;
};

[[noreturn]] void exec_child(
    const Options& options, Prepared& p, const ChildFds& fds, pid_t parent) noexcept {
    if (options.new_process_group) {
        ::setpgid(0, 0);
    }
    if (options.die_with_parent) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) {
            ::_exit(127);
        }
    }
    // A daemon blocks or ignores signals for its own threads; the program must start clean.
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sig != SIGKILL && sig != SIGSTOP) {
            ::sigaction(sig, &dfl, nullptr);
        }
    }
    if ((fds.in >= 0 && ::dup2(fds.in, STDIN_FILENO) < 0) ||
        (fds.out >= 0 && ::dup2(fds.out, STDOUT_FILENO) < 0) ||
        (fds.err >= 0 && ::dup2(fds.err, STDERR_FILENO) < 0)) {
        fail_child(fds.error_pipe, STEP_IO);
    }
    // Nothing else of the parent's leaks into the program (the error pipe closes at exec).
    ::close_range(3, UINT_MAX, CLOSE_RANGE_CLOEXEC);
    if (!p.root.empty()) {
        if (::chroot(p.root.c_str()) != 0) {
            fail_child(fds.error_pipe, STEP_CHROOT);
        }
        if (::chdir(p.cwd.empty() ? "/" : p.cwd.c_str()) != 0) {
            fail_child(fds.error_pipe, STEP_CHDIR);
        }
    } else if (!p.cwd.empty() && ::chdir(p.cwd.c_str()) != 0) {
        fail_child(fds.error_pipe, STEP_CHDIR);
    }
    if (options.exec_fd >= 0) {
        // close_range marked it close-on-exec: a script's interpreter must still open it.
        if (::fcntl(options.exec_fd, F_SETFD, 0) == 0) {
            ::fexecve(options.exec_fd, p.argv.data(), p.envp.data());
        }
        fail_child(fds.error_pipe, STEP_EXEC);
    }
    // execvpe would also fall back to /bin/sh on ENOEXEC: a path runs exactly as asked.
    if (std::strchr(p.argv[0], '/') != nullptr) {
        ::execve(p.argv[0], p.argv.data(), p.envp.data());
    } else {
        ::execvpe(p.argv[0], p.argv.data(), p.envp.data());
    }
    if (errno == ENOEXEC && options.shell_fallback) {
        ::execve(p.sh_argv[0], p.sh_argv.data(), p.envp.data());
    }
    fail_child(fds.error_pipe, STEP_EXEC);
}

std::string step_message(const Options& options, int step) {
    const std::string& program = options.argv.front();
    switch (step) {
        case STEP_CHDIR:
            return "cannot enter the directory " + options.cwd.string() + " to run " + program;
        case STEP_CHROOT:
            return "cannot chroot into " +
                   (options.chroot_dir ? options.chroot_dir->string() : std::string()) +
                   " to run " + program;
        case STEP_IO:
            return "cannot set up the standard streams of " + program;
        default:
            return "cannot run " + program;
    }
}

std::pair<UniqueFd, UniqueFd> make_pipe(const std::string& program) {
    std::array<int, 2> fds{};
    if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
        const int e = errno;
        throw SpawnError(e, "cannot create a pipe to run " + program + ": " + std::strerror(e));
    }
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

UniqueFd open_or_throw(const std::string& path, int flags, const std::string& program) {
    UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC, 0644));
    if (!fd) {
        const int e = errno;
        throw SpawnError(e, "cannot open " + path + " for " + program + ": " + std::strerror(e));
    }
    return fd;
}

}  // namespace

// ---- Child

Child Child::spawn(const Options& options) {
    if (options.argv.empty() || options.argv.front().empty()) {
        throw SpawnError(EINVAL, "no program to run");
    }
    const std::string& program = options.argv.front();
    Prepared prepared;
    prepare(options, prepared);

    Child child;
    UniqueFd in_read;
    UniqueFd out_write;
    UniqueFd err_write;
    UniqueFd null_in;
    UniqueFd file_out;
    ChildFds fds;
    if (options.input) {
        // A socket rather than a pipe, so that run() can write with MSG_NOSIGNAL: a child that
        // closes its stdin early must not SIGPIPE the caller.
        std::array<int, 2> sv{};
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv.data()) != 0) {
            const int e = errno;
            throw SpawnError(e, "cannot create a socket to run " + program + ": " + std::strerror(e));
        }
        in_read.reset(sv[0]);
        child.in_.reset(sv[1]);
        ::shutdown(sv[0], SHUT_WR);
        fds.in = in_read.get();
    } else if (!options.inherit_stdin) {
        null_in = open_or_throw("/dev/null", O_RDONLY, program);
        fds.in = null_in.get();
    }
    switch (options.output) {
        case Output::CAPTURE: {
            auto [r, w] = make_pipe(program);
            child.out_ = std::move(r);
            out_write = std::move(w);
            fds.out = out_write.get();
            if (options.merge_stderr) {
                fds.err = out_write.get();
            } else {
                auto [er, ew] = make_pipe(program);
                child.err_ = std::move(er);
                err_write = std::move(ew);
                fds.err = err_write.get();
            }
            break;
        }
        case Output::FILE:
            file_out = open_or_throw(
                options.output_file.string(), O_WRONLY | O_CREAT | O_APPEND, program);
            fds.out = fds.err = file_out.get();
            break;
        case Output::DISCARD:
            file_out = open_or_throw("/dev/null", O_WRONLY, program);
            fds.out = fds.err = file_out.get();
            break;
        case Output::INHERIT:
            break;
    }
    auto [error_read, error_write] = make_pipe(program);
    fds.error_pipe = error_write.get();

    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int e = errno;
        throw SpawnError(e, "cannot fork to run " + program + ": " + std::strerror(e));
    }
    if (pid == 0) {
        exec_child(options, prepared, fds, parent);
    }
    if (options.new_process_group) {
        ::setpgid(pid, pid);  // also done by the child; whichever runs first wins the race
        child.group_ = pid;
    }
    child.pid_ = pid;
    error_write.reset();
    ChildFailure failure;
    ssize_t got = 0;
    do {
        got = ::read(error_read.get(), &failure, sizeof failure);
    } while (got < 0 && errno == EINTR);
    if (got == static_cast<ssize_t>(sizeof failure)) {
        child.wait();
        throw SpawnError(
            failure.error,
            step_message(options, failure.step) + ": " + std::strerror(failure.error));
    }
    return child;
}

Child::~Child() {
    if (pid_ > 0) {
        kill();
    }
}

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      group_(std::exchange(other.group_, -1)),
      out_(std::move(other.out_)),
      err_(std::move(other.err_)),
      in_(std::move(other.in_)) {}

Child& Child::operator=(Child&& other) noexcept {
    if (this != &other) {
        if (pid_ > 0) {
            kill();
        }
        pid_ = std::exchange(other.pid_, -1);
        group_ = std::exchange(other.group_, -1);
        out_ = std::move(other.out_);
        err_ = std::move(other.err_);
        in_ = std::move(other.in_);
    }
    return *this;
}

Status Child::reaped(int wait_status) {
    pid_ = -1;
    Status s;
    if (WIFEXITED(wait_status)) {
        s.exit_code = WEXITSTATUS(wait_status);
    } else if (WIFSIGNALED(wait_status)) {
        s.signal = WTERMSIG(wait_status);
    }
    return s;
}

std::optional<Status> Child::poll() {
    if (pid_ <= 0) {
        return std::nullopt;
    }
    int status = 0;
    pid_t r = 0;
    do {
        r = ::waitpid(pid_, &status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == pid_) {
        return reaped(status);
    }
    if (r < 0) {
        pid_ = -1;  // not our child any more (SIGCHLD ignored?): nothing left to wait for
        return Status{};
    }
    return std::nullopt;
}

std::optional<Status> Child::wait_for(std::chrono::milliseconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    for (;;) {
        if (auto s = poll()) {
            return s;
        }
        if (pid_ <= 0 || SteadyClock::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

Status Child::wait() {
    if (pid_ <= 0) {
        return Status{};
    }
    int status = 0;
    pid_t r = 0;
    do {
        r = ::waitpid(pid_, &status, 0);
    } while (r < 0 && errno == EINTR);
    if (r != pid_) {
        pid_ = -1;
        return Status{};
    }
    return reaped(status);
}

void Child::signal(int sig) const {
    if (pid_ > 0) {
        ::kill(pid_, sig);
    }
}

void Child::signal_group(int sig) const {
    if (group_ > 0) {
        ::kill(-group_, sig);
    }
    signal(sig);
}

Status Child::kill() {
    signal_group(SIGKILL);
    return wait();
}

// ---- run

std::string Result::describe_status() const {
    if (timed_out) {
        return "timed out";
    }
    if (status.signal != 0) {
        return "killed by signal " + std::to_string(status.signal);
    }
    return "exit status " + std::to_string(status.exit_code);
}

namespace {

struct Stream {
    int fd = -1;
    std::string* text = nullptr;
    bool open() const { return fd >= 0; }
};

// Reads what `s` has now (at most 1 MiB, so a child that never stops writing cannot keep the
// caller from its deadline); closes it (fd = -1) at EOF.
void read_some(Stream& s, const Limits& limits, bool& truncated) {
    std::array<char, 16384> buf{};
    for (int reads = 0; reads < 64; ++reads) {
        const ssize_t n = ::read(s.fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        if (n <= 0) {
            s.fd = -1;
            return;
        }
        std::string& out = *s.text;
        const auto got = static_cast<std::size_t>(n);
        if (limits.keep == Limits::Keep::HEAD) {
            const std::size_t room = limits.max_output - std::min(limits.max_output, out.size());
            out.append(buf.data(), std::min(room, got));
            truncated = truncated || got > room;
        } else {
            out.append(buf.data(), got);
            if (out.size() > limits.max_output) {
                out.erase(0, out.size() - limits.max_output);
                truncated = true;
            }
        }
    }
}

int pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
    static_cast<void>(pid);
    return -1;
#endif
}

int ms_until(SteadyClock::time_point t) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(t - SteadyClock::now());
    return static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(left.count(), 0, 60'000));
}

}  // namespace

Result run(Options options, const Limits& limits) {
    options.output = Output::CAPTURE;
    const auto started = SteadyClock::now();
    Child child = Child::spawn(options);
    Result result;
    Stream out{child.output_fd(), &result.output};
    Stream err{child.error_fd(), &result.error_output};
    for (Stream* s : {&out, &err}) {
        if (s->open()) {
            ::fcntl(s->fd, F_SETFL, O_NONBLOCK);
        }
    }
    const std::string input = options.input.value_or("");
    std::size_t input_sent = 0;
    if (child.input_fd() >= 0 && input.empty()) {
        child.close_input();
    }
    // Wakes poll() when the child exits, even while a descendant keeps the pipes open.
    UniqueFd exit_fd(pidfd_open(child.pid()));

    auto deadline = started + limits.timeout;
    std::optional<Status> exited;
    bool term_sent = false;
    while (!exited) {
        if (auto s = child.poll()) {
            exited = s;
            break;
        }
        if (SteadyClock::now() >= deadline) {
            if (!term_sent) {
                result.timed_out = true;
                term_sent = true;
                child.signal_group(SIGTERM);
                deadline = SteadyClock::now() + limits.kill_grace;
                continue;
            }
            exited = child.kill();
            break;
        }
        std::array<pollfd, 4> pfds{};
        nfds_t n = 0;
        for (Stream* s : {&out, &err}) {
            if (s->open()) {
                pfds[n++] = {s->fd, POLLIN, 0};
            }
        }
        if (child.input_fd() >= 0) {
            pfds[n++] = {child.input_fd(), POLLOUT, 0};
        }
        if (exit_fd) {
            pfds[n++] = {exit_fd.get(), POLLIN, 0};
        }
        // Without a pidfd the exit is noticed by polling waitpid every 10 ms.
        const int wait_ms = std::min(ms_until(deadline), exit_fd ? 60'000 : 10);
        if (::poll(pfds.data(), n, wait_ms) <= 0) {
            continue;
        }
        for (Stream* s : {&out, &err}) {
            if (s->open()) {
                read_some(*s, limits, result.truncated);
            }
        }
        if (child.input_fd() >= 0) {
            const ssize_t w = ::send(
                child.input_fd(), input.data() + input_sent, input.size() - input_sent,
                MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0) {
                input_sent += static_cast<std::size_t>(w);
            }
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || input_sent == input.size()) {
                child.close_input();  // done, or the child closed its stdin (EPIPE)
            }
        }
    }
    child.close_input();
    // The child is gone: whatever it left running in its group goes too, so the pipes reach EOF
    // now. What a descendant still holds (in another group, or left running) is abandoned after
    // a short drain.
    if (limits.on_exit == Limits::OnExit::KILL_GROUP || result.timed_out) {
        child.signal_group(SIGKILL);
    }
    const auto drain_deadline = SteadyClock::now() + std::chrono::milliseconds(200);
    while ((out.open() || err.open()) && SteadyClock::now() < drain_deadline) {
        std::array<pollfd, 2> pfds{};
        nfds_t n = 0;
        for (Stream* s : {&out, &err}) {
            if (s->open()) {
                pfds[n++] = {s->fd, POLLIN, 0};
            }
        }
        ::poll(pfds.data(), n, ms_until(drain_deadline));
        for (Stream* s : {&out, &err}) {
            if (s->open()) {
                read_some(*s, limits, result.truncated);
            }
        }
    }
    result.status = *exited;
    result.elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started);
    return result;
}

}  // namespace patching::common::subprocess
