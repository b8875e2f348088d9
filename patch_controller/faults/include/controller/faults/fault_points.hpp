// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <span>
#include <string_view>

/// Fault points: named places in the controller's operations where a test build can make the
/// daemon kill itself with SIGKILL, as a power cut or the OOM killer would. Every point is listed
/// in REGISTRY below, and a call names its point with a literal that is checked against the
/// registry at compile time, so the crash test (tests/patch_controller/fault_points_test.cpp),
/// which iterates over the registry, covers a new point as soon as it is added.
///
/// Compiled in only when CMake's PATCHING_FAULT_POINTS is ON (the default with the test suites;
/// builds made with -DPATCHING_BUILD_TESTS=OFF, as packages are, have none): fault_point() is
/// then an empty inline function and the environment is never read.
namespace patching::controller::faults {

/// Whether the operation's store transaction has committed when the point is reached: after a
/// crash there, the restarted daemon must show the operation wholly done (AFTER_COMMIT) or not
/// done at all (BEFORE_COMMIT).
enum class Stage { BEFORE_COMMIT, AFTER_COMMIT };

struct FaultPointInfo {
    std::string_view name;        ///< "<operation or step>.<moment>", the value of PATCHING_FAULT
    std::string_view operations;  ///< the operations that reach it, space-separated
    Stage stage;
    std::string_view state;       ///< what is on disk when it fires
};

// clang-format off
inline constexpr FaultPointInfo REGISTRY[] = {
    {"upload.after_receive", "upload", Stage::BEFORE_COMMIT, "the upload is stored in tmp/ and verified; nothing placed"},
    {"upload.after_place", "upload", Stage::BEFORE_COMMIT, "RPMs and semantic scripts placed in the store; no row"},
    {"upload.after_commit", "upload", Stage::AFTER_COMMIT, "the row is committed; no metadata file, model not updated"},
    {"apply.after_commit", "apply", Stage::AFTER_COMMIT, "repostates committed; metadata files and repository old"},
    {"apply.during_metadata", "apply", Stage::AFTER_COMMIT, "the first patch's metadata file moved, the others not"},
    {"apply.before_publish", "apply", Stage::AFTER_COMMIT, "metadata files moved; repository not yet published"},
    {"apply.after_publish", "apply", Stage::AFTER_COMMIT, "repository published; agents not told, no reply sent"},
    {"remove.after_commit", "remove", Stage::AFTER_COMMIT, "repostates committed; metadata files and repository old"},
    {"remove.during_metadata", "remove", Stage::AFTER_COMMIT, "the first patch's metadata file moved, the others not"},
    {"remove.before_publish", "remove", Stage::AFTER_COMMIT, "metadata files moved; repository not yet published"},
    {"remove.after_publish", "remove", Stage::AFTER_COMMIT, "repository published; agents not told, no reply sent"},
    {"commit.after_commit", "commit", Stage::AFTER_COMMIT, "rows committed; metadata files, freed RPMs, repository old"},
    {"commit.after_metadata", "commit", Stage::AFTER_COMMIT, "metadata files moved; superseded RPMs still on disk"},
    {"commit.after_cleanup", "commit", Stage::AFTER_COMMIT, "superseded RPMs deleted; the repository still lists them"},
    {"commit.after_publish", "commit", Stage::AFTER_COMMIT, "repository published; agents not told, no reply sent"},
    {"delete.after_commit", "delete", Stage::AFTER_COMMIT, "rows deleted; every file still on disk"},
    {"delete.during_files", "delete", Stage::AFTER_COMMIT, "the first patch's files deleted, the others' not"},
    {"publish.after_packages", "apply remove commit", Stage::AFTER_COMMIT, "Packages/ synced; repodata still the old one"},
    {"publish.after_createrepo", "apply remove commit", Stage::AFTER_COMMIT, "a new repodata generation written, not swapped in"},
};
// clang-format on

constexpr bool is_registered(std::string_view name) {
    for (const auto& point : REGISTRY) {
        if (point.name == name) {
            return true;
        }
    }
    return false;
}

/// A fault point's name, checked against REGISTRY at compile time: an unregistered literal does
/// not compile.
class PointName {
public:
    // NOLINTNEXTLINE(google-explicit-constructor): written as fault_point("apply.after_commit")
    consteval PointName(const char* name) : name_(name) {
        if (!is_registered(name_)) {
            throw "fault point not in faults::REGISTRY";  // a compile error in a consteval call
        }
    }
    constexpr std::string_view get() const { return name_; }

private:
    std::string_view name_;
};

#if defined(PATCHING_FAULT_POINTS) && PATCHING_FAULT_POINTS
/// Arms the point named by the environment variable PATCHING_FAULT, if it is set. The daemon
/// calls it once, after start-up recovery and before any thread starts, so the point fires in
/// the first operation that reaches it (not in recovery's republish).
/// REQUIRES: no other thread running.
/// @throws std::runtime_error if the variable names no registered point.
void arm_from_environment();
/// If `name` is the armed point: says so on stderr and kills the process with SIGKILL.
void fault_point(PointName name);
#else
inline void arm_from_environment() {}
inline void fault_point(PointName /*name*/) {}
#endif

/// Whether this build has fault points (PATCHING_FAULT_POINTS).
constexpr bool compiled_in() {
#if defined(PATCHING_FAULT_POINTS) && PATCHING_FAULT_POINTS
    return true;
#else
    return false;
#endif
}

}  // namespace patching::controller::faults
