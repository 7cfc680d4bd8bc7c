#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/model/graph.h"

namespace lathe {

// Deep Compression weight sharing: w[i] == codebook[indices[i]]. When the tensor has zeros (pruned weights),
// codebook[0] is reserved for exactly 0 and the other 2^bits - 1 entries are fitted to the non-zero weights.
struct CodebookTensor {
    std::string name;
    std::vector<int64_t> shape;
    int bits = 8;
    bool zeroReserved = false;
    std::vector<float> codebook;   // at most 2^bits entries, ascending after the reserved zero
    std::vector<uint8_t> indices;  // one per element, row-major
};

struct KMeansStats {
    double sqError = 0;  // sum of (w - ŵ)^2
    double sqNorm = 0;   // sum of w^2
    int iterations = 0;  // Lloyd iterations until the assignment stopped changing
    int64_t count = 0;
    std::vector<float> codebook;  // as in CodebookTensor
};

// 1-D Lloyd over ascending `values` with multiplicities `counts` (empty: 1 each), k centroids initialised evenly
// between the first and last value; iterates until no value changes cluster (at most maxIterations). O(k log n) per
// iteration. Returns ascending centroids.
std::vector<double> lloyd1d(std::span<const float> values, std::span<const double> counts, int k,
                            int maxIterations = 1000, int* iterations = nullptr);

// Replaces every weight by its cluster centroid in place (2^bits clusters, zeros excluded and kept 0). `binned`
// clusters a 4,096-bin histogram of the weights instead of the sorted weights (O(n), for interactive previews);
// the assignment and the error are exact either way. `out` (optional) receives the codebook and indices.
KMeansStats shareWeights(std::span<float> w, int bits, CodebookTensor* out = nullptr, bool binned = false);

// Pass: applicable to nodes with a compressible weight; a no-op returning an empty codebook when not applicable.
bool kmeansShareApplies(const Graph& graph, int nodeIndex);
CodebookTensor kmeansShare(Graph& graph, int nodeIndex, int bits, KMeansStats* stats = nullptr);

}  // namespace lathe
