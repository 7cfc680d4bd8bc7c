#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/model/graph.h"

namespace lathe {

struct LowRankSettings {
    std::optional<int64_t> rank;  // used when set, else energy
    std::optional<double> energy;
};

struct LowRankResult {
    bool applied = false;
    std::vector<double> singularValues;  // all of them, descending
    int64_t rank = 0;
    int64_t fullRank = 0;
    double relError = 0;   // sqrt(sum_{i>rank} s_i^2) / ||W||_F
    bool outMajor = true;  // W ≈ second·first (Conv, Gemm transB=1); else W ≈ first·second (Gemm transB=0, MatMul)
    std::string firstNode, secondNode;
    std::string firstWeight, secondWeight;
};

// Singular values (descending) of a weight seen as a matrix [shape[0], numel/shape[0]]: the spectrum the layer's
// decomposition truncates. O(min(m,n)^2 max(m,n)); run off the UI thread for big layers.
std::vector<double> weightSingularValues(const Tensor& weight);
// Smallest r with sum_{i<=r} s_i^2 >= energy * sum s_i^2 (at least 1).
int64_t rankForEnergy(std::span<const double> singularValues, double energy);
// sqrt(sum_{i>rank} s_i^2 / sum s_i^2).
double truncationError(std::span<const double> singularValues, int64_t rank);
// Weight entries of a rank-r decomposition of an m×n matrix: r·(m + n).
inline int64_t lowRankParams(int64_t m, int64_t n, int64_t rank) { return rank * (m + n); }

// A rank-r truncated SVD M ≈ left·right of a row-major rows×cols matrix, each factor carrying sqrt(Σ).
struct TruncatedSvd {
    std::vector<double> singularValues;  // all of them, descending
    int64_t rank = 0;
    double relError = 0;       // sqrt(sum_{i>rank} s_i^2) / ||M||_F
    std::vector<float> left;   // rows × rank, row-major
    std::vector<float> right;  // rank × cols, row-major
};
// Errors (rank outside 1..min(rows, cols), energy outside (0, 1]) name `field` ("lowrank.rank") and `layer`
// ("conv2 ([50, 20, 5, 5])").
Result<TruncatedSvd> truncatedSvd(std::span<const float> matrix, int64_t rows, int64_t cols,
                                  const LowRankSettings& settings, const std::string& layer);
// Replaces node `nodeIndex` by `chain` run in order (names, inputs[1] and attributes set by the caller; the first
// reads the node's input, each next one the previous output, the last keeps the node's outputs) and adds `weights`.
// hiddenShapes[i] is the shape of chain[i]'s output when known (empty: unknown). The old weight goes when unused.
void replaceNodeByChain(Graph& graph, int nodeIndex, std::vector<Node> chain, std::vector<Tensor> weights,
                        const std::vector<std::vector<int64_t>>& hiddenShapes);

// Pass: applicable to Gemm and MatMul with a constant 2-D weight and to Conv with group 1 and a constant weight.
bool svdDecomposeApplies(const Graph& graph, int nodeIndex);
// min(out, in) of the weight matrix ([Cout, Cin·kh·kw] for Conv); 0 when the pass does not apply.
int64_t decompositionFullRank(const Graph& graph, int nodeIndex);
// Replaces node `nodeIndex` by two nodes <name>_lr1 (input → rank r, no bias) and <name>_lr2 (rank r → output,
// with the bias; keeps the output name; before opset 11 the first Gemm gets a zero bias, C being required there);
// weights <weight>_lr1/_lr2 carry sqrt(Σ) each. Conv becomes a kh×kw conv
// with r filters (same strides, pads, dilations) and a 1×1 conv. Not applicable: a no-op with applied == false.
// Errors: rank outside 1..full rank, energy outside (0, 1].
Result<LowRankResult> svdDecompose(Graph& graph, int nodeIndex, const LowRankSettings& settings);
// The product of the two factor weights, in the shape and layout of the weight they replaced (`shape`).
Tensor recomposeFactors(const Tensor& first, const Tensor& second, bool outMajor, const std::vector<int64_t>& shape);

}  // namespace lathe
