#include "core/compress/quantize/kmeans_share.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/compress/compressible_layer.h"

namespace lathe {

namespace {

constexpr int64_t kParallelMin = 1 << 15;
constexpr int kBins = 1 << 12;

}  // namespace

std::vector<double> lloyd1d(std::span<const float> values, std::span<const double> counts, int k, int maxIterations,
                            int* iterations) {
    if (iterations) *iterations = 0;
    const size_t n = values.size();
    if (n == 0 || k <= 0) return {};
    // Prefix sums of counts and count-weighted values.
    std::vector<double> cum(n + 1, 0.0), sum(n + 1, 0.0);
    for (size_t i = 0; i < n; ++i) {
        const double c = counts.empty() ? 1.0 : counts[i];
        cum[i + 1] = cum[i] + c;
        sum[i + 1] = sum[i] + c * double(values[i]);
    }
    const double lo = values.front(), hi = values.back();
    std::vector<double> centroids(static_cast<size_t>(k));
    for (int j = 0; j < k; ++j) centroids[size_t(j)] = k == 1 ? sum[n] / cum[n] : lo + (hi - lo) * j / (k - 1);

    std::vector<size_t> bounds(size_t(k) + 1, 0), previous;
    bounds[size_t(k)] = n;
    for (int it = 0; it < maxIterations; ++it) {
        for (int j = 1; j < k; ++j) {
            const double mid = 0.5 * (centroids[size_t(j - 1)] + centroids[size_t(j)]);
            bounds[size_t(j)] =
                size_t(std::lower_bound(values.begin(), values.end(), mid, [](float v, double m) { return v < m; }) -
                       values.begin());
        }
        if (bounds == previous) break;
        previous = bounds;
        if (iterations) *iterations = it + 1;
        for (int j = 0; j < k; ++j) {
            const double c = cum[bounds[size_t(j + 1)]] - cum[bounds[size_t(j)]];
            if (c > 0) centroids[size_t(j)] = (sum[bounds[size_t(j + 1)]] - sum[bounds[size_t(j)]]) / c;
        }
    }
    return centroids;
}

KMeansStats shareWeights(std::span<float> w, int bits, CodebookTensor* out, bool binned) {
    KMeansStats stats;
    const auto n = int64_t(w.size());
    stats.count = n;
    constexpr float kInf = std::numeric_limits<float>::infinity();
    float lo = kInf, hi = -kInf;
    int64_t zeros = 0;
    const float* p = w.data();
#pragma omp parallel for simd reduction(min : lo) reduction(max : hi) reduction(+ : zeros) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
        const float v = p[i];
        const bool zero = v == 0.f;
        zeros += zero ? 1 : 0;
        const float low = zero ? kInf : v, high = zero ? -kInf : v;
        lo = low < lo ? low : lo;
        hi = high > hi ? high : hi;
    }
    const bool zeroReserved = zeros > 0;
    const int clusters = (1 << bits) - (zeroReserved ? 1 : 0);

    std::vector<double> centroids;
    if (zeros < n) {
        if (binned && n > kBins) {
            // Histogram of the non-zero weights: per-bin counts and means stand in for the sorted weights.
            // kLanes interleaved copies: runs of weights in the same bin would otherwise wait on each other's adds.
            constexpr int kLanes = 4;
            std::vector<double> laneCount(kBins * kLanes, 0.0), laneTotal(kBins * kLanes, 0.0);
            const float scale = hi > lo ? float(kBins) / (hi - lo) : 0.f;
            for (int64_t i = 0; i < n; ++i) {
                const float v = w[size_t(i)];
                if (v == 0.f) continue;
                const auto slot = size_t(std::min(int((v - lo) * scale), kBins - 1)) * kLanes + size_t(i % kLanes);
                laneCount[slot] += 1;
                laneTotal[slot] += v;
            }
            std::vector<double> count(kBins, 0.0), total(kBins, 0.0);
            for (size_t j = 0; j < laneCount.size(); ++j) {
                count[j / kLanes] += laneCount[j];
                total[j / kLanes] += laneTotal[j];
            }
            std::vector<float> means;
            std::vector<double> counts;
            for (int b = 0; b < kBins; ++b)
                if (count[size_t(b)] > 0) {
                    means.push_back(float(total[size_t(b)] / count[size_t(b)]));
                    counts.push_back(count[size_t(b)]);
                }
            centroids = lloyd1d(means, counts, clusters, 1000, &stats.iterations);
        } else {
            std::vector<float> sorted;
            sorted.reserve(size_t(n - zeros));
            for (float v : w)
                if (v != 0.f) sorted.push_back(v);
            std::sort(sorted.begin(), sorted.end());
            centroids = lloyd1d(sorted, {}, clusters, 1000, &stats.iterations);
        }
    }

    std::vector<float> codebook;
    if (zeroReserved) codebook.push_back(0.f);
    for (double c : centroids) codebook.push_back(float(c));
    std::vector<double> mids;
    for (size_t j = 1; j < centroids.size(); ++j) mids.push_back(0.5 * (centroids[j - 1] + centroids[j]));
    const uint8_t offset = zeroReserved ? 1 : 0;
    stats.codebook = codebook;

    if (out) {
        out->shape.clear();
        out->bits = bits;
        out->zeroReserved = zeroReserved;
        out->codebook = codebook;
        out->indices.assign(size_t(n), 0);
    }
    // Cluster of each of kLut equal slices of [lo, hi] that no boundary comes near (-1 where one does), so most
    // weights find their centroid without a search.
    constexpr int kLut = 4096;
    auto clusterOf = [&](double v) { return int(std::upper_bound(mids.begin(), mids.end(), v) - mids.begin()); };
    const double width = hi > lo ? (double(hi) - double(lo)) / kLut : 0.0;
    const float lutScale = hi > lo ? float(kLut) / (hi - lo) : 0.f;
    std::vector<int16_t> lut(kLut, -1);
    for (int b = 0; b < kLut && width > 0; ++b) {
        const int first = clusterOf(lo + (b - 1) * width), last = clusterOf(lo + (b + 2) * width);
        if (first == last) lut[size_t(b)] = int16_t(first);
    }
    uint8_t* indices = out ? out->indices.data() : nullptr;
    double sqError = 0, sqNorm = 0;
#pragma omp parallel for reduction(+ : sqError, sqNorm) schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
        const float v = w[size_t(i)];
        uint8_t index = 0;
        if (v != 0.f) {
            const int slice = std::clamp(int((v - lo) * lutScale), 0, kLut - 1);
            const int cluster = lut[size_t(slice)] >= 0 ? lut[size_t(slice)] : clusterOf(double(v));
            index = uint8_t(offset + cluster);
        }
        const float shared = codebook[index];
        if (indices) indices[i] = index;
        const double e = double(v) - double(shared);
        sqError += e * e;
        sqNorm += double(v) * double(v);
        w[size_t(i)] = shared;
    }
    stats.sqError = sqError;
    stats.sqNorm = sqNorm;
    return stats;
}

bool kmeansShareApplies(const Graph& graph, int nodeIndex) { return layerWeight(graph, nodeIndex).has_value(); }

CodebookTensor kmeansShare(Graph& graph, int nodeIndex, int bits, KMeansStats* stats) {
    CodebookTensor cb;
    auto lw = layerWeight(graph, nodeIndex);
    if (!lw) return cb;
    Tensor& w = graph.initializers.at(lw->weight);
    KMeansStats s = shareWeights(w.data, bits, &cb);
    cb.name = w.name;
    cb.shape = w.shape;
    if (stats) *stats = s;
    return cb;
}

}  // namespace lathe
