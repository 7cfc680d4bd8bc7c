#include "core/compress/prune/magnitude_prune.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "core/compress/compressible_layer.h"

namespace lathe {

namespace {

constexpr int kBins = 1 << 12;
constexpr int64_t kParallelMin = 1 << 15;

float maxAbs(std::span<const float> w) {
    float m = 0.f;
    const auto n = int64_t(w.size());
    const float* p = w.data();
#pragma omp parallel for simd reduction(max : m) schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(p[i]));
    return m;
}

// Monotone map of a magnitude to a histogram bin (NaN and values above the range go to the last bin).
struct Binner {
    float scale = 0;
    int bin(float a) const {
        const float x = a * scale;
        return x < float(kBins - 1) ? int(x) : kBins - 1;
    }
};

// Zeroes everything below the cut plus the first `ties` elements equal to it; returns the zeros per tensor.
std::vector<int64_t> applyCut(std::span<const std::span<float>> tensors, MagnitudeCut cut) {
    std::vector<int64_t> zeros;
    const float t = cut.threshold;
    for (auto w : tensors) {
        const auto n = int64_t(w.size());
        float* p = w.data();
        int64_t z = 0;
#pragma omp parallel for simd reduction(+ : z) schedule(static) if (n > kParallelMin)
        for (int64_t i = 0; i < n; ++i) {
            const float v = std::fabs(p[i]) < t ? 0.f : p[i];
            p[i] = v;
            z += v == 0.f ? 1 : 0;
        }
        zeros.push_back(z);
    }
    size_t k = 0;
    int64_t offset = 0;
    for (int64_t position : cut.tiePositions) {
        while (position >= offset + int64_t(tensors[k].size())) offset += int64_t(tensors[k++].size());
        float& v = tensors[k][size_t(position - offset)];
        if (v != 0.f) {
            v = 0.f;
            ++zeros[k];
        }
    }
    return zeros;
}

}  // namespace

int64_t countZeros(std::span<const float> w) {
    int64_t zeros = 0;
    const auto n = int64_t(w.size());
    const float* p = w.data();
#pragma omp parallel for simd reduction(+ : zeros) schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) zeros += p[i] == 0.f ? 1 : 0;
    return zeros;
}

namespace {

using Candidates = std::vector<std::pair<float, int64_t>>;  // magnitude, position over the tensors end to end

// The cut when `candidates` hold every element whose magnitude lies between the `below` smallest ones and the k-th.
MagnitudeCut cutFromCandidates(Candidates& candidates, int64_t below, int64_t k) {
    const auto rank = size_t(k - below - 1);
    auto byValue = [](const auto& l, const auto& r) { return l.first < r.first; };
    std::nth_element(candidates.begin(), candidates.begin() + std::ptrdiff_t(rank), candidates.end(), byValue);
    MagnitudeCut cut;
    cut.threshold = candidates[rank].first;
    for (const auto& [a, position] : candidates) {
        below += a < cut.threshold ? 1 : 0;
        if (a == cut.threshold) cut.tiePositions.push_back(position);
    }
    cut.ties = k - below;
    std::sort(cut.tiePositions.begin(), cut.tiePositions.end());
    cut.tiePositions.resize(size_t(cut.ties));
    return cut;
}

// Fast path: an evenly spaced sample brackets the k-th magnitude, then one pass counts the magnitudes below the
// bracket and collects those inside it. nullopt when the bracket missed (the caller falls back to the histogram).
std::optional<MagnitudeCut> sampledCut(std::span<const std::span<const float>> tensors, int64_t total, int64_t k) {
    // 512 evenly spaced runs of 64 consecutive weights: cache friendly, and the bracket check below makes any
    // unluckily chosen sample cost time, never exactness.
    constexpr int64_t kRuns = 512, kRun = 64;
    std::vector<float> sample;
    if (total <= kRuns * kRun) {
        for (auto w : tensors)
            for (float v : w) sample.push_back(std::fabs(v));
    } else {
        sample.reserve(size_t(kRuns * kRun));
        int64_t offset = 0;
        size_t t = 0;
        for (int64_t r = 0; r < kRuns; ++r) {
            for (int64_t g = r * (total - kRun) / (kRuns - 1), end = g + kRun; g < end; ++g) {
                while (g >= offset + int64_t(tensors[t].size())) offset += int64_t(tensors[t++].size());
                sample.push_back(std::fabs(tensors[t][size_t(g - offset)]));
            }
        }
    }
    const auto m = int64_t(sample.size());
    const double q = double(k) / double(total);
    const auto margin = int64_t(4.0 * std::sqrt(double(m) * q * (1.0 - q))) + 32;
    const auto at = int64_t(q * double(m)) - 1;
    constexpr float kInf = std::numeric_limits<float>::infinity();
    float lo = -kInf, hi = kInf;
    if (at - margin >= 0) {
        std::nth_element(sample.begin(), sample.begin() + (at - margin), sample.end());
        lo = sample[size_t(at - margin)];
    }
    if (at + margin < m) {
        const auto from = sample.begin() + std::max<int64_t>(at - margin, 0);
        std::nth_element(from, sample.begin() + (at + margin), sample.end());
        hi = sample[size_t(at + margin)];
    }
    if (hi == 0.f) {
        // The k-th magnitude is 0 when enough weights are zero already: nothing to prune.
        int64_t zeros = 0;
        for (auto w : tensors) zeros += countZeros(w);
        if (zeros >= k) return MagnitudeCut{0.f, k, {}};
        return std::nullopt;
    }

    // Magnitudes compared as bit patterns (monotone for non-negative floats; NaN sorts above +inf): one unsigned
    // compare tests lo <= |w| <= hi without a branch on each bound.
    auto bits = [](float f) {
        uint32_t u;
        std::memcpy(&u, &f, sizeof u);
        return u & 0x7FFFFFFFu;
    };
    const uint32_t loBits = lo == -kInf ? 0u : bits(lo), width = bits(hi) - loBits;
    int64_t below = 0;
    Candidates candidates;
    int64_t offset = 0;
    for (auto w : tensors) {
        const auto* p = reinterpret_cast<const uint32_t*>(w.data());
        const auto n = int64_t(w.size());
        int64_t count = 0;
#pragma omp simd reduction(+ : count)
        for (int64_t i = 0; i < n; ++i) count += (p[i] & 0x7FFFFFFFu) < loBits ? 1 : 0;
        below += count;
        for (int64_t i = 0; i < n; ++i)
            if ((p[i] & 0x7FFFFFFFu) - loBits <= width) candidates.emplace_back(std::fabs(w[size_t(i)]), offset + i);
        offset += n;
    }
    if (below >= k || below + int64_t(candidates.size()) < k) return std::nullopt;
    return cutFromCandidates(candidates, below, k);
}

// Exact selection through a histogram of the magnitudes: robust to any distribution, two passes over the weights.
MagnitudeCut histogramCut(std::span<const std::span<const float>> tensors, int64_t k) {
    float top = 0.f;
    for (auto w : tensors) top = std::max(top, maxAbs(w));
    if (top == 0.f) return {0.f, k, {}};  // all zero already
    const float scale = float(kBins) / top;
    Binner binner{std::isfinite(scale) && std::isfinite(top) ? scale : 0.f};

    // Per thread, kLanes interleaved histograms: consecutive weights mostly hit the same few bins, and one shared
    // counter would serialise on store-to-load forwarding.
    constexpr int kLanes = 4;
    const int threads = omp_get_max_threads();
    std::vector<uint32_t> partial(size_t(threads) * kLanes * kBins, 0);
    for (auto w : tensors) {
        const auto n = int64_t(w.size());
        const float* p = w.data();
#pragma omp parallel if (n > kParallelMin)
        {
            uint32_t* h = partial.data() + size_t(omp_get_thread_num()) * kLanes * kBins;
#pragma omp for schedule(static)
            for (int64_t i = 0; i < n; ++i) ++h[size_t(binner.bin(std::fabs(p[i]))) * kLanes + size_t(i % kLanes)];
        }
    }
    std::vector<int64_t> hist(kBins, 0);
    for (size_t j = 0; j < partial.size(); ++j) hist[(j / kLanes) % kBins] += partial[j];

    int64_t before = 0;
    int bin = 0;
    while (bin < kBins - 1 && before + hist[size_t(bin)] < k) before += hist[size_t(bin++)];

    // The elements of that bin, with their positions: bin(a) == bin ⇔ bin <= a·scale < bin + 1 (NaN: last bin).
    Candidates candidates;
    candidates.reserve(size_t(hist[size_t(bin)]));
    const float binLo = float(bin), binHi = bin == kBins - 1 ? std::numeric_limits<float>::infinity() : float(bin + 1);
    const bool last = bin == kBins - 1;
    int64_t offset = 0;
    for (auto w : tensors) {
        const float* p = w.data();
        for (int64_t i = 0; i < int64_t(w.size()); ++i) {
            const float a = std::fabs(p[i]), x = a * binner.scale;
            // Bitwise, not short-circuit: the first test is a coin flip, the combined one is almost always false.
            if (int(!(x < binLo)) & int(x < binHi || last)) candidates.emplace_back(a, offset + i);
        }
        offset += int64_t(w.size());
    }
    return cutFromCandidates(candidates, before, k);
}

}  // namespace

MagnitudeCut findMagnitudeCut(std::span<const std::span<const float>> tensors, int64_t k) {
    int64_t total = 0;
    for (auto w : tensors) total += int64_t(w.size());
    if (total == 0) return {0.f, 0, {}};
    k = std::clamp<int64_t>(k, 1, total);
    if (auto cut = sampledCut(tensors, total, k)) return std::move(*cut);
    return histogramCut(tensors, k);
}

PruneStats pruneByThreshold(std::span<float> w, double threshold) {
    const auto n = int64_t(w.size());
    float* p = w.data();
    int64_t zeros = 0;
#pragma omp parallel for simd reduction(+ : zeros) schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
        const float v = double(std::fabs(p[i])) < threshold ? 0.f : p[i];
        p[i] = v;
        zeros += v == 0.f ? 1 : 0;
    }
    return {threshold, zeros, n};
}

