#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <vector>

#include "core/compress/recipe.h"
#include "core/model/tensor.h"

namespace lathe {

struct PreviewOptions {
    int channelAxis = 0;      // output-channel axis of the weight (LayerWeight::channelAxis)
    bool structured = false;  // the layer's channel group can be pruned (channelsOfLayer); else keep is ignored
    std::optional<double> globalThreshold;   // the global_prune cut (globalPruneThreshold) when settings.globalPrune
    std::span<const double> singularValues;  // the weight's spectrum, when known, for rank/energy settings
    bool keepValues = false;                 // return the compressed values, e.g. for an "after" histogram
};

// The effect of a layer's settings on its weight alone (bias excluded), computed on one copy of the weight.
// Structured pruning zeroes the weakest filters; unstructured pruning and quantization then act on the weight
// itself, not on low-rank factors: rank/energy only set `rank`, `lowRankError` (from the spectrum for the channel SVD;
// Tucker-2 and spatial SVD decompose the weight) and the sizes.
struct LayerPreview {
    double threshold = 0;       // magnitude cut used by unstructured pruning
    double sparsity = 0;        // exact zeros / elements
    std::vector<float> levels;  // distinct dequantized values: the grid (widest channel when per-channel) or codebook
    double relError = 0;
    double sqnrDb = std::numeric_limits<double>::infinity();
    int64_t params = 0;  // weight elements stored (kept filters, or rank·(m+n) when decomposed)
    int64_t bytes = 0;
    int64_t keptChannels = 0;  // 0: no structured pruning
    int64_t rank = 0;          // 0: no decomposition (or no spectrum given); tucker2: rank_out
    int64_t rankIn = 0;        // tucker2: rank_in
    double lowRankError = 0;   // the factorisation's error alone (channel: from the spectrum; else computed)
    std::vector<float> values;  // compressed weight when keepValues
};

// O(n) (k-means clusters a 4,096-bin histogram), parallel with OpenMP; meant to run on every slider move.
LayerPreview previewLayer(const Tensor& weight, const LayerSettings& settings, const PreviewOptions& options = {});
// The magnitude cut global_prune would use over these weights.
double globalPruneThreshold(std::span<const std::span<const float>> weights, double sparsity);

}  // namespace lathe
