// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

namespace patching::client {

/// An upload progress bar redrawn in place ("\r") on a terminal stream, at most every
/// `min_interval_s` seconds, using format_progress.
class ProgressBar {
public:
    /// Monotonic time in seconds; injected so tests control it.
    using Clock = std::function<double()>;

    ProgressBar(
        std::ostream& stream, std::string name, Clock clock = {}, double min_interval_s = 0.1);

    /// Redraws the bar if enough time passed since the last draw (or the transfer is complete).
    void update(std::uint64_t sent, std::uint64_t total);
    /// Draws the final state and ends the line; does nothing if nothing was drawn.
    void finish();

private:
    std::ostream& stream_;
    std::string name_;
    Clock clock_;
    double min_interval_s_;
    double start_;
    double last_draw_ = -1;
    std::uint64_t sent_ = 0;
    std::uint64_t total_ = 0;
    std::size_t last_length_ = 0;
    bool drawn_ = false;

    void draw();
};

}  // namespace patching::client
