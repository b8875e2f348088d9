// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <patch_core/fs.hpp>

#include <zlib.h>

#include <cstdint>
#include <memory>
#include <string>

namespace patching::core::detail {

/// A single-member gzip stream written to an AtomicFile, with a header like Python's GzipFile
/// (FNAME, MTIME, OS=255). The compression level can change between writes, so bytes that are
/// already compressed go into stored blocks at memcpy speed while text is deflated; the stream
/// stays one valid gzip member for every reader.
class GzipWriter {
public:
    GzipWriter(AtomicFile& out, const std::string& fname, std::uint32_t mtime, int level);
    ~GzipWriter();
    GzipWriter(const GzipWriter&) = delete;
    GzipWriter& operator=(const GzipWriter&) = delete;

    void set_level(int level);
    void write(const void* data, size_t size);
    /// Flushes the trailer. REQUIRES: called once, before the AtomicFile is committed.
    void finish();

private:
    void drain_output();

    AtomicFile& out_;
    z_stream zs_{};
    gz_header header_{};
    std::string fname_;
    std::unique_ptr<unsigned char[]> buffer_;
    int level_;
    bool finished_ = false;
};

}  // namespace patching::core::detail
