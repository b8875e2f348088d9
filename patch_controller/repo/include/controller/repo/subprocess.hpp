// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace patching::controller {

/// How a child process ended.
struct ProcessResult {
    int exit_code = -1;      ///< Exit status, or -1 if the process was killed by a signal.
    int signal = 0;          ///< The terminating signal, or 0.
    bool timed_out = false;  ///< True if run_process killed it because the timeout expired.
    std::string output;      ///< stdout and stderr interleaved (the last bytes if truncated).

    /// True if the process exited by itself with status 0.
    bool is_success() const { return !timed_out && signal == 0 && exit_code == 0; }
    /// "exit status 2", "killed by signal 9" or "timed out after N ms", for messages.
    std::string describe_status() const;
};

/// Runs argv[0] (looked up in PATH like execvp) with the arguments argv[1..], without a shell,
/// stdin from /dev/null and stdout+stderr captured into one buffer. Only the last `max_output`
/// bytes are kept. The child runs in its own process group and gets SIGKILL if the calling thread
/// dies; if it has not ended after `timeout`, the whole group is killed and `timed_out` is set.
/// Blocks the calling thread until the child has been reaped. Thread-safe.
/// REQUIRES: argv is not empty; SIGCHLD is not ignored (SIG_IGN would reap the child early).
/// @throws core::SystemError if the pipe or fork fails, if argv[0] cannot be executed (the
///         message names the program and carries the exec errno) or the child cannot be waited
///         for.
ProcessResult run_process(
    const std::vector<std::string>& argv,
    std::chrono::milliseconds timeout,
    std::size_t max_output = 256U * 1024U);

}  // namespace patching::controller
