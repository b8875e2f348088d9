// SPDX-License-Identifier: Apache-2.0
#include "gzip_writer.hpp"

#include <patch_core/errors.hpp>

#include <limits>

namespace patching::core::detail {

namespace {
constexpr size_t BUFFER_SIZE = 1U << 20U;
}

GzipWriter::GzipWriter(AtomicFile& out, const std::string& fname, std::uint32_t mtime, int level)
    : out_(out), fname_(fname), buffer_(std::make_unique<unsigned char[]>(BUFFER_SIZE)),
      level_(level) {
    // windowBits 15 + 16 selects the gzip wrapper.
    if (deflateInit2(&zs_, level, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
        throw Error("zlib: cannot initialise deflate");
    }
    header_.time = mtime;
    header_.os = 255;
    header_.name = reinterpret_cast<Bytef*>(fname_.data());
    deflateSetHeader(&zs_, &header_);
    zs_.next_out = buffer_.get();
    zs_.avail_out = BUFFER_SIZE;
}

GzipWriter::~GzipWriter() { deflateEnd(&zs_); }

void GzipWriter::drain_output() {
    size_t pending = BUFFER_SIZE - zs_.avail_out;
    if (pending > 0) {
        out_.write_all(buffer_.get(), pending);
    }
    zs_.next_out = buffer_.get();
    zs_.avail_out = BUFFER_SIZE;
}

void GzipWriter::set_level(int level) {
    if (level == level_) {
        return;
    }
    // deflateParams flushes pending input with the old level and asks for more output space
    // (Z_BUF_ERROR) when the buffer is too small.
    for (;;) {
        int rc = deflateParams(&zs_, level, Z_DEFAULT_STRATEGY);
        if (rc == Z_OK) {
            break;
        }
        if (rc != Z_BUF_ERROR) {
            throw Error("zlib: cannot change compression level");
        }
        drain_output();
    }
    level_ = level;
}

void GzipWriter::write(const void* data, size_t size) {
    auto* p = static_cast<Bytef*>(const_cast<void*>(data));
    while (size > 0) {
        auto chunk = static_cast<uInt>(std::min<size_t>(size, std::numeric_limits<uInt>::max()));
        zs_.next_in = p;
        zs_.avail_in = chunk;
        while (zs_.avail_in > 0) {
            if (deflate(&zs_, Z_NO_FLUSH) == Z_STREAM_ERROR) {
                throw Error("zlib: deflate failed");
            }
            if (zs_.avail_out == 0) {
                drain_output();
            }
        }
        p += chunk;
        size -= chunk;
    }
}

void GzipWriter::finish() {
    zs_.next_in = nullptr;
    zs_.avail_in = 0;
    for (;;) {
        int rc = deflate(&zs_, Z_FINISH);
        if (rc == Z_STREAM_END) {
            break;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            throw Error("zlib: deflate finish failed");
        }
        drain_output();
    }
    drain_output();
    finished_ = true;
}

}  // namespace patching::core::detail
