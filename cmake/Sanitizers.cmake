# SPDX-License-Identifier: Apache-2.0
# PATCHING_SANITIZERS is a comma list passed to -fsanitize (address,undefined or thread).
set(PATCHING_SANITIZERS "" CACHE STRING "Sanitizers to enable, e.g. address,undefined")
if(PATCHING_SANITIZERS)
    add_compile_options(-fsanitize=${PATCHING_SANITIZERS} -fno-omit-frame-pointer)
    add_link_options(-fsanitize=${PATCHING_SANITIZERS})
endif()
