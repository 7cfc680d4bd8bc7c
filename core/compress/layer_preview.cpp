#include "core/compress/layer_preview.h"

#include <algorithm>
#include <cmath>

#include "core/compress/lowrank/decompose_layer.h"
#include "core/compress/lowrank/svd_decompose.h"
#include "core/compress/prune/channel_groups.h"
#include "core/compress/prune/magnitude_prune.h"
#include "core/compress/quantize/kmeans_share.h"
#include "core/compress/quantize/uniform_quantize.h"

namespace lathe {

namespace {
constexpr int64_t kParallelMin = 1 << 15;
}  // namespace

double globalPruneThreshold(std::span<const std::span<const float>> weights, double sparsity) {
    int64_t total = 0;
    for (auto w : weights) total += int64_t(w.size());
    const auto k = int64_t(std::llround(std::clamp(sparsity, 0.0, 1.0) * double(total)));
    return k > 0 ? double(findMagnitudeCut(weights, k).threshold) : 0.0;
}

LayerPreview previewLayer(const Tensor& weight, const LayerSettings& s, const PreviewOptions& o) {
    LayerPreview p;
    const auto n = int64_t(weight.data.size());
    if (n == 0 || weight.shape.empty()) return p;
    std::vector<float> v(weight.data.begin(), weight.data.end());
    int64_t rows = weight.shape[0];
    const int64_t cols = n / std::max<int64_t>(rows, 1);
    int64_t removed = 0;

    if (o.structured && (s.keep || s.keepFraction)) {
        const int64_t keep = s.keep ? *s.keep : std::max<int64_t>(1, std::llround(*s.keepFraction * double(rows)));
        if (keep < rows) {
            const auto kept = strongestChannels(filterL1Norms(weight), keep);
            size_t next = 0;
            for (int64_t c = 0; c < rows; ++c) {
                if (next < kept.size() && kept[next] == c) {
                    ++next;
                    continue;
                }
                std::fill_n(v.begin() + c * cols, cols, 0.f);
            }
            removed = (rows - keep) * cols;
            rows = keep;
            p.keptChannels = keep;
        }
    }

    if (s.decomposed() && s.lowRankMethod != LowRankMethod::Channel) {
        // Tucker-2 and spatial SVD: run the decomposition itself on the weight (its error has no spectrum formula
        // for Tucker-2); a setting the weight cannot take leaves the preview undecomposed.
        if (auto d = decomposeWeight(weight, s); d && d->applied) {
            p.rank = d->rank;
            p.rankIn = d->rankIn;
            p.lowRankError = d->relError;
        }
    } else if ((s.rank || s.energy) && !o.singularValues.empty()) {
        const auto full = int64_t(o.singularValues.size());
        p.rank = std::clamp<int64_t>(s.rank ? *s.rank : rankForEnergy(o.singularValues, *s.energy), 1,
                                     std::min({full, rows, cols}));
        p.lowRankError = truncationError(o.singularValues, p.rank);
    }

    if (s.globalPrune && o.globalThreshold) {
        p.threshold = pruneByThreshold(v, *o.globalThreshold).threshold;
    } else if (s.sparsity && *s.sparsity > 0) {
        // The target applies to the filters kept; the removed ones are zero already.
        const double target = (*s.sparsity * double(n - removed) + double(removed)) / double(n);
        p.threshold = pruneToSparsity(v, target).threshold;
    } else if (s.threshold && *s.threshold > 0) {
        p.threshold = pruneByThreshold(v, *s.threshold).threshold;
    }

    const int64_t stored = !p.rank ? n - removed
                           : s.lowRankMethod == LowRankMethod::Channel
                               ? lowRankParams(rows, cols, p.rank)
                               : decomposedParams(s.lowRankMethod, weight.shape, p.rank, p.rankIn);
    p.params = stored;
    p.bytes = 4 * stored;
    if (s.quantized() && s.rounding == Rounding::KMeans) {
        KMeansStats k = shareWeights(v, s.bits, nullptr, true);
        p.levels = k.codebook;
        p.bytes = (stored * s.bits + 7) / 8 + 4 * int64_t(k.codebook.size());
    } else if (s.quantized()) {
        const UniformQuantSettings u = toUniformQuantSettings(s);
        QuantStats q = fakeQuantize(v, weight.shape, o.channelAxis, u, streamKeyOf(weight.name));
        const auto widest = size_t(std::max_element(q.scales.begin(), q.scales.end()) - q.scales.begin());
        p.levels = quantizationLevels(s.bits, s.symmetric, q.scales[widest], q.zeroPoints[widest]);
        const int64_t channels = u.perChannel ? (p.rank ? p.rank + rows : rows) : (p.rank ? 2 : 1);
        p.bytes = quantizedBytes(stored, s.bits, channels, s.symmetric);
    }

    double err = 0, norm = 0;
    int64_t zeros = 0;
    const float* original = weight.data.data();
    const float* compressed = v.data();
#pragma omp parallel for simd reduction(+ : err, norm, zeros) schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
        const double w = original[i];
        const double e = w - double(compressed[i]);
        err += e * e;
        norm += w * w;
        zeros += compressed[i] == 0.f ? 1 : 0;
    }
    p.sparsity = double(zeros) / double(n);
    p.relError = norm > 0 ? std::sqrt(err / norm) : 0.0;
    p.sqnrDb = err > 0 ? 10.0 * std::log10(norm / err) : std::numeric_limits<double>::infinity();
    if (p.rank && err == 0 && p.lowRankError > 0) {
        // Decomposition alone: the weight's error is the factorisation's (the values above are not recomposed).
        p.relError = p.lowRankError;
        p.sqnrDb = -20.0 * std::log10(p.lowRankError);
    }
    if (o.keepValues) p.values = std::move(v);
    return p;
}

}  // namespace lathe
