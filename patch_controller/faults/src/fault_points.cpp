// SPDX-License-Identifier: Apache-2.0
#include <controller/faults/fault_points.hpp>

#include <common/log.hpp>

#if defined(PATCHING_FAULT_POINTS) && PATCHING_FAULT_POINTS

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace patching::controller::faults {

namespace {
// Written once by arm_from_environment before threads start, then only read.
std::string armed;  // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)
}  // namespace

void arm_from_environment() {
    const char* value = std::getenv("PATCHING_FAULT");
    if (value == nullptr || *value == '\0') {
        return;
    }
    if (!is_registered(value)) {
        throw std::runtime_error(std::string("PATCHING_FAULT=") + value + " names no fault point");
    }
    armed = value;
    common::log::warning("fault point " + armed + " armed: SIGKILL when reached");
}

void fault_point(PointName name) {
    if (armed.empty() || name.get() != armed) {
        return;
    }
    const std::string line = "patch-controller: fault point " + armed + " reached: SIGKILL\n";
    (void)::write(STDERR_FILENO, line.data(), line.size());
    ::kill(::getpid(), SIGKILL);
    ::pause();  // SIGKILL cannot be caught: never returns
}

}  // namespace patching::controller::faults

#endif
