// SPDX-License-Identifier: Apache-2.0
#include "work/work_types.hpp"

#include <array>
#include <utility>

namespace patching::controller {

namespace {

template <class E, size_t N>
std::optional<E> parse_name(const std::array<std::pair<E, std::string_view>, N>& names, std::string_view text) {
    for (const auto& [value, name] : names) {
        if (name == text) {
            return value;
        }
    }
    return std::nullopt;
}

template <class E, size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& names, E value) {
    for (const auto& [v, name] : names) {
        if (v == value) {
            return name;
        }
    }
    return "UNKNOWN";
}

constexpr std::array<std::pair<WorkState, std::string_view>, 8> STATES{{
    {WorkState::ACCEPTED, "ACCEPTED"},
    {WorkState::WAITING, "WAITING"},
    {WorkState::IN_PROGRESS, "IN_PROGRESS"},
    {WorkState::SUCCEEDED, "SUCCEEDED"},
    {WorkState::FAILED, "FAILED"},
    {WorkState::CANCELING, "CANCELING"},
    {WorkState::CANCELED, "CANCELED"},
    {WorkState::SKIPPED, "SKIPPED"},
}};
constexpr std::array<std::pair<WorkOutcome, std::string_view>, 6> OUTCOMES{{
    {WorkOutcome::NONE, ""},
    {WorkOutcome::COMPLETE, "COMPLETE"},
    {WorkOutcome::INCOMPLETE, "INCOMPLETE"},
    {WorkOutcome::BUDGET_EXHAUSTED, "BUDGET_EXHAUSTED"},
    {WorkOutcome::CANCELED_BY_USER, "CANCELED_BY_USER"},
    {WorkOutcome::CUTOFF_REACHED, "CUTOFF_REACHED"},
}};
constexpr std::array<std::pair<Initiator, std::string_view>, 4> INITIATORS{{
    {Initiator::USER, "USER"},
    {Initiator::SCHEDULE, "SCHEDULE"},
    {Initiator::RETRY, "RETRY"},
    {Initiator::RERUN, "RERUN"},
}};
constexpr std::array<std::pair<WorkOperation, std::string_view>, 4> OPERATIONS{{
    {WorkOperation::HOST_INSTALL, "HOST_INSTALL"},
    {WorkOperation::HOST_LOCK, "HOST_LOCK"},
    {WorkOperation::HOST_UNLOCK, "HOST_UNLOCK"},
    {WorkOperation::HOST_REBOOT, "HOST_REBOOT"},
}};

}  // namespace

std::string_view to_string(WorkState s) { return name_of(STATES, s); }
std::string_view to_string(WorkOutcome o) { return name_of(OUTCOMES, o); }
std::string_view to_string(Initiator i) { return name_of(INITIATORS, i); }
std::string_view to_string(WorkOperation o) { return name_of(OPERATIONS, o); }

std::optional<WorkState> parse_work_state(std::string_view text) {
    if (text == "CANCELLING") {  // OSMS's spelling, accepted on input (spec §1.2)
        return WorkState::CANCELING;
    }
    return parse_name(STATES, text);
}
std::optional<WorkOutcome> parse_work_outcome(std::string_view text) { return parse_name(OUTCOMES, text); }
std::optional<Initiator> parse_initiator(std::string_view text) { return parse_name(INITIATORS, text); }
std::optional<WorkOperation> parse_work_operation(std::string_view text) { return parse_name(OPERATIONS, text); }

bool is_terminal(WorkState s) {
    return s == WorkState::SUCCEEDED || s == WorkState::FAILED || s == WorkState::CANCELED || s == WorkState::SKIPPED;
}

}  // namespace patching::controller
