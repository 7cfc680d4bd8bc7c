#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace lathe {

struct WeightStats {
    int64_t count = 0;
    double min = 0, max = 0, mean = 0, std = 0;
    double zeroFraction = 0;  // exactly 0.0
    double p1 = 0, p5 = 0, p25 = 0, p50 = 0, p75 = 0, p95 = 0, p99 = 0;  // linear-interpolated percentiles
};

struct Histogram {
    double lo = 0, hi = 0;
    std::vector<int64_t> counts;  // bins of width (hi-lo)/counts.size(); values outside [lo,hi] are dropped
    double binWidth() const { return counts.empty() ? 0.0 : (hi - lo) / double(counts.size()); }
};

WeightStats computeWeightStats(std::span<const float> values);
// Histogram over [lo, hi]; hi itself falls in the last bin.
Histogram computeHistogram(std::span<const float> values, int bins, double lo, double hi);

}  // namespace lathe
