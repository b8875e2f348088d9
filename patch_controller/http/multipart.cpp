// SPDX-License-Identifier: Apache-2.0
#include "http/multipart.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <vector>

namespace patching::controller {

namespace {

constexpr std::size_t FILL_CHUNK = 256U << 10U;

std::string lower_ascii(std::string text) {
    for (auto& c : text) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return text;
}

std::string trim_blanks(const std::string& text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string::npos) {
        return {};
    }
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// `; key=value; key="quoted \"value\""` -> {key (lower case), value}, in order.
std::vector<std::pair<std::string, std::string>> header_params(const std::string& text) {
    std::vector<std::pair<std::string, std::string>> params;
    std::size_t i = text.find(';');
    while (i != std::string::npos && i < text.size()) {
        ++i;  // ';'
        const std::size_t eq = text.find('=', i);
        const std::size_t semi = text.find(';', i);
        if (eq == std::string::npos || (semi != std::string::npos && semi < eq)) {
            i = semi;
            continue;
        }
        std::string key = lower_ascii(trim_blanks(text.substr(i, eq - i)));
        std::size_t j = eq + 1;
        while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) {
            ++j;
        }
        std::string value;
        if (j < text.size() && text[j] == '"') {
            for (++j; j < text.size() && text[j] != '"'; ++j) {
                if (text[j] == '\\' && j + 1 < text.size()) {
                    ++j;
                }
                value += text[j];
            }
            i = text.find(';', j);
        } else {
            const std::size_t end = text.find(';', j);
            value = trim_blanks(text.substr(j, end == std::string::npos ? std::string::npos : end - j));
            i = end;
        }
        params.emplace_back(std::move(key), std::move(value));
    }
    return params;
}

}  // namespace

bool is_multipart_form(const std::string& content_type) {
    return lower_ascii(trim_blanks(content_type.substr(0, content_type.find(';')))) == "multipart/form-data";
}

MultipartFileReader::MultipartFileReader(const std::string& content_type, Source source, std::string field)
    : source_(std::move(source)), field_(std::move(field)) {
    std::string boundary;
    for (const auto& [key, value] : header_params(content_type)) {
        if (key == "boundary") {
            boundary = value;
        }
    }
    // RFC 2046 5.1.1: 1 to 70 characters.
    if (boundary.empty() || boundary.size() > 70 || boundary.find_first_of("\r\n") != std::string::npos) {
        throw MultipartError("multipart/form-data without a valid boundary parameter");
    }
    delimiter_ = "\r\n--" + boundary;
    // The first delimiter may open the body without the CRLF that precedes every other one.
    buffer_ = "\r\n";
}

void MultipartFileReader::compact() {
    if (pos_ > 0) {
        buffer_.erase(0, pos_);
        pos_ = 0;
    }
}

bool MultipartFileReader::fill() {
    if (source_done_) {
        return false;
    }
    compact();
    const std::size_t old = buffer_.size();
    buffer_.resize(old + FILL_CHUNK);
    const std::size_t n = source_(buffer_.data() + old, FILL_CHUNK);
    buffer_.resize(old + n);
    if (n == 0) {
        source_done_ = true;
        return false;
    }
    return true;
}

void MultipartFileReader::skip_to_delimiter(std::size_t limit, const char* what) {
    std::size_t skipped = 0;
    for (;;) {
        const std::size_t at = buffer_.find(delimiter_, pos_);
        if (at != std::string::npos) {
            if (skipped + (at - pos_) > limit) {
                break;
            }
            pos_ = at + delimiter_.size();
            return;
        }
        const std::size_t keep = delimiter_.size() - 1;
        if (buffer_.size() - pos_ > keep) {
            skipped += buffer_.size() - pos_ - keep;
            pos_ = buffer_.size() - keep;
        }
        if (skipped > limit) {
            break;
        }
        if (!fill()) {
            throw MultipartError("the form ends without its final boundary (truncated upload?)");
        }
    }
    throw MultipartError(std::string(what) + " is larger than " + std::to_string(limit >> 10U) + " KiB");
}

