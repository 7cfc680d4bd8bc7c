#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/common/result.h"
#include "core/model/graph.h"

namespace lathe {

struct PruneStats {
    double threshold = 0;  // magnitude cut: every |w| < threshold is 0 (ties at the cut pruned in index order)
    int64_t zeros = 0;     // exact zeros after pruning
    int64_t count = 0;
    double sparsity() const { return count ? double(zeros) / double(count) : 0.0; }
};

// The k-th smallest magnitude over several tensors (k >= 1) and how many elements equal to it must be pruned so that
// exactly k are: everything below `threshold` plus the first `ties` elements equal to it (tensor order, then index).
struct MagnitudeCut {
    float threshold = 0;
    int64_t ties = 0;
    std::vector<int64_t> tiePositions;  // where those ties are (index over the tensors laid end to end), ascending
};
MagnitudeCut findMagnitudeCut(std::span<const std::span<const float>> tensors, int64_t k);

// |w| < threshold becomes 0.
PruneStats pruneByThreshold(std::span<float> w, double threshold);
// The k = round(sparsity * n) smallest magnitudes become 0 (exactly k zeros unless more were zero already); ties are
// broken by index, lower first. O(n): a sample brackets the cut, one pass collects the bracket (histogram fallback).
PruneStats pruneToSparsity(std::span<float> w, double sparsity);
// One magnitude threshold over all tensors together, chosen so that round(sparsity * total) weights are zero.
std::vector<PruneStats> pruneGlobal(std::span<const std::span<float>> tensors, double sparsity);
// Exact zeros in w.
int64_t countZeros(std::span<const float> w);

// Pass: applicable to nodes with a compressible weight (Conv, ConvTranspose, Gemm, MatMul); biases are left alone.
bool magnitudePruneApplies(const Graph& graph, int nodeIndex);
struct MagnitudePruneSettings {
    std::optional<double> sparsity;  // used when set, else threshold
    std::optional<double> threshold;
};
// Prunes the node's weight in place; a no-op returning empty stats when the pass does not apply.
PruneStats magnitudePrune(Graph& graph, int nodeIndex, const MagnitudePruneSettings& settings);

}  // namespace lathe
