# SPDX-License-Identifier: Apache-2.0
# Included from tests/CMakeLists.txt; paths are relative to tests/.
find_package(Boost 1.81 REQUIRED)
add_executable(test_sw_patch
    sw_patch/cli_test.cpp
    sw_patch/completion_test.cpp
    sw_patch/config_test.cpp
    sw_patch/controller_client_test.cpp
    sw_patch/fake_controller.cpp
    sw_patch/host_install_poller_test.cpp
    sw_patch/output_test.cpp
    sw_patch/terminal_text_test.cpp
    $<TARGET_OBJECTS:test_main>)
target_link_libraries(test_sw_patch PRIVATE
    sw_patch_lib test_support Boost::headers Threads::Threads Catch2::Catch2 patching::warnings)
target_compile_definitions(test_sw_patch PRIVATE
    SW_PATCH_BINARY="$<TARGET_FILE:sw-patch>"
    SW_PATCH_COMPLETION_SCRIPT="${PROJECT_SOURCE_DIR}/sw_patch/completion/sw-patch.bash")
add_dependencies(test_sw_patch sw-patch)
# The prefix keeps the names unique across modules and lets `ctest -R sw_patch` pick these.
patching_discover_tests(test_sw_patch TEST_PREFIX "sw_patch: ")