bool MultipartFileReader::next_part(std::string& name, std::string& filename) {
    while (buffer_.size() - pos_ < 2 && fill()) {
    }
    if (buffer_.size() - pos_ < 2) {
        throw MultipartError("the form ends without its final boundary (truncated upload?)");
    }
    if (buffer_.compare(pos_, 2, "--") == 0) {
        pos_ += 2;
        return true;
    }
    // The boundary line may end in blanks (RFC 2046 "transport padding"); its CRLF starts the
    // search for the blank line that ends the part's headers.
    std::size_t header_end = std::string::npos;
    for (;;) {
        while (pos_ < buffer_.size() && (buffer_[pos_] == ' ' || buffer_[pos_] == '\t')) {
            ++pos_;
        }
        header_end = buffer_.find("\r\n\r\n", pos_);
        if (header_end != std::string::npos) {
            break;
        }
        if (buffer_.size() - pos_ > MAX_PART_HEADERS) {
            throw MultipartError("a form part's headers are larger than " + std::to_string(MAX_PART_HEADERS >> 10U) +
                                 " KiB");
        }
        if (!fill()) {
            throw MultipartError("the form ends without its final boundary (truncated upload?)");
        }
    }
    if (header_end - pos_ > MAX_PART_HEADERS) {
        throw MultipartError("a form part's headers are larger than " + std::to_string(MAX_PART_HEADERS >> 10U) +
                             " KiB");
    }
    if (buffer_.compare(pos_, 2, "\r\n") != 0) {
        throw MultipartError("malformed boundary line in the form");
    }
    // A part of no octets at all (no headers, no blank line): the next delimiter follows the
    // boundary line at once.
    while (buffer_.size() < pos_ + 2 + delimiter_.size() && fill()) {
    }
    if (buffer_.compare(pos_ + 2, delimiter_.size(), delimiter_) == 0) {
        pos_ += 2;
        name.clear();
        filename.clear();
        return false;  // skip_to_delimiter() finds that delimiter at pos_
    }
    const std::string headers = header_end > pos_ + 2 ? buffer_.substr(pos_ + 2, header_end - pos_ - 2) : std::string();
    pos_ = header_end + 4;
    name.clear();
    filename.clear();
    std::size_t start = 0;
    while (start < headers.size()) {
        std::size_t end = headers.find("\r\n", start);
        const std::string line = headers.substr(start, end == std::string::npos ? std::string::npos : end - start);
        start = end == std::string::npos ? headers.size() : end + 2;
        const std::size_t colon = line.find(':');
        if (colon == std::string::npos || lower_ascii(trim_blanks(line.substr(0, colon))) != "content-disposition") {
            continue;
        }
        for (const auto& [key, value] : header_params(line.substr(colon + 1))) {
            if (key == "name") {
                name = value;
            } else if (key == "filename") {
                filename = value;
            }
        }
    }
    return false;
}

std::string MultipartFileReader::open() {
    if (opened_) {
        throw MultipartError("the form's file part was already opened");
    }
    skip_to_delimiter(MAX_PREAMBLE, "the form's preamble");
    std::string name;
    std::string filename;
    while (!next_part(name, filename)) {
        if (name == field_) {
            opened_ = true;
            return filename;
        }
        skip_to_delimiter(MAX_SKIPPED_PART, ("the form field \"" + core::escape_unprintable(name) + "\"").c_str());
    }
    throw MultipartError("the form has no \"" + field_ + "\" part: send the patch as the field \"" + field_ + "\"");
}

std::size_t MultipartFileReader::read(char* buf, std::size_t len) {
    if (!opened_) {
        throw MultipartError("read() before open()");
    }
    if (done_ || len == 0) {
        return 0;
    }
    for (;;) {
        const std::size_t at = buffer_.find(delimiter_, pos_);
        std::size_t ready = 0;
        if (at != std::string::npos) {
            ready = at - pos_;
            if (ready == 0) {
                pos_ += delimiter_.size();
                finish();
                done_ = true;
                return 0;
            }
        } else if (buffer_.size() - pos_ > delimiter_.size() - 1) {
            // The tail might be the start of the delimiter: kept until more arrives.
            ready = buffer_.size() - pos_ - (delimiter_.size() - 1);
        }
        if (ready > 0) {
            const std::size_t n = std::min(len, ready);
            std::memcpy(buf, buffer_.data() + pos_, n);
            pos_ += n;
            return n;
        }
        if (!fill()) {
            throw MultipartError("the form ends inside the file part, without its closing boundary (truncated upload?)");
        }
    }
}

void MultipartFileReader::finish() {
    std::string name;
    std::string filename;
    while (!next_part(name, filename)) {
        if (name == field_) {
            throw MultipartError("the form has more than one \"" + field_ + "\" part: upload one file per request");
        }
        skip_to_delimiter(MAX_SKIPPED_PART, ("the form field \"" + core::escape_unprintable(name) + "\"").c_str());
    }
    // The epilogue after the final boundary is ignored (RFC 2046).
    while (fill()) {
        pos_ = buffer_.size();
    }
}

}  // namespace patching::controller
