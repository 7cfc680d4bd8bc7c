#include "core/compress/compressible_layer.h"

#include <algorithm>

namespace lathe {

namespace {

const Tensor* floatConstant(const Graph& graph, const Node& node, size_t input) {
    if (node.inputs.size() <= input || node.inputs[input].empty()) return nullptr;
    const Tensor* t = graph.initializer(node.inputs[input]);
    if (!t || t->dtype != DType::Float || int64_t(t->data.size()) != t->numel() || t->numel() == 0) return nullptr;
    return t;
}

}  // namespace

std::optional<LayerWeight> layerWeight(const Graph& graph, int nodeIndex) {
    if (nodeIndex < 0 || nodeIndex >= int(graph.nodes.size())) return std::nullopt;
    const Node& node = graph.nodes[size_t(nodeIndex)];
    if (!node.domain.empty() && node.domain != "ai.onnx") return std::nullopt;
    const Tensor* w = floatConstant(graph, node, 1);
    if (!w) return std::nullopt;
    LayerWeight lw;
    lw.node = nodeIndex;
    lw.nodeName = node.name;
    lw.opType = node.opType;
    lw.weight = node.inputs[1];
    if (node.opType == "Conv" || node.opType == "ConvTranspose") {
        if (w->shape.size() < 3) return std::nullopt;
        lw.channelAxis = node.opType == "Conv" ? 0 : 1;
        if (floatConstant(graph, node, 2)) lw.bias = node.inputs[2];
    } else if (node.opType == "Gemm") {
        if (w->shape.size() != 2) return std::nullopt;
        lw.channelAxis = node.attrInt("transB", 0) != 0 ? 0 : 1;
        if (floatConstant(graph, node, 2)) lw.bias = node.inputs[2];
    } else if (node.opType == "MatMul") {
        if (w->shape.size() != 2) return std::nullopt;
        lw.channelAxis = 1;
    } else {
        return std::nullopt;
    }
    return lw;
}

std::vector<LayerWeight> compressibleLayers(const Graph& graph) {
    std::vector<LayerWeight> layers;
    for (int i = 0; i < int(graph.nodes.size()); ++i)
        if (auto lw = layerWeight(graph, i)) layers.push_back(std::move(*lw));
    return layers;
}

int findLayerNode(const Graph& graph, std::string_view name) {
    for (int i = 0; i < int(graph.nodes.size()); ++i)
        if (graph.nodes[size_t(i)].name == name && layerWeight(graph, i)) return i;
    for (int i = 0; i < int(graph.nodes.size()); ++i) {
        auto lw = layerWeight(graph, i);
        if (lw && lw->weight == name) return i;
    }
    return -1;
}

int useCount(const Graph& graph, const std::string& valueName) {
    int uses = 0;
    for (const auto& n : graph.nodes)
        for (const auto& in : n.inputs) uses += in == valueName ? 1 : 0;
    return uses;
}

void putInitializer(Graph& graph, Tensor tensor) {
    ValueInfo& v = graph.values[tensor.name];
    v.name = tensor.name;
    v.dtype = tensor.dtype;
    v.hasShape = true;
    v.shape = tensor.shape;
    v.dimParams.assign(tensor.shape.size(), std::string());
    std::string name = tensor.name;
    graph.initializers.insert_or_assign(name, std::move(tensor));
}

void eraseInitializerIfUnused(Graph& graph, const std::string& name) {
    if (useCount(graph, name) > 0) return;
    for (const auto& out : graph.outputs)
        if (out == name) return;
    graph.initializers.erase(name);
    graph.values.erase(name);
}

std::string uniqueName(const Graph& graph, const std::string& base) {
    auto taken = [&](const std::string& s) {
        return graph.values.count(s) || graph.initializers.count(s) || graph.nodeIndex(s) >= 0;
    };
    if (!taken(base)) return base;
    for (int i = 2;; ++i) {
        std::string s = base + "_" + std::to_string(i);
        if (!taken(s)) return s;
    }
}

std::string uniqueValueName(const Graph& graph, const std::string& base) {
    auto taken = [&](const std::string& s) {
        if (graph.values.count(s) || graph.initializers.count(s) || graph.nodeIndex(s) >= 0) return true;
        return std::any_of(graph.nodes.begin(), graph.nodes.end(), [&](const Node& n) {
            return std::find(n.outputs.begin(), n.outputs.end(), s) != n.outputs.end();
        });
    };
    std::string name = base;
    for (int i = 2; taken(name); ++i) name = base + "_" + std::to_string(i);
    return name;
}

void declareValue(Graph& graph, const std::string& name, const std::string& like, DType dtype) {
    ValueInfo v;
    if (const ValueInfo* src = graph.value(like)) v = *src;
    v.name = name;
    v.dtype = dtype;
    graph.values[name] = v;
}

int64_t innerSize(std::span<const int64_t> shape, int axis) {
    int64_t n = 1;
    for (size_t i = size_t(axis) + 1; i < shape.size(); ++i) n *= shape[i];
    return n;
}

Tensor sliceAxis(const Tensor& tensor, int axis, std::span<const int64_t> keep) {
    Tensor out;
    out.name = tensor.name;
    out.dtype = tensor.dtype;
    out.shape = tensor.shape;
    out.shape[size_t(axis)] = int64_t(keep.size());
    const int64_t inner = innerSize(tensor.shape, axis);
    const int64_t dim = tensor.shape[size_t(axis)];
    const int64_t outer = dim == 0 ? 0 : tensor.numel() / (dim * inner);
    out.data.resize(size_t(outer * int64_t(keep.size()) * inner));
    float* dst = out.data.data();
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t k : keep) {
            const float* src = tensor.data.data() + (o * dim + k) * inner;
            dst = std::copy(src, src + inner, dst);
        }
    return out;
}

}  // namespace lathe
