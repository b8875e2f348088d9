// SPDX-License-Identifier: Apache-2.0
// The one way to start a program: a long-lived child (Child) or a run to completion with its
// output captured and a timeout (run). No shell; the child gets a clean signal mask.
#pragma once

#include <common/c_handles.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace patching::common::subprocess {

/// The program could not be started (pipe, fork, chdir, chroot or exec failed). The message
/// names the program and the step; errno() is the cause.
class SpawnError : public std::runtime_error {
public:
    SpawnError(int error, const std::string& what) : std::runtime_error(what), errno_(error) {}
    int error_number() const { return errno_; }

private:
    int errno_;
};

/// Where the child's stdout and stderr go.
enum class Output {
    CAPTURE,  ///< Into a pipe the parent reads (run() collects it).
    INHERIT,  ///< The parent's own stdout and stderr.
    FILE,     ///< Appended to Options::output_file.
    DISCARD,  ///< /dev/null.
};

/// What to start and how.
struct Options {
    /// argv[0] is the program: looked up in PATH when it has no '/', like execvp.
    std::vector<std::string> argv{};
    /// The whole environment ("NAME=value"); nullopt = the parent's.
    std::optional<std::vector<std::string>> environment{};
    /// Entries put before the environment (so they win over the parent's for getenv).
    std::vector<std::string> extra_environment{};
    /// Working directory of the child; empty = the parent's.
    std::filesystem::path cwd{};
    /// When set, the child chroot()s here (and chdir("/")) before exec: argv[0] is resolved
    /// inside the new root.
    std::optional<std::filesystem::path> chroot_dir{};
    /// When exec fails with ENOEXEC (a script without "#!"), run it with /bin/sh instead.
    /// (A program found through PATH always gets this fallback, as with execvp.)
    bool shell_fallback = false;
    /// When >= 0, the child executes this open file (fexecve: execveat(fd, "", AT_EMPTY_PATH))
    /// instead of looking argv[0] up, which is then only the program's name: the file the caller
    /// checked through the descriptor is the one that runs, whatever happens to its path
    /// meanwhile. An O_PATH descriptor will do. It stays open in the child (not close-on-exec)
    /// so that a script's interpreter can read the script through /dev/fd. No shell fallback.
    int exec_fd = -1;
    Output output = Output::CAPTURE;
    /// With Output::CAPTURE, stderr goes into the same pipe as stdout (interleaved as written);
    /// otherwise into a second one (Result::error_output).
    bool merge_stderr = true;
    std::filesystem::path output_file{};  ///< For Output::FILE.
    /// Bytes fed to stdin (then EOF); nullopt = /dev/null. Needs run(): Child does not write it.
    std::optional<std::string> input{};
    bool inherit_stdin = false;  ///< Keep the parent's stdin instead (input must be nullopt).
    /// The child leads a new process group, so it and everything it starts can be signalled
    /// (and killed) together. Without it, group signals reach the child alone.
    bool new_process_group = true;
    /// The child gets SIGKILL when the thread that started it dies.
    bool die_with_parent = true;
};

/// How a child ended.
struct Status {
    int exit_code = -1;  ///< Exit status, or -1 when killed by a signal.
    int signal = 0;      ///< The terminating signal, or 0.

    bool is_success() const { return signal == 0 && exit_code == 0; }
    /// The shell's convention: the exit status, or 128 + the signal.
    int code() const { return signal != 0 ? 128 + signal : exit_code; }
};

/// A started child process. The destructor kills it (its group with new_process_group) with
/// SIGKILL and reaps it, so no child outlives its Child or stays a zombie. Move-only; not
/// thread-safe (one owner at a time).
class Child {
public:
    /// Starts `options.argv`. Returns once exec succeeded.
    /// REQUIRES: argv is not empty; SIGCHLD is not ignored.
    /// @throws SpawnError naming the program when it cannot be started.
    static Child spawn(const Options& options);

