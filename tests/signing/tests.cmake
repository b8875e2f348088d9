# SPDX-License-Identifier: Apache-2.0
# Included from tests/CMakeLists.txt; paths are relative to tests/.
add_executable(test_signing
    signing/digest_test.cpp
    signing/keys_test.cpp
    signing/trust_store_test.cpp
    $<TARGET_OBJECTS:test_main>)
target_link_libraries(test_signing PRIVATE
    patching::signing test_support Catch2::Catch2 patching::warnings)
# The tool test runs the built patch-keys binary.
add_dependencies(test_signing patch-keys)
patching_discover_tests(test_signing)
