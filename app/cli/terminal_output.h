#pragma once

#include <string>

#include "core/common/progress.h"
#include "core/common/result.h"

// What the lathe-cli commands write to stderr besides usage errors: error lines and the progress line.
namespace lathe::cli {

// Prints "error: <message>" on one line to stderr and returns exit code 1.
int fail(const std::string& message);
// As fail(error.message), with exit code 3 for an op no runtime here can execute (ErrorCode::UnsupportedOp).
int fail(const Error& error);

// "\r<stage> 42%" on a terminal, redrawn when the whole percentage changes.
class TerminalProgress {
public:
    // A callback drawing the line (never cancels); empty when stderr is not a terminal.
    ProgressFn callback();
    // Erases the line if one was drawn.
    void clear();

private:
    int m_percent = -1;
    std::string m_stage;
    bool m_drawn = false;
};

}  // namespace lathe::cli
