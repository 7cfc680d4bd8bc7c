#pragma once

#include <cstdint>
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
    int64_t macs = 0;  // per sample (batch dimension taken as 1)
};

struct ModelSummary {
    std::vector<LayerInfo> layers;
    int64_t totalParams = 0;  // each initializer counted once, also when shared
    int64_t totalBytes = 0;
    int64_t totalMacs = 0;  // over all nodes, including weightless MatMul
};

// Multiply-accumulates of one node per sample from inferred shapes: Conv, ConvTranspose, Gemm, MatMul; 0 otherwise
// or when shapes are unknown.
int64_t nodeMacs(const Graph& graph, const Node& node);
ModelSummary summarizeModel(const Graph& graph);

}  // namespace lathe