    Child() = default;
    ~Child();
    Child(Child&& other) noexcept;
    Child& operator=(Child&& other) noexcept;
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    pid_t pid() const { return pid_; }
    /// True until the child has been reaped (by wait, wait_for or kill).
    bool running() const { return pid_ > 0; }
    /// The read end of stdout (and merged stderr) with Output::CAPTURE, else -1.
    int output_fd() const { return out_.get(); }
    /// The read end of stderr with Output::CAPTURE and !merge_stderr, else -1.
    int error_fd() const { return err_.get(); }
    /// The write end of stdin when Options::input was set, else -1 (run() feeds it).
    int input_fd() const { return in_.get(); }
    void close_input() { in_.reset(); }

    /// Reaps the child if it has ended: its status, or nullopt while it runs.
    std::optional<Status> poll();
    /// Waits at most `timeout` for the child to end and reaps it: its status, or nullopt.
    std::optional<Status> wait_for(std::chrono::milliseconds timeout);
    /// Waits for the child to end and reaps it.
    Status wait();
    /// Sends `signal` to the child alone. No effect once it was reaped.
    void signal(int signal) const;
    /// Sends `signal` to the child's process group (to the child alone without
    /// new_process_group). No effect once it was reaped, except on the group's survivors.
    void signal_group(int signal) const;
    /// SIGKILL to the group and reap; the status (a kill after a natural exit keeps the exit).
    Status kill();

private:
    Status reaped(int wait_status);

    pid_t pid_ = -1;
    pid_t group_ = -1;  ///< The process group to signal, or -1 if the child has none of its own.
    UniqueFd out_;
    UniqueFd err_;
    UniqueFd in_;
};

/// Limits of run().
struct Limits {
    /// Then the group gets SIGTERM, and SIGKILL `kill_grace` later.
    std::chrono::milliseconds timeout{std::chrono::seconds(60)};
    std::chrono::milliseconds kill_grace{std::chrono::seconds(2)};
    std::size_t max_output = 1U << 20U;  ///< Per stream; the rest is dropped (truncated is set).
    /// Which bytes a long output keeps: its end (KEEP_TAIL: where errors usually are) or its start.
    enum class Keep { HEAD, TAIL } keep = Keep::TAIL;
    /// What run() does with the child's process group once the child itself has exited.
    enum class OnExit {
        /// Kill it: background processes the child left behind (holding the output pipe or not)
        /// go with it. For checks and tools, whose work ends with them.
        KILL_GROUP,
        /// Leave it running and stop reading the output (after a short drain): for scripts that
        /// restart a service, which must outlive them.
        LEAVE_GROUP,
    } on_exit = OnExit::KILL_GROUP;
};

/// How run() ended.
struct Result {
    Status status;
    bool timed_out = false;      ///< Killed because Limits::timeout expired (status is the kill's).
    std::string output{};        ///< stdout (and stderr when merged), at most max_output bytes.
    std::string error_output{};  ///< stderr when not merged.
    bool truncated = false;      ///< Some output was dropped.
    std::chrono::milliseconds elapsed{0};

    /// True if the child exited by itself with status 0 in time.
    bool is_success() const { return !timed_out && status.is_success(); }
    /// "exit status 2", "killed by signal 9" or "timed out", for messages.
    std::string describe_status() const;
};

/// Runs `options` to completion. The verdict is the child's own exit status: when it exits, its
/// process group is killed at once (Limits::on_exit; a background process it left holding the
/// output pipe can neither delay the result nor turn it into a timeout), and the output already
/// written is collected. If it has not exited after `limits.timeout`, its group gets SIGTERM, then SIGKILL
/// after `limits.kill_grace`, and timed_out is set. Blocks until the child has been reaped.
/// Output is forced to CAPTURE. Thread-safe (each call owns its child).
/// REQUIRES: options.new_process_group when the child may start processes of its own.
/// @throws SpawnError when the program cannot be started.
Result run(Options options, const Limits& limits = {});

}  // namespace patching::common::subprocess
