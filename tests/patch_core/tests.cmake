# SPDX-License-Identifier: Apache-2.0
add_executable(test_patch_core
    patch_core/metadata_xml_test.cpp
    patch_core/patch_id_test.cpp
    patch_core/patch_file_test.cpp
    patch_core/hostile_patch_test.cpp
    patch_core/evr_test.cpp
    patch_core/patch_state_test.cpp
    patch_core/dependencies_test.cpp
    patch_core/comps_test.cpp
    patch_core/messages_test.cpp
    patch_core/clock_test.cpp
    patch_core/rest_test.cpp
    patch_core/fs_test.cpp
    $<TARGET_OBJECTS:test_main>)
target_link_libraries(test_patch_core PRIVATE
    patching::core patching::core_rpm patching::signing test_forge test_support Catch2::Catch2
    LibArchive::LibArchive ZLIB::ZLIB PkgConfig::RPM patching::warnings)
patching_discover_tests(test_patch_core)
