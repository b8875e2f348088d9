// SPDX-License-Identifier: Apache-2.0
#pragma once

// Text from the controller (patch summaries, descriptions, error messages) is data, not
// terminal control: what sw-patch writes to a terminal has its control characters made visible.

#include <streambuf>
#include <string>
#include <string_view>

namespace patching::client {

/// `text` with every control character but newline and tab (and carriage return if
/// `keep_carriage_return`) shown in caret notation (ESC -> "^[", DEL -> "^?"), and the C1
/// controls U+0080..U+009F (CSI is U+009B; UTF-8 terminals obey them) as "\u00XX".
std::string neutralise_controls(std::string_view text, bool keep_carriage_return = false);

/// A streambuf that writes through to `target`, neutralising as neutralise_controls() does,
/// byte by byte (a UTF-8 sequence split across writes is handled). Install it on std::cout or
/// std::cerr when they are terminals.
class TerminalSafeBuf : public std::streambuf {
public:
    TerminalSafeBuf(std::streambuf* target, bool keep_carriage_return)
        : target_(target), keep_cr_(keep_carriage_return) {}

protected:
    int_type overflow(int_type ch) override;
    int sync() override;

private:
    std::streambuf* target_;
    bool keep_cr_;
    bool pending_c2_ = false;  ///< The last byte was 0xC2, which may start a C1 control.
};

}  // namespace patching::client
