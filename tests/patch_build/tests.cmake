# SPDX-License-Identifier: Apache-2.0
add_executable(test_patch_build
    patch_build/builder_test.cpp
    patch_build/cli_test.cpp
    $<TARGET_OBJECTS:test_main>)
target_link_libraries(test_patch_build PRIVATE
    patch_build_lib test_forge test_support LibArchive::LibArchive Catch2::Catch2 patching::warnings)
add_dependencies(test_patch_build patch-build)
patching_discover_tests(test_patch_build)
