# SPDX-License-Identifier: Apache-2.0
# Included from tests/CMakeLists.txt; paths are relative to tests/.
# test_agent_netns: the controller and three agents, each in its own network namespace joined by
# a bridge, talking TLS over real addresses; sw-patch drives it inside the controller's namespace.
# Needs root, iproute2, openssl, rpmbuild and createrepo_c; skips with a warning without them.
if(TARGET patch-agent AND TARGET patch-controller AND TARGET sw-patch AND TARGET patch-build)
    add_executable(test_agent_netns
        patch_agent/netns_e2e_test.cpp
        $<TARGET_OBJECTS:test_main>)
    target_link_libraries(test_agent_netns PRIVATE
        test_rpm_factory test_support Catch2::Catch2 Threads::Threads patching::warnings)
    add_dependencies(test_agent_netns patch-agent patch-controller sw-patch patch-build patch-keys)
    patching_discover_tests(test_agent_netns PROPERTIES TIMEOUT 180)
endif()
