# SPDX-License-Identifier: Apache-2.0
# Included from tests/CMakeLists.txt; paths are relative to tests/.
# End-to-end tests of the patch-controller daemon: the real binary, started per test case.
if(TARGET patch-controller AND TARGET patch-build)
    find_package(CURL REQUIRED)
    find_package(nlohmann_json 3 REQUIRED)
    add_executable(test_controller
        patch_controller/controller_auth_test.cpp
        patch_controller/controller_import_test.cpp
        patch_controller/controller_operations_test.cpp
        patch_controller/controller_protocol_test.cpp
        patch_controller/controller_recovery_test.cpp
        support/controller_harness.cpp
        $<TARGET_OBJECTS:test_main>)
    target_link_libraries(test_controller PRIVATE
        test_support Catch2::Catch2 CURL::libcurl nlohmann_json::nlohmann_json Threads::Threads patching::warnings)
    add_dependencies(test_controller patch-controller patch-build)
    catch_discover_tests(test_controller)
endif()
