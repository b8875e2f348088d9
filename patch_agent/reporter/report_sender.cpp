// SPDX-License-Identifier: Apache-2.0
#include "reporter/report_sender.hpp"

#include <patch_core/errors.hpp>

#include <utility>

namespace patching::agent {

ReportSender::ReportSender(AgentSession& session, HttpClientOptions options, Callbacks callbacks)
    : session_(session), http_(std::move(options)), callbacks_(std::move(callbacks)) {
    thread_ = std::thread([this] { run(); });
}

ReportSender::~ReportSender() {
    stop();
}

void ReportSender::send(core::protocol::AgentReport report) {
    {
        std::lock_guard lock(mutex_);
        waiting_ = std::move(report);
    }
    wake_.notify_all();
}

bool ReportSender::busy() const {
    std::lock_guard lock(mutex_);
    return sending_ || waiting_.has_value();
}

void ReportSender::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void ReportSender::run() {
    for (;;) {
        core::protocol::AgentReport report;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || waiting_.has_value(); });
            if (!waiting_) {
                return;  // stopping, and everything handed over has been sent
            }
            report = std::move(*waiting_);
            waiting_.reset();
            sending_ = true;
        }
        try {
            const core::protocol::PollReply reply = session_.report(http_, report);
            if (callbacks_.sent) {
                callbacks_.sent(report, reply);
            }
        } catch (const std::exception& e) {
            if (callbacks_.failed) {
                callbacks_.failed(report, core::format_error_chain(e));
            }
        }
        bool idle = false;
        {
            std::lock_guard lock(mutex_);
            sending_ = false;
            idle = !waiting_.has_value();
        }
        if (idle && callbacks_.idle) {
            callbacks_.idle();
        }
    }
}

}  // namespace patching::agent
