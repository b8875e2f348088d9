// SPDX-License-Identifier: Apache-2.0
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <controller/repo/subprocess.hpp>
#include <patch_core/errors.hpp>
#include <patch_core/fs.hpp>
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
    ::signal(SIGPIPE, SIG_DFL);
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

int wait_blocking(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return 0;
        }
    }
    return status;
}

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(left.count(), 0, 60'000));
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
    std::array<char, 16384> buf{};
    for (;;) {
        pollfd pfd{out_read.get(), POLLIN, 0};
        int ready = ::poll(&pfd, 1, remaining_ms(deadline));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready == 0 && Clock::now() >= deadline) {
            result.timed_out = true;
            break;
        }
        if (ready <= 0) {
            continue;
        }
        ssize_t n = ::read(out_read.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        result.output.append(buf.data(), static_cast<std::size_t>(n));
        if (result.output.size() > max_output) {
            result.output.erase(0, result.output.size() - max_output);
        }
    }

    int status = 0;
    bool reaped = false;
    // The output pipe closes when the child exits, unless it handed the pipe to a grandchild
    // or closed it early: poll for the exit until the deadline.
    while (!result.timed_out) {
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            reaped = true;
            break;
        }
        if (r < 0 && errno != EINTR) {
            break;
        }
        if (Clock::now() >= deadline) {
            result.timed_out = true;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (!reaped) {
        kill_group(pid);
        status = wait_blocking(pid);
    }
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
