# SPDX-License-Identifier: Apache-2.0
# Included from tests/CMakeLists.txt; paths are relative to tests/.
# test_agent: the agent's logic (plan, repo parsing, installer into throw-away roots).
# Every patch_agent/agent_*_test.cpp belongs to it. Installer cases need root, rpmbuild and
# createrepo_c and skip with a warning without them (CI has them).
if(TARGET patch_agent_lib)
    file(GLOB AGENT_UNIT_TESTS CONFIGURE_DEPENDS
        "${CMAKE_CURRENT_SOURCE_DIR}/patch_agent/agent_*_test.cpp")
    if(AGENT_UNIT_TESTS)
        add_executable(test_agent
            ${AGENT_UNIT_TESTS}
            $<TARGET_OBJECTS:test_main>)
        target_link_libraries(test_agent PRIVATE
            patch_agent_lib test_rpm_factory test_support Catch2::Catch2 patching::warnings)
        patching_discover_tests(test_agent)
    endif()
endif()

# test_agent_e2e (issue #4): real patch-agent daemons against the real patch-controller on
# loopback, each agent managing its own throw-away root, driven by the operator's real sw-patch
# (support/agent_harness.cpp). Every patch_agent/e2e_*.cpp belongs to it. Needs root, rpmbuild,
# createrepo_c and busybox-static (CI has them); cases skip with a warning without rpmbuild or
# busybox.
if(TARGET patch-agent AND TARGET patch-controller AND TARGET patch-build AND TARGET sw-patch)
    find_package(nlohmann_json 3 REQUIRED)
    file(GLOB AGENT_E2E_TESTS CONFIGURE_DEPENDS
        "${CMAKE_CURRENT_SOURCE_DIR}/patch_agent/e2e_*.cpp")
    if(AGENT_E2E_TESTS)
        add_executable(test_agent_e2e
            ${AGENT_E2E_TESTS}
            support/agent_harness.cpp
            support/controller_harness.cpp
            $<TARGET_OBJECTS:test_main>)
        target_link_libraries(test_agent_e2e PRIVATE
            test_support test_rpm_factory patching::core patching::core_rpm Catch2::Catch2
            nlohmann_json::nlohmann_json Threads::Threads patching::warnings)
        add_dependencies(test_agent_e2e patch-controller patch-agent patch-build sw-patch)
        if(TARGET sw-manager)
            add_dependencies(test_agent_e2e sw-manager)  # e2e_work_test drives it
        endif()
        patching_discover_tests(test_agent_e2e)
    endif()
endif()
