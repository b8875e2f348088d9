// SPDX-License-Identifier: Apache-2.0
// Only the Catch2 main lives here; test cases go in the per-module files.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
