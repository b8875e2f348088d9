// SPDX-License-Identifier: Apache-2.0
#include "terminal_text.hpp"

#include <cstdio>

namespace patching::client {

namespace {

// Appends the visible form of one byte that is not itself part of a C1 sequence.
void put_byte(std::string& out, unsigned char c, bool keep_cr) {
    if ((c < 0x20 && c != '\n' && c != '\t' && !(keep_cr && c == '\r')) || c == 0x7f) {
        out += '^';
        out += static_cast<char>(c == 0x7f ? '?' : c + 0x40);
    } else {
        out += static_cast<char>(c);
    }
}

std::string c1_text(unsigned char second) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\u00%02X", static_cast<unsigned>(second));  // U+0080..U+009F
    return buf;
}

}  // namespace

std::string neutralise_controls(std::string_view text, bool keep_carriage_return) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0xA0 &&
            static_cast<unsigned char>(text[i + 1]) >= 0x80) {
            out += c1_text(static_cast<unsigned char>(text[++i]));
        } else {
            put_byte(out, c, keep_carriage_return);
        }
    }
    return out;
}

TerminalSafeBuf::int_type TerminalSafeBuf::overflow(int_type ch) {
    if (traits_type::eq_int_type(ch, traits_type::eof())) {
        return traits_type::not_eof(ch);
    }
    const auto c = static_cast<unsigned char>(traits_type::to_char_type(ch));
    std::string out;
    if (pending_c2_) {
        pending_c2_ = false;
        if (c >= 0x80 && c < 0xA0) {
            out = c1_text(c);
            return target_->sputn(out.data(), static_cast<std::streamsize>(out.size())) ==
                           static_cast<std::streamsize>(out.size())
                       ? ch
                       : traits_type::eof();
        }
        out += static_cast<char>(0xC2);
    }
    if (c == 0xC2) {
        pending_c2_ = true;
    } else {
        put_byte(out, c, keep_cr_);
    }
    if (!out.empty() &&
        target_->sputn(out.data(), static_cast<std::streamsize>(out.size())) != static_cast<std::streamsize>(out.size())) {
        return traits_type::eof();
    }
    return ch;
}

int TerminalSafeBuf::sync() { return target_->pubsync(); }  // a pending 0xC2 waits for its next byte

}  // namespace patching::client
