#include "core/train/initialize_weights.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "core/compress/compressible_layer.h"

namespace lathe {

namespace {

// Inputs one output of the layer sums over.
int64_t fanIn(const Graph& graph, const LayerWeight& layer, const Tensor& w) {
    if (w.shape.empty()) return 1;
    const Node& node = graph.nodes[size_t(layer.node)];
    if (layer.opType == "Conv") return shapeNumel(w.shape) / std::max<int64_t>(w.shape[0], 1);
    if (layer.opType == "ConvTranspose") {  // [C_in, C_out/group, k…]: an output sums over C_in/group·k… inputs
        const int64_t group = std::max<int64_t>(1, node.attrInt("group", 1));
        return w.shape[0] / group * (shapeNumel(w.shape) / std::max<int64_t>(w.shape[0] * w.shape[1], 1));
    }
    return layer.channelAxis == 0 ? w.shape.back() : w.shape.front();  // Gemm transB=1 [out, in]; else [in, out]
}

void fillUniform(Tensor& t, double bound, std::mt19937_64& rng) {
    std::uniform_real_distribution<double> dist(-bound, bound);
    for (float& v : t.data) v = float(dist(rng));
}

void fill(Graph& graph, const std::string& name, float value, std::vector<std::string>& done) {
    auto it = graph.initializers.find(name);
    if (it == graph.initializers.end() || it->second.dtype != DType::Float) return;
    std::fill(it->second.data.begin(), it->second.data.end(), value);
    done.push_back(name);
}

// The bias of a MatMul layer: the constant operand of the Add that alone reads its output.
std::string matMulBias(const Graph& graph, const LayerWeight& layer) {
    const std::string& out = graph.nodes[size_t(layer.node)].outputs[0];
    if (useCount(graph, out) != 1) return {};
    for (const Node& n : graph.nodes) {
        if (n.opType != "Add" || n.inputs.size() != 2) continue;
        if (n.inputs[0] == out && graph.initializer(n.inputs[1])) return n.inputs[1];
        if (n.inputs[1] == out && graph.initializer(n.inputs[0])) return n.inputs[0];
    }
    return {};
}

}  // namespace

std::vector<std::string> initializeWeights(Graph& graph, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::string> done;
    for (const LayerWeight& layer : compressibleLayers(graph)) {
        auto w = graph.initializers.find(layer.weight);
        if (w == graph.initializers.end() || w->second.dtype != DType::Float) continue;
        const double bound = 1.0 / std::sqrt(double(std::max<int64_t>(1, fanIn(graph, layer, w->second))));
        fillUniform(w->second, bound, rng);
        done.push_back(layer.weight);
        const std::string bias = layer.opType == "MatMul" ? matMulBias(graph, layer) : layer.bias;
        auto b = bias.empty() ? graph.initializers.end() : graph.initializers.find(bias);
        if (b != graph.initializers.end() && b->second.dtype == DType::Float) {
            fillUniform(b->second, bound, rng);
            done.push_back(bias);
        }
    }
    for (const Node& n : graph.nodes) {
        if (n.opType != "BatchNormalization" || n.inputs.size() < 5) continue;
        fill(graph, n.inputs[1], 1.f, done);
        fill(graph, n.inputs[2], 0.f, done);
        fill(graph, n.inputs[3], 0.f, done);
        fill(graph, n.inputs[4], 1.f, done);
    }
    return done;
}

}  // namespace lathe
