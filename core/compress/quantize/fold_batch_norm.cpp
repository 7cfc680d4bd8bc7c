#include "core/compress/quantize/fold_batch_norm.h"

#include <algorithm>
#include <cmath>

#include "core/compress/compressible_layer.h"

namespace lathe {

namespace {

bool isDefaultDomain(const Node& node) { return node.domain.empty() || node.domain == "ai.onnx"; }

const Tensor* floatConstant(const Graph& graph, const std::string& name, int64_t count) {
    const Tensor* t = name.empty() ? nullptr : graph.initializer(name);
    return t && t->dtype == DType::Float && t->numel() == count && int64_t(t->data.size()) == count ? t : nullptr;
}

bool isGraphOutput(const Graph& graph, const std::string& name) {
    return std::find(graph.outputs.begin(), graph.outputs.end(), name) != graph.outputs.end();
}

// Per output channel: the weight's elements of channel c are data[c * inner + j] for channel-major weights (Conv,
// Gemm with transB), data[j * channels + c] otherwise.
struct WeightLayout {
    int64_t channels = 0;
    bool channelMajor = true;
};

bool foldOne(Graph& g, int bnIndex, std::vector<FoldedBatchNorm>& folded) {
    const Node bn = g.nodes[size_t(bnIndex)];
    if (bn.opType != "BatchNormalization" || !isDefaultDomain(bn) || bn.inputs.size() < 5 || bn.outputs.empty())
        return false;
    for (size_t i = 1; i < bn.outputs.size(); ++i)
        if (!bn.outputs[i].empty()) return false;  // training outputs
    if (bn.attrInt("training_mode", 0) != 0 || bn.attrInt("spatial", 1) != 1) return false;
    const int layerIndex = g.producerOf(bn.inputs[0]);
    if (layerIndex < 0) return false;
    Node& layer = g.nodes[size_t(layerIndex)];
    if (!isDefaultDomain(layer) || (layer.opType != "Conv" && layer.opType != "Gemm") || layer.inputs.size() < 2 ||
        layer.outputs.size() != 1 || g.consumersOf(layer.outputs[0]).size() != 1 || isGraphOutput(g, layer.outputs[0]))
        return false;
    const Tensor* weight = g.initializer(layer.inputs[1]);
    if (!weight || weight->dtype != DType::Float || useCount(g, weight->name) != 1 || weight->shape.size() < 2) return false;
    WeightLayout layout;
    if (layer.opType == "Conv") {
        layout = {weight->shape[0], true};
    } else {
        if (weight->shape.size() != 2 || layer.attrInt("transA", 0) != 0) return false;
        const bool transB = layer.attrInt("transB", 0) != 0;
        layout = {transB ? weight->shape[0] : weight->shape[1], transB};
    }
    const int64_t channels = layout.channels;
    const Tensor* gamma = floatConstant(g, bn.inputs[1], channels);
    const Tensor* beta = floatConstant(g, bn.inputs[2], channels);
    const Tensor* mean = floatConstant(g, bn.inputs[3], channels);
    const Tensor* var = floatConstant(g, bn.inputs[4], channels);
    if (!gamma || !beta || !mean || !var) return false;
    const std::string biasName = layer.inputs.size() > 2 ? layer.inputs[2] : std::string();
    const Tensor* bias = nullptr;
    if (!biasName.empty()) {
        bias = g.initializer(biasName);
        const int64_t n = bias ? bias->numel() : 0;
        if (!bias || bias->dtype != DType::Float || useCount(g, biasName) != 1 || (n != channels && n != 1) ||
            (layer.opType == "Conv" && n != channels) || (n != 1 && (bias->shape.empty() || bias->shape.back() != channels)))
            return false;
    }
    const double epsilon = bn.attrFloat("epsilon", 1e-5f);
    const double alpha = layer.opType == "Gemm" ? layer.attrFloat("alpha", 1.f) : 1.0;
    const double biasFactor = layer.opType == "Gemm" ? layer.attrFloat("beta", 1.f) : 1.0;
    std::vector<double> a(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c)
        a[size_t(c)] = double(gamma->data[size_t(c)]) / std::sqrt(double(var->data[size_t(c)]) + epsilon);

    Tensor w = *weight;
    const int64_t inner = w.numel() / channels;
    for (int64_t c = 0; c < channels; ++c)
        for (int64_t j = 0; j < inner; ++j) {
            float& v = w.data[size_t(layout.channelMajor ? c * inner + j : j * channels + c)];
            v = float(double(v) * alpha * a[size_t(c)]);
        }
    Tensor b;
    b.name = biasName.empty() ? uniqueName(g, layer.name + "_bias") : biasName;
    b.dtype = DType::Float;
    b.shape = {channels};
    b.data.resize(size_t(channels));
    for (int64_t c = 0; c < channels; ++c) {
        const double old = bias ? biasFactor * double(bias->data[bias->numel() == 1 ? 0 : size_t(c)]) : 0.0;
        b.data[size_t(c)] =
            float((old - double(mean->data[size_t(c)])) * a[size_t(c)] + double(beta->data[size_t(c)]));
    }
    putInitializer(g, std::move(w));
    const std::string bName = b.name;
    putInitializer(g, std::move(b));
    if (layer.inputs.size() < 3) layer.inputs.resize(3);
    layer.inputs[2] = bName;
    if (layer.opType == "Gemm") {
        layer.attributes.erase("alpha");
        layer.attributes.erase("beta");
    }
    g.values.erase(layer.outputs[0]);
    layer.outputs[0] = bn.outputs[0];
    folded.push_back({bn.name, layer.name});
    g.nodes.erase(g.nodes.begin() + bnIndex);
    for (size_t i = 1; i < 5; ++i) eraseInitializerIfUnused(g, bn.inputs[i]);
    return true;
}

}  // namespace

std::vector<FoldedBatchNorm> foldBatchNorms(Graph& graph) {
    std::vector<FoldedBatchNorm> folded;
    for (int i = 0; i < int(graph.nodes.size());)
        if (!foldOne(graph, i, folded)) ++i;
    return folded;
}

}  // namespace lathe
