// SPDX-License-Identifier: Apache-2.0
#include "progress.hpp"

#include <chrono>
#include <ostream>
#include <utility>

#include "output.hpp"

namespace patching::client {

namespace {

double steady_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

ProgressBar::ProgressBar(std::ostream& stream, std::string name, Clock clock, double min_interval_s)
    : stream_(stream),
      name_(std::move(name)),
      clock_(clock ? std::move(clock) : Clock(steady_seconds)),
      min_interval_s_(min_interval_s),
      start_(clock_()) {}

void ProgressBar::update(std::uint64_t sent, std::uint64_t total) {
    sent_ = sent;
    total_ = total;
    double now = clock_();
    if (drawn_ && now - last_draw_ < min_interval_s_ && sent < total) {
        return;
    }
    last_draw_ = now;
    draw();
}

void ProgressBar::finish() {
    if (!drawn_) {
        return;
    }
    draw();
    stream_ << "\n";
    stream_.flush();
}

void ProgressBar::draw() {
    std::string line = format_progress(name_, sent_, total_, clock_() - start_);
    std::size_t length = line.size();
    // Blank out what is left of a longer previous line.
    if (length < last_length_) {
        line.append(last_length_ - length, ' ');
    }
    last_length_ = length;
    stream_ << "\r" << line;
    stream_.flush();
    drawn_ = true;
}

}  // namespace patching::client
