// SPDX-License-Identifier: Apache-2.0
#include <controller/repo/subprocess.hpp>

#include <patch_core/errors.hpp>
#include <patch_core/fs.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <optional>
#include <thread>

namespace patching::controller {

namespace {

using Clock = std::chrono::steady_clock;

// Runs in the forked child: only async-signal-safe calls until exec.
[[noreturn]] void exec_child(char* const* argv, int out_fd, int error_fd, pid_t parent) noexcept {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int err = 0;
    if (::getppid() != parent) {
        ::_exit(127);
    }
    // A daemon blocks or ignores signals for its own threads; the tool must start clean.
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGPIPE, &dfl, nullptr);
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0 || ::dup2(null_fd, STDIN_FILENO) < 0 || ::dup2(out_fd, STDOUT_FILENO) < 0 ||
        ::dup2(out_fd, STDERR_FILENO) < 0) {
        err = errno;
    } else {
        ::execvp(argv[0], argv);
        err = errno;
    }
    ssize_t ignored = ::write(error_fd, &err, sizeof(err));
    static_cast<void>(ignored);
    ::_exit(127);
}

void kill_group(pid_t pid) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
}

// The child's wait status, or nullopt (errno set) if it cannot be waited for.
std::optional<int> wait_blocking(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return std::nullopt;
        }
    }
    return status;
}

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(left.count(), 0, 60'000));
}

// Reads the child's output until EOF or the deadline (then sets timed_out).
void collect_output(
    int fd, Clock::time_point deadline, std::size_t max_output, ProcessResult& result) {
    std::array<char, 16384> buf{};
    for (;;) {
        pollfd pfd{fd, POLLIN, 0};
        int ready = ::poll(&pfd, 1, remaining_ms(deadline));
        if (ready == 0 && Clock::now() >= deadline) {
            result.timed_out = true;
            return;
        }
        if (ready <= 0) {
            continue;  // EINTR, or poll's timeout capped below the deadline
        }
        ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        result.output.append(buf.data(), static_cast<std::size_t>(n));
        if (result.output.size() > max_output) {
            result.output.erase(0, result.output.size() - max_output);
        }
    }
}

// Waits for the child until the deadline, then kills its process group; returns the status.
// REQUIRES: SIGCHLD is not ignored (the child must stay waitable).
int reap(pid_t pid, Clock::time_point deadline, ProcessResult& result) {
    // The output pipe closes when the child exits, unless it handed the pipe to a grandchild
    // or closed it early: poll for the exit until the deadline.
    while (!result.timed_out) {
        int status = 0;
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            return status;
        }
        if (r < 0 && errno != EINTR) {
            throw core::SystemError(errno, "cannot wait for process " + std::to_string(pid));
        }
        if (Clock::now() >= deadline) {
            result.timed_out = true;
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    }
    kill_group(pid);
    auto status = wait_blocking(pid);
    if (!status) {
        throw core::SystemError(errno, "cannot wait for process " + std::to_string(pid));
    }
    return *status;
}

}  // namespace

std::string ProcessResult::describe_status() const {
    if (timed_out) {
        return "timed out";
    }
    if (signal != 0) {
        return "killed by signal " + std::to_string(signal);
    }
    return "exit status " + std::to_string(exit_code);
}

ProcessResult run_process(
    const std::vector<std::string>& argv,
    std::chrono::milliseconds timeout,
    std::size_t max_output) {
    PATCHING_ASSERT(!argv.empty(), "run_process needs a program");
    std::vector<std::string> args = argv;
    std::vector<char*> c_argv;
    c_argv.reserve(args.size() + 1);
    for (auto& arg : args) {
        c_argv.push_back(arg.data());
    }
    c_argv.push_back(nullptr);

    std::array<int, 2> out{};
    std::array<int, 2> err_pipe{};
    if (::pipe2(out.data(), O_CLOEXEC) != 0) {
        throw core::SystemError(errno, "cannot create a pipe to run", argv[0]);
    }
    core::UniqueFd out_read(out[0]);
    core::UniqueFd out_write(out[1]);
    if (::pipe2(err_pipe.data(), O_CLOEXEC) != 0) {
        throw core::SystemError(errno, "cannot create a pipe to run", argv[0]);
    }
    core::UniqueFd err_read(err_pipe[0]);
    core::UniqueFd err_write(err_pipe[1]);

    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        throw core::SystemError(errno, "cannot fork to run", argv[0]);
    }
    if (pid == 0) {
        exec_child(c_argv.data(), out_write.get(), err_write.get(), parent);
    }
    ::setpgid(pid, pid);  // also done by the child; whichever runs first wins the race
    out_write = core::UniqueFd();
    err_write = core::UniqueFd();

    int exec_errno = 0;
    ssize_t got = 0;
    do {
        got = ::read(err_read.get(), &exec_errno, sizeof(exec_errno));
    } while (got < 0 && errno == EINTR);
    if (got == static_cast<ssize_t>(sizeof(exec_errno))) {
        wait_blocking(pid);
        throw core::SystemError(exec_errno, "cannot run", argv[0]);
    }

    ProcessResult result;
    const auto deadline = Clock::now() + timeout;
    collect_output(out_read.get(), deadline, max_output, result);
    const int status = reap(pid, deadline, result);
    if (result.timed_out) {
        result.exit_code = -1;
    } else if (WIFEXITED(status)) {
        result.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.signal = WTERMSIG(status);
    }
    return result;
}

}  // namespace patching::controller
