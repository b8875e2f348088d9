// SPDX-License-Identifier: Apache-2.0
#include "hash_pipeline.hpp"

#include <algorithm>
#include <cstring>
#include <span>

namespace patching::core::detail {

HashPipeline::HashPipeline() {
    for (size_t i = 0; i < CHUNK_COUNT; ++i) {
        pool_.push_back(std::make_unique<Chunk>());
        free_.push_back(pool_.back().get());
    }
    md5_thread_ = std::thread([this] { worker(true); });
    sha_thread_ = std::thread([this] { worker(false); });
}

HashPipeline::~HashPipeline() { finish(); }

size_t HashPipeline::begin_stream() {
    std::lock_guard lock(mutex_);
    md5_.push_back(std::make_unique<signing::Md5>());
    return stream_count_++;
}

HashPipeline::Chunk* HashPipeline::acquire() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return !free_.empty(); });
    Chunk* chunk = free_.back();
    free_.pop_back();
    chunk->refs = 1;
    chunk->size = 0;
    chunk->stream = stream_count_ == 0 ? 0 : stream_count_ - 1;
    return chunk;
}

void HashPipeline::submit(Chunk* chunk) {
    {
        std::lock_guard lock(mutex_);
        chunk->refs += 2;
        md5_queue_.push_back(chunk);
        sha_queue_.push_back(chunk);
    }
    cv_.notify_all();
}

void HashPipeline::release(Chunk* chunk) {
    bool freed = false;
    {
        std::lock_guard lock(mutex_);
        if (--chunk->refs == 0) {
            free_.push_back(chunk);
            freed = true;
        }
    }
    if (freed) {
        cv_.notify_all();
    }
}

void HashPipeline::feed(const std::byte* data, size_t size) {
    while (size > 0) {
        Chunk* chunk = acquire();
        size_t n = std::min(size, CHUNK_SIZE);
        std::memcpy(chunk->data.get(), data, n);
        chunk->size = n;
        submit(chunk);
        release(chunk);
        data += n;
        size -= n;
    }
}

void HashPipeline::worker(bool is_md5) {
    std::deque<Chunk*>& queue = is_md5 ? md5_queue_ : sha_queue_;
    for (;;) {
        Chunk* chunk = nullptr;
        signing::Md5* md5 = nullptr;
        {
            std::unique_lock lock(mutex_);
            cv_.wait(lock, [&] { return !queue.empty() || stopping_; });
            if (queue.empty()) {
                return;
            }
            chunk = queue.front();
            queue.pop_front();
            if (is_md5) {
                md5 = md5_.at(chunk->stream).get();
            }
        }
        std::span<const std::byte> bytes(chunk->data.get(), chunk->size);
        if (is_md5) {
            md5->update(bytes);
        } else {
            sha256_.update(bytes);
        }
        release(chunk);
    }
}

void HashPipeline::finish() {
    if (finished_) {
        return;
    }
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    md5_thread_.join();
    sha_thread_.join();
    for (auto& md5 : md5_) {
        md5_results_.push_back(md5->finish());
    }
    sha_result_ = sha256_.finish();
    finished_ = true;
}

std::vector<signing::Md5Digest> HashPipeline::md5_digests() {
    finish();
    return md5_results_;
}

signing::Sha256Digest HashPipeline::sha256_digest() {
    finish();
    return sha_result_;
}

}  // namespace patching::core::detail
