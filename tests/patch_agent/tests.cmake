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
        catch_discover_tests(test_agent)
    endif()
endif()
