#include "core/compress/lowrank/decompose_layer.h"

#include "core/compress/lowrank/spatial_svd_decompose.h"
#include "core/compress/lowrank/svd_decompose.h"
#include "core/compress/lowrank/tucker2_decompose.h"
#include "core/model/model_summary.h"

namespace lathe {

std::string decompositionRefusal(const Graph& graph, int nodeIndex, LowRankMethod method) {
    const Node& node = graph.nodes[size_t(nodeIndex)];
    const std::string what = node.name + " (" + node.opType + ")";
    switch (method) {
        case LowRankMethod::Tucker2:
            return tucker2Applies(graph, nodeIndex)
                       ? std::string()
                       : what + " cannot take Tucker-2; it applies to Conv with group 1 and a constant weight";
        case LowRankMethod::Spatial:
            return spatialSvdApplies(graph, nodeIndex)
                       ? std::string()
                       : what + " cannot take a spatial SVD; it applies to 2-D Conv with group 1, a constant weight, "
                                "a kernel larger than 1×1 and explicit pads";
        case LowRankMethod::Channel:
            break;
    }
    return svdDecomposeApplies(graph, nodeIndex)
               ? std::string()
               : what + " cannot be decomposed; low-rank applies to Gemm, MatMul and Conv with group 1";
}

std::pair<int64_t, int64_t> decompositionFullRanks(const Graph& graph, int nodeIndex, LowRankMethod method) {
    switch (method) {
        case LowRankMethod::Tucker2:
            return tucker2FullRanks(graph, nodeIndex);
        case LowRankMethod::Spatial:
            return {spatialSvdFullRank(graph, nodeIndex), 0};
        case LowRankMethod::Channel:
            break;
    }
    return {decompositionFullRank(graph, nodeIndex), 0};
}

std::vector<std::string> checkDecompositionRanks(const Graph& graph, int nodeIndex, const LayerSettings& s,
                                                 const std::string& field) {
    std::vector<std::string> errors;
    const auto [full, fullIn] = decompositionFullRanks(graph, nodeIndex, s.lowRankMethod);
    const Node& node = graph.nodes[size_t(nodeIndex)];
    const std::string shape = shapeToString(graph.initializers.at(node.inputs[1]).shape);
    auto check = [&](std::optional<int64_t> rank, int64_t limit, const char* key, const char* mode) {
        if (rank && *rank > limit)
            errors.push_back(field + "." + key + ": " + std::to_string(*rank) + " is above the full rank" + mode +
                             " of " + node.name + " (" + std::to_string(limit) + " for weight " + shape + ")");
    };
    if (s.lowRankMethod == LowRankMethod::Tucker2) {
        check(s.rankOut, full, "rank_out", " of the output-channel mode");
        check(s.rankIn, fullIn, "rank_in", " of the input-channel mode");
    } else {
        check(s.rank, full, "rank", s.lowRankMethod == LowRankMethod::Spatial ? " of the spatial unfolding" : "");
    }
    return errors;
}

Result<LayerDecomposition> decomposeLayer(Graph& graph, int nodeIndex, const LayerSettings& s) {
    LayerDecomposition d;
    d.method = s.lowRankMethod;
    switch (s.lowRankMethod) {
        case LowRankMethod::Tucker2: {
            auto r = tucker2Decompose(graph, nodeIndex, Tucker2Settings{s.rankOut, s.rankIn, s.energy});
            if (!r) return r.error();
            d.applied = r->applied;
            d.rank = r->rankOut;
            d.fullRank = r->fullRankOut;
            d.rankIn = r->rankIn;
            d.fullRankIn = r->fullRankIn;
            d.singularValues = std::move(r->singularValuesOut);
            d.relError = r->relError;
            d.nodes = std::move(r->nodes);
            d.weights = std::move(r->weights);
            return d;
        }
        case LowRankMethod::Spatial: {
            auto r = spatialSvdDecompose(graph, nodeIndex, LowRankSettings{s.rank, s.energy});
            if (!r) return r.error();
            d.applied = r->applied;
            d.rank = r->rank;
            d.fullRank = r->fullRank;
            d.singularValues = std::move(r->singularValues);
            d.relError = r->relError;
            d.nodes = std::move(r->nodes);
            d.weights = std::move(r->weights);
            return d;
        }
        case LowRankMethod::Channel:
            break;
    }
    auto r = svdDecompose(graph, nodeIndex, LowRankSettings{s.rank, s.energy});
    if (!r) return r.error();
    d.applied = r->applied;
    d.rank = r->rank;
    d.fullRank = r->fullRank;
    d.singularValues = std::move(r->singularValues);
    d.relError = r->relError;
    d.outMajor = r->outMajor;
    d.nodes = {r->firstNode, r->secondNode};
    d.weights = {r->firstWeight, r->secondWeight};
    return d;
}

Result<LayerDecomposition> decomposeWeight(const Tensor& weight, const LayerSettings& settings) {
    Graph g;
    Tensor w = weight;
    w.name = "W";
    g.initializers.emplace("W", std::move(w));
    Node node;
    node.name = "layer";
    node.opType = weight.shape.size() >= 3 ? "Conv" : "Gemm";
    node.inputs = {"x", "W"};
    node.outputs = {"y"};
    if (weight.shape.size() >= 3)
        node.attributes["kernel_shape"] = intsAttribute(std::vector<int64_t>(weight.shape.begin() + 2, weight.shape.end()));
    else
        node.attributes["transB"] = intAttribute(1);
    g.nodes.push_back(std::move(node));
    return decomposeLayer(g, 0, settings);
}

Tensor recomposeLayer(const Graph& graph, const LayerDecomposition& d, const std::vector<int64_t>& shape) {
    auto w = [&](size_t i) -> const Tensor& { return graph.initializers.at(d.weights[i]); };
    switch (d.method) {
        case LowRankMethod::Tucker2:
            return recomposeTucker2(w(0), w(1), w(2));
        case LowRankMethod::Spatial:
            return recomposeSpatial(w(0), w(1));
        case LowRankMethod::Channel:
            break;
    }
    return recomposeFactors(w(0), w(1), d.outMajor, shape);
}

int64_t decomposedParams(LowRankMethod method, const std::vector<int64_t>& shape, int64_t rank, int64_t rankIn) {
    if (shape.empty()) return 0;
    const int64_t rows = shape[0];
    const int64_t cols = shapeNumel(shape) / std::max<int64_t>(rows, 1);
    if (method == LowRankMethod::Channel || shape.size() < 3) return lowRankParams(rows, cols, rank);
    const int64_t cout = shape[0], cin = shape[1], spatial = shapeNumel(shape) / std::max<int64_t>(cout * cin, 1);
    if (method == LowRankMethod::Tucker2) return rankIn * cin + rank * rankIn * spatial + cout * rank;
    // Spatial: [r, Cin, kh, 1] + [Cout, r, 1, kw].
    const int64_t kh = shape[2], kw = spatial / std::max<int64_t>(kh, 1);
    return rank * cin * kh + cout * rank * kw;
}

}  // namespace lathe

