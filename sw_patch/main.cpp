// SPDX-License-Identifier: Apache-2.0
#include "cli.hpp"

int main(int argc, char** argv) {
    return patching::client::run_main(argc, argv);
}
