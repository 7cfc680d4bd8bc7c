#include "app/cli/terminal_output.h"

#include <unistd.h>

#include <iostream>

namespace lathe::cli {

namespace {

std::string oneLine(std::string text) {
    for (char& c : text)
        if (c == '\n' || c == '\r') c = ' ';
    while (!text.empty() && text.back() == ' ') text.pop_back();
    return text;
}

}  // namespace

int fail(const std::string& message) {
    std::cerr << "error: " << oneLine(message) << '\n';
    return 1;
}

int fail(const Error& error) {
    fail(error.message);
    return error.code == ErrorCode::UnsupportedOp ? 3 : 1;
}

ProgressFn TerminalProgress::callback() {
    if (!isatty(STDERR_FILENO)) return {};
    return [this](float fraction, std::string_view stage) {
        const int percent = int(fraction * 100.f);
        if (percent == m_percent && stage == m_stage) return true;
        m_percent = percent;
        m_stage = stage;
        std::cerr << "\r\033[K" << stage << ' ' << percent << '%' << std::flush;
        m_drawn = true;
        return true;
    };
}

void TerminalProgress::clear() {
    if (m_drawn) std::cerr << "\r\033[K" << std::flush;
    m_drawn = false;
}

}  // namespace lathe::cli
