# SPDX-License-Identifier: Apache-2.0
if(TARGET controller_repo)
    add_executable(test_controller_repo
        patch_controller/repo_base_feed_test.cpp
        patch_controller/repo_publisher_test.cpp
        $<TARGET_OBJECTS:test_main>)
    target_link_libraries(test_controller_repo PRIVATE
        controller_repo test_support Catch2::Catch2 patching::warnings)
    patching_discover_tests(test_controller_repo)
endif()
