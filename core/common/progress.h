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

// Progress of a part of a job that spans [from, to] of the whole: fraction f of the part reports from + (to-from)·f.
inline ProgressFn scaleProgress(const ProgressFn& fn, float from, float to) {
    if (!fn) return {};
    return [fn, from, to](float fraction, std::string_view stage) { return fn(from + (to - from) * fraction, stage); };
}

}  // namespace lathe
