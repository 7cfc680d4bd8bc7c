#include "core/model/weight_stats.h"

#include <algorithm>
#include <cmath>

namespace lathe {

namespace {
double percentile(const std::vector<float>& sorted, double q) {
    if (sorted.empty()) return 0.0;
    double pos = q * double(sorted.size() - 1);
    auto lo = size_t(std::floor(pos));
    size_t hi = std::min(lo + 1, sorted.size() - 1);
    double t = pos - double(lo);
    return double(sorted[lo]) * (1.0 - t) + double(sorted[hi]) * t;
}
}  // namespace

WeightStats computeWeightStats(std::span<const float> values) {
    WeightStats s;
    s.count = int64_t(values.size());
    if (values.empty()) return s;
    double sum = 0, zeros = 0;
    s.min = values[0];
    s.max = values[0];
    for (float v : values) {
        sum += v;
        if (v == 0.f) zeros += 1;
        s.min = std::min(s.min, double(v));
        s.max = std::max(s.max, double(v));
    }
    s.mean = sum / double(values.size());
    double sq = 0;
    for (float v : values) sq += (v - s.mean) * (v - s.mean);
    s.std = std::sqrt(sq / double(values.size()));
    s.zeroFraction = zeros / double(values.size());
    std::vector<float> sorted(values.begin(), values.end());
    std::sort(sorted.begin(), sorted.end());
    s.p1 = percentile(sorted, 0.01);
    s.p5 = percentile(sorted, 0.05);
    s.p25 = percentile(sorted, 0.25);
    s.p50 = percentile(sorted, 0.50);
    s.p75 = percentile(sorted, 0.75);
    s.p95 = percentile(sorted, 0.95);
    s.p99 = percentile(sorted, 0.99);
    return s;
}

Histogram computeHistogram(std::span<const float> values, int bins, double lo, double hi) {
    Histogram h;
    h.lo = lo;
    h.hi = hi;
    h.counts.assign(size_t(std::max(bins, 1)), 0);
    double width = hi - lo;
    for (float v : values) {
        if (v < lo || v > hi || std::isnan(v)) continue;
        auto bin = width > 0 ? int64_t((v - lo) / width * double(h.counts.size())) : 0;
        bin = std::clamp<int64_t>(bin, 0, int64_t(h.counts.size()) - 1);
        h.counts[size_t(bin)]++;
    }
    return h;
}

}  // namespace lathe
