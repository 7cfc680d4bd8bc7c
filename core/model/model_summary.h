#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/model/graph.h"

namespace lathe {

struct WeightInfo {
    std::string name;
    std::vector<int64_t> shape;
    DType dtype = DType::Float;
    int64_t params = 0;
    int64_t bytes = 0;
};

// A node that holds weights (non-integer initializers among its inputs).
struct LayerInfo {
    std::string name;
    std::string op;
    int nodeIndex = -1;
    std::vector<WeightInfo> weights;
    int64_t params = 0;
    int64_t bytes = 0;
    int64_t macs = 0;  // per sample (batch dimension taken as 1); 0 when unknown
    bool macsKnown = true;
};

struct ModelSummary {
    std::vector<LayerInfo> layers;
    int64_t totalParams = 0;  // each initializer counted once, also when shared
    int64_t totalBytes = 0;
    int64_t totalMacs = 0;  // over all nodes, including weightless MatMul; a lower bound when unknownMacs is not empty
    std::vector<std::string> unknownMacs;  // nodes that multiply-accumulate but could not be counted
};

// Multiply-accumulates of one node per sample from inferred shapes: Conv, ConvTranspose, Gemm, MatMul (also of two
// activations, as in attention), Einsum and RNN/GRU/LSTM (sequence length × (W + R elements)). 0 for ops that do not
// multiply-accumulate; nullopt for those that do (these, or any other op with float weights) when a shape needed is
// unknown or has an unknown dimension other than the batch (or a named one). Shapes static inference cannot give
// come from completeShapesByExecution (core/runtime/shape_probe.h).
std::optional<int64_t> nodeMacs(const Graph& graph, const Node& node);
ModelSummary summarizeModel(const Graph& graph);

}  // namespace lathe
