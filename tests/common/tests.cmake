# SPDX-License-Identifier: Apache-2.0
# Included from tests/CMakeLists.txt; paths are relative to tests/.
add_executable(test_common
    common/http_client_test.cpp
    common/ini_test.cpp
    common/log_test.cpp
    common/subprocess_test.cpp
    $<TARGET_OBJECTS:test_main>)
target_link_libraries(test_common PRIVATE
    patching::common test_support Catch2::Catch2 Threads::Threads patching::warnings)
patching_discover_tests(test_common)
