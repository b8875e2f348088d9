// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <patch_core/errors.hpp>

#include <cstddef>
#include <functional>
#include <string>

namespace patching::controller {

/// A multipart/form-data body that does not follow RFC 7578 or our limits.
class MultipartError : public core::Error {
public:
    using core::Error::Error;
};

/// True for a `multipart/form-data` content type (any parameters).
bool is_multipart_form(const std::string& content_type);

/// Streams the file of a multipart/form-data body (RFC 7578) as it arrives, never holding it
/// in memory: the form the reference client posts to `upload` (one part, field `file`, with
/// the file name). Other fields are skipped (each at most MAX_SKIPPED_PART bytes), a second
/// `file` part is refused, and the body must end with its final boundary, or the last read()
/// throws: a truncated upload is never taken for a whole one.
class MultipartFileReader {
public:
    using Source = std::function<std::size_t(char* buf, std::size_t len)>;  ///< 0 = end of body
    static constexpr std::size_t MAX_PART_HEADERS = 8U << 10U;
    static constexpr std::size_t MAX_SKIPPED_PART = 64U << 10U;
    static constexpr std::size_t MAX_PREAMBLE = 64U << 10U;

    /// @throws MultipartError if `content_type` has no usable boundary.
    MultipartFileReader(const std::string& content_type, Source source, std::string field = "file");

    /// Reads up to the start of the `field` part's content; returns its file name as sent
    /// ("" if the part has none). @throws MultipartError (no such part, malformed body).
    std::string open();
    /// The next bytes of the file, 0 at its end (once the rest of the body has been checked).
    /// @throws MultipartError, or what the source throws.
    std::size_t read(char* buf, std::size_t len);

private:
    /// Appends the source's next bytes to the buffer; false at the end of the body.
    bool fill();
    /// Discards the buffer up to and including the next delimiter; throws past `limit` bytes.
    void skip_to_delimiter(std::size_t limit, const char* what);
    /// After a delimiter: true if it was the final one, else reads the part's headers into
    /// name/filename.
    bool next_part(std::string& name, std::string& filename);
    /// After the file: checks the remaining parts and the final boundary.
    void finish();
    void compact();

    Source source_;
    std::string field_;
    std::string delimiter_;  ///< CRLF "--" boundary
    std::string buffer_;
    std::size_t pos_ = 0;    ///< Unconsumed data starts here.
    bool source_done_ = false;
    bool opened_ = false;
    bool done_ = false;
};

}  // namespace patching::controller
