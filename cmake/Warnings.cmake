# SPDX-License-Identifier: Apache-2.0
# One INTERFACE target carries the warning set, so every module gets the same flags.
add_library(patching_warnings INTERFACE)
add_library(patching::warnings ALIAS patching_warnings)
target_compile_options(patching_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Wold-style-cast -Wsuggest-override
    $<$<BOOL:${PATCHING_WERROR}>:-Werror>)