namespace lathe {

LayerGeometry layerGeometry(const Graph& graph, int nodeIndex) {
    LayerGeometry g;
    const Node& node = graph.nodes[size_t(nodeIndex)];
    g.macs = nodeMacs(graph, node).value_or(0);
    if (node.opType != "Conv") return g;
    const ValueInfo* x = graph.value(node.inputs[0]);
    const ValueInfo* y = graph.value(node.outputs[0]);
    if (x && y && x->hasShape && y->hasShape && x->shape.size() > 2 && y->shape.size() > 2) {
        g.inputSpatial.assign(x->shape.begin() + 2, x->shape.end());
        g.outputSpatial.assign(y->shape.begin() + 2, y->shape.end());
    } else {
        g.macs = 0;
    }
    return g;
}

int64_t decomposedMacs(LowRankMethod method, const std::vector<int64_t>& shape, int64_t rank, int64_t rankIn,
                       const std::vector<int64_t>& in, const std::vector<int64_t>& out) {
    auto product = [](const std::vector<int64_t>& v) {
        int64_t p = 1;
        for (int64_t d : v) p *= std::max<int64_t>(d, 0);
        return p;
    };
    if (shape.size() < 3) return lowRankParams(shape.empty() ? 0 : shape[0], shape.size() > 1 ? shape[1] : 0, rank);
    const int64_t cout = shape[0], cin = shape[1], kernel = shapeNumel(shape) / std::max<int64_t>(cout * cin, 1);
    const int64_t pin = product(in), pout = product(out);
    switch (method) {
        case LowRankMethod::Tucker2:
            return rankIn * cin * pin + rank * rankIn * kernel * pout + cout * rank * pout;
        case LowRankMethod::Spatial: {
            // The k×1 conv keeps the input width (no horizontal stride or pads): [r, H_out, W_in].
            const int64_t kh = shape[2], kw = shape.size() > 3 ? shape[3] : 1;
            const int64_t hout = out.empty() ? 1 : out[0], win = in.size() > 1 ? in[1] : 1;
            return rank * cin * kh * hout * win + cout * rank * kw * pout;
        }
        case LowRankMethod::Channel:
            break;
    }
    return rank * cin * kernel * pout + cout * rank * pout;
}

}  // namespace lathe
