# SPDX-License-Identifier: Apache-2.0
# One INTERFACE target carries the warning set, so every module gets the same flags.
add_library(patching_warnings INTERFACE)
add_library(patching::warnings ALIAS patching_warnings)
target_compile_options(patching_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Wold-style-cast -Wsuggest-override
    $<$<BOOL:${PATCHING_WERROR}>:-Werror>)
# GCC 12 reports -Wrestrict false positives inside std::string concatenation at -O2
# (GCC bug 105329); they bury real warnings, so silence that one check on GCC only.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(patching_warnings INTERFACE -Wno-restrict)
    # In a unity batch every source but the first counts as a header to GCC, so a class using a
    # type from its own file's anonymous namespace draws -Wsubobject-linkage; it is not a defect.
    if(CMAKE_UNITY_BUILD)
        target_compile_options(patching_warnings INTERFACE -Wno-subobject-linkage)
    endif()
endif()
