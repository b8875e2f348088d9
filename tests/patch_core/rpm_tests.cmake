# SPDX-License-Identifier: Apache-2.0
# Included from tests/CMakeLists.txt; paths are relative to tests/.
# Real librpm transactions in throw-away roots: they need root, rpmbuild and /bin/busybox
# (scripts/install-deps.sh), and skip with a warning without them.
add_executable(test_rpm_transaction
    patch_core/rpm_transaction_test.cpp
    $<TARGET_OBJECTS:test_main>)
target_link_libraries(test_rpm_transaction PRIVATE
    patching::core_rpm test_rpm_factory test_support Catch2::Catch2 patching::warnings)
patching_discover_tests(test_rpm_transaction)
