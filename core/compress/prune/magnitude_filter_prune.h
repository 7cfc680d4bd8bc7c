#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/model/graph.h"

namespace lathe {

struct FilterPruneResult {
    struct Slice {
        std::string initializer;
        int axis = 0;
        std::vector<int64_t> kept;  // ascending indices along axis, in the tensor as it was before this pass
    };
    bool applied = false;
    int64_t channels = 0;                   // output channels before pruning
    std::vector<int64_t> kept;              // kept output channels, ascending
    std::vector<double> l1Norms;            // L1 norm of every output channel's filter
    std::vector<Slice> slices;              // every initializer cut: the node's weight and bias first, then downstream
    std::vector<std::string> touchedNodes;  // downstream nodes whose weights, attributes or shapes changed
};

// L1 norm of each output filter (axis 0) of a Conv weight.
std::vector<double> filterL1Norms(const Tensor& weight);
// Indices of the `keep` largest norms (ties: lower index first), ascending.
std::vector<int64_t> strongestFilters(const std::vector<double>& norms, int64_t keep);

// Pass: applicable to Conv with group 1 and a constant weight.
bool filterPruneApplies(const Graph& graph, int nodeIndex);
// Dry run: Ok when the output channels of node `nodeIndex` can be removed; otherwise the reason, naming the node
// that blocks it (Add joining two branches, an op the channels cannot be followed through, a graph output, ...).
Status checkFilterPrune(const Graph& graph, int nodeIndex);
// Keeps the `keep` output channels with the largest L1 norm and physically removes the others: slices the weight and
// bias, follows the output through BatchNormalization, elementwise ops, pooling, Concat (offset), depthwise Conv
// (sliced too, followed further) into the consuming Conv (input channels), or Flatten/Reshape into Gemm/MatMul
// (H·W columns per channel), and updates the inferred shapes. On error the graph is unchanged. keep == channels
// or a node the pass does not apply to: a no-op with applied == false.
Result<FilterPruneResult> magnitudeFilterPrune(Graph& graph, int nodeIndex, int64_t keep);
// Same with the kept channels chosen by the caller (ascending, distinct, in range).
Result<FilterPruneResult> removeFilters(Graph& graph, int nodeIndex, std::vector<int64_t> kept);

}  // namespace lathe