PruneStats pruneToSparsity(std::span<float> w, double sparsity) {
    std::span<float> one[] = {w};
    return pruneGlobal(one, sparsity).front();
}

std::vector<PruneStats> pruneGlobal(std::span<const std::span<float>> tensors, double sparsity) {
    int64_t total = 0;
    for (auto w : tensors) total += int64_t(w.size());
    const auto k = int64_t(std::llround(std::clamp(sparsity, 0.0, 1.0) * double(total)));
    std::vector<PruneStats> stats;
    if (k == 0) {
        for (auto w : tensors) stats.push_back({0.0, countZeros(w), int64_t(w.size())});
        return stats;
    }
    const std::vector<std::span<const float>> views(tensors.begin(), tensors.end());
    const MagnitudeCut cut = findMagnitudeCut(views, k);
    const std::vector<int64_t> zeros = applyCut(tensors, cut);
    for (size_t i = 0; i < tensors.size(); ++i)
        stats.push_back({double(cut.threshold), zeros[i], int64_t(tensors[i].size())});
    return stats;
}

bool magnitudePruneApplies(const Graph& graph, int nodeIndex) { return layerWeight(graph, nodeIndex).has_value(); }

PruneStats magnitudePrune(Graph& graph, int nodeIndex, const MagnitudePruneSettings& settings) {
    auto lw = layerWeight(graph, nodeIndex);
    if (!lw) return {};
    std::span<float> w = graph.initializers.at(lw->weight).data;
    if (settings.sparsity) return pruneToSparsity(w, *settings.sparsity);
    if (settings.threshold) return pruneByThreshold(w, *settings.threshold);
    return {0.0, countZeros(w), int64_t(w.size())};
}

}  // namespace lathe
