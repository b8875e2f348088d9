# SPDX-License-Identifier: Apache-2.0
# Included from tests/CMakeLists.txt; paths are relative to tests/.
# End-to-end tests of the patch-controller daemon: the real binary, started per test case by
# support/controller_harness.cpp. Every patch_controller/controller_*.cpp belongs to the suite.
if(TARGET patch-controller AND TARGET patch-build)
    find_package(nlohmann_json 3 REQUIRED)
    file(GLOB CONTROLLER_E2E_TESTS CONFIGURE_DEPENDS
        "${CMAKE_CURRENT_SOURCE_DIR}/patch_controller/controller_*.cpp")
    add_executable(test_controller
        ${CONTROLLER_E2E_TESTS}
        support/controller_harness.cpp
        $<TARGET_OBJECTS:test_main>)
    target_link_libraries(test_controller PRIVATE
        test_support Catch2::Catch2 nlohmann_json::nlohmann_json Threads::Threads patching::warnings)
    add_dependencies(test_controller patch-controller patch-build)
    # reference_requests.py: sends requests exactly as the reference client does (python3-requests).
    target_compile_definitions(test_controller PRIVATE
        PATCHING_TEST_SCRIPTS_DIR="${CMAKE_CURRENT_SOURCE_DIR}/patch_controller")
    if(TARGET sw-patch)
        add_dependencies(test_controller sw-patch)  # controller_cli_test drives the real CLI
    endif()
    if(TARGET sw-manager)
        add_dependencies(test_controller sw-manager)  # controller_work_api_test drives it
    endif()
    patching_discover_tests(test_controller)
endif()

# test_controller_unit: the controller's services and stores in-process, on the in-memory
# store, a recording publisher and a fixed clock (no daemon, no createrepo_c): seconds.
if(TARGET patch_controller_lib)
    find_package(date CONFIG REQUIRED)  # job_recurrence_test reads times with date::parse
    add_executable(test_controller_unit
        patch_controller/api_openapi_test.cpp
        patch_controller/config_test.cpp
        patch_controller/job_recurrence_test.cpp
        patch_controller/job_scheduler_test.cpp
        patch_controller/job_store_test.cpp
        patch_controller/host_lifecycle_test.cpp
        patch_controller/multipart_test.cpp
        patch_controller/service_catalog_test.cpp
        patch_controller/service_commands_test.cpp
        patch_controller/service_fixture.cpp
        patch_controller/service_hosts_test.cpp
        patch_controller/store_test.cpp
        patch_controller/work_engine_test.cpp
        patch_controller/work_store_test.cpp
        $<TARGET_OBJECTS:test_main>)
    target_link_libraries(test_controller_unit PRIVATE
        patch_controller_lib test_support Catch2::Catch2 patching::warnings date::date-tz)
    target_compile_definitions(test_controller_unit PRIVATE
        PATCHING_TESTDATA_DIR="${CMAKE_CURRENT_SOURCE_DIR}/patch_controller/testdata")
    patching_discover_tests(test_controller_unit TEST_PREFIX "controller unit: ")
endif()

# test_controller_faults (issue #9): the real daemon SIGKILLed at every fault point of
# patch_controller/faults' registry, restarted and checked. Only where fault points are compiled
# in (PATCHING_FAULT_POINTS, ON with the tests); links the controller for the registry and for
# reading its database.
if(TARGET patch-controller AND TARGET patch-build AND PATCHING_FAULT_POINTS)
    add_executable(test_controller_faults
        patch_controller/fault_points_test.cpp
        support/controller_harness.cpp
        $<TARGET_OBJECTS:test_main>)
    target_link_libraries(test_controller_faults PRIVATE
        patch_controller_lib test_support Catch2::Catch2 nlohmann_json::nlohmann_json
        Threads::Threads patching::warnings)
    add_dependencies(test_controller_faults patch-controller patch-build)
    patching_discover_tests(test_controller_faults TEST_PREFIX "controller faults: ")
endif()
