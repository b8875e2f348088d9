// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <signing/digest.hpp>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace patching::core::detail {

/// Hashes a sequence of inner tars: one MD5 per stream (for `signature`) and one SHA-256 over
/// their concatenation (for `signature.v2`), each on its own thread so that both digests keep
/// pace with decompression or disk I/O on a 2-core machine.
///
/// Buffers are reference-counted chunks from a fixed pool, so memory stays bounded
/// (CHUNK_COUNT x CHUNK_SIZE) whatever the stream length. Methods are called from one producer
/// thread.
class HashPipeline {
public:
    static constexpr size_t CHUNK_SIZE = 1U << 20U;
    static constexpr size_t CHUNK_COUNT = 8;

    struct Chunk {
        std::unique_ptr<std::byte[]> data = std::make_unique<std::byte[]>(CHUNK_SIZE);
        size_t size = 0;
        size_t stream = 0;
        int refs = 0;
    };

    HashPipeline();
    ~HashPipeline();
    HashPipeline(const HashPipeline&) = delete;
    HashPipeline& operator=(const HashPipeline&) = delete;

    /// Starts a new MD5 stream; later chunks belong to it. Returns its index.
    size_t begin_stream();
    /// A free chunk (blocks until one is), owned by the caller (one reference).
    Chunk* acquire();
    /// Queues `chunk` (its `size` bytes, current stream) to both hashers.
    void submit(Chunk* chunk);
    /// Drops the caller's reference.
    void release(Chunk* chunk);
    /// Convenience: copies `data` through chunks into the current stream.
    void feed(const std::byte* data, size_t size);

    /// Waits for all submitted chunks, stops the workers and returns the digests.
    std::vector<signing::Md5Digest> md5_digests();
    signing::Sha256Digest sha256_digest();

private:
    void worker(bool is_md5);
    void finish();

    std::mutex mutex_;
    std::condition_variable cv_;
    // State below is protected by mutex_.
    std::vector<std::unique_ptr<Chunk>> pool_;
    std::vector<Chunk*> free_;
    std::deque<Chunk*> md5_queue_;
    std::deque<Chunk*> sha_queue_;
    bool stopping_ = false;
    size_t stream_count_ = 0;

    // Owned by the workers until finish() joins them.
    std::vector<std::unique_ptr<signing::Md5>> md5_;
    signing::Sha256 sha256_;
    std::vector<signing::Md5Digest> md5_results_;
    signing::Sha256Digest sha_result_{};
    bool finished_ = false;
    std::thread md5_thread_;
    std::thread sha_thread_;
};

}  // namespace patching::core::detail
