#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/model/graph.h"

namespace lathe {

// A node whose constant float32 weight the compression passes work on: Conv, ConvTranspose, Gemm (constant B) or
// MatMul (constant 2-D B). Biases are never compressed.
struct LayerWeight {
    int node = -1;
    std::string nodeName;
    std::string opType;
    std::string weight;   // initializer name
    std::string bias;     // initializer name, "" when there is none
    int channelAxis = 0;  // output-channel axis of the weight: 0 for Conv and Gemm transB=1, 1 otherwise
};

// The weight of node `nodeIndex`, or nullopt when the node has no compressible weight.
std::optional<LayerWeight> layerWeight(const Graph& graph, int nodeIndex);
// Every compressible layer in node order.
std::vector<LayerWeight> compressibleLayers(const Graph& graph);
// Node index of the compressible layer named by its node name or by its weight's name; -1 when there is none.
int findLayerNode(const Graph& graph, std::string_view name);

// Number of node inputs (over all nodes) that read `valueName`.
int useCount(const Graph& graph, const std::string& valueName);
// Inserts or replaces an initializer and keeps graph.values[name] in step with its dtype and shape.
void putInitializer(Graph& graph, Tensor tensor);
// Removes an initializer (and its ValueInfo) that no node reads any more.
void eraseInitializerIfUnused(Graph& graph, const std::string& name);
// `base` when no value, initializer or node uses that name yet, else base_2, base_3, ...
std::string uniqueName(const Graph& graph, const std::string& base);
// `base`, or base_2, base_3, ... when a value, initializer, node or node output already has that name.
std::string uniqueValueName(const Graph& graph, const std::string& base);
// Declares `name` in graph.values with `like`'s shape and the given element type.
void declareValue(Graph& graph, const std::string& name, const std::string& like, DType dtype);
// The sub-tensor keeping only indices `keep` (ascending, in range) along `axis`.
Tensor sliceAxis(const Tensor& tensor, int axis, std::span<const int64_t> keep);
// Elements after `axis` in a row-major tensor of `shape` (stride of axis).
int64_t innerSize(std::span<const int64_t> shape, int axis);

}  // namespace lathe
