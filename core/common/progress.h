#pragma once

#include <functional>
#include <string_view>

namespace lathe {

// Called with fraction in [0,1] and a stage name; returning false asks the work to stop (it then returns
// ErrorCode::Cancelled).
using ProgressFn = std::function<bool(float fraction, std::string_view stage)>;

inline bool reportProgress(const ProgressFn& fn, float fraction, std::string_view stage) {
    return !fn || fn(fraction, stage);
}

}  // namespace lathe
