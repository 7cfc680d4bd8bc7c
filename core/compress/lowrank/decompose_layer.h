#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/compress/recipe.h"
#include "core/model/graph.h"

namespace lathe {

// One layer factored by the method its settings name (channel SVD, Tucker-2 or spatial SVD): what the recipe, the
// report and the window need without knowing which pass ran.
struct LayerDecomposition {
    bool applied = false;
    LowRankMethod method = LowRankMethod::Channel;
    int64_t rank = 0;      // channel/spatial: the rank; tucker2: rank_out
    int64_t fullRank = 0;  // its largest value
    int64_t rankIn = 0;    // tucker2 only
    int64_t fullRankIn = 0;
    std::vector<double> singularValues;  // the spectrum truncated (tucker2: of the output-channel mode), descending
    double relError = 0;                 // ||W − Ŵ||_F / ||W||_F of the factorisation alone (each method's formula)
    bool outMajor = true;                // channel only, as LowRankResult::outMajor
    std::vector<std::string> nodes;      // the chain replacing the node, in order
    std::vector<std::string> weights;    // their weights, in order
};

// Whether `method` can factor node `nodeIndex`, and why not (empty when it can).
std::string decompositionRefusal(const Graph& graph, int nodeIndex, LowRankMethod method);
// {largest rank, largest rank_in (tucker2; else 0)}; {0, 0} when the method does not apply.
std::pair<int64_t, int64_t> decompositionFullRanks(const Graph& graph, int nodeIndex, LowRankMethod method);
// Errors for ranks above the layer's full ranks, naming `field` ("layers.conv2.lowrank") and the layer.
std::vector<std::string> checkDecompositionRanks(const Graph& graph, int nodeIndex, const LayerSettings& settings,
                                                 const std::string& field);
// Factors the node by settings.lowRankMethod with settings' rank(s) or energy; a no-op (applied == false) when the
// method does not apply.
Result<LayerDecomposition> decomposeLayer(Graph& graph, int nodeIndex, const LayerSettings& settings);
// The decomposition of a Conv weight alone (as a Conv with no padding or stride: the factors and errors do not
// depend on them), for previews; the weights themselves are not returned.
Result<LayerDecomposition> decomposeWeight(const Tensor& weight, const LayerSettings& settings);
// The weight the factors stand for, shaped `shape` (the weight they replaced).
Tensor recomposeLayer(const Graph& graph, const LayerDecomposition& d, const std::vector<int64_t>& shape);
// Weight elements the factors of a weight shaped `shape` hold at these ranks.
int64_t decomposedParams(LowRankMethod method, const std::vector<int64_t>& shape, int64_t rank, int64_t rankIn);
// What decomposedMacs needs of a layer: its MACs per sample and, for a Conv, its input and output spatial sizes
// (macs 0 when they are not known).
struct LayerGeometry {
    int64_t macs = 0;
    std::vector<int64_t> inputSpatial;
    std::vector<int64_t> outputSpatial;
};
LayerGeometry layerGeometry(const Graph& graph, int nodeIndex);
// Multiply-accumulates per sample of those factors, for a layer reading spatial size `in` and writing `out` (a Conv's
// H, W…; empty for Gemm/MatMul on [batch, features]).
int64_t decomposedMacs(LowRankMethod method, const std::vector<int64_t>& shape, int64_t rank, int64_t rankIn,
                       const std::vector<int64_t>& in, const std::vector<int64_t>& out);

}  // namespace lathe
