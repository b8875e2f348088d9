// SPDX-License-Identifier: Apache-2.0
#include <chrono>
#include <iostream>
#include <thread>

#include "manager.hpp"

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    return patching::manager::run_manager(
        args, patching::client::system_environment(), std::cout, std::cerr,
        [](double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); });
}
