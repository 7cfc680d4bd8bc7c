#include "core/compress/lowrank/spatial_svd_decompose.h"

#include "core/compress/compressible_layer.h"

namespace lathe {

bool spatialSvdApplies(const Graph& graph, int nodeIndex) {
    if (!layerWeight(graph, nodeIndex)) return false;
    const Node& node = graph.nodes[size_t(nodeIndex)];
    if (node.opType != "Conv" || node.attrInt("group", 1) != 1) return false;
    const std::string autoPad = node.attrString("auto_pad", "NOTSET");
    if (autoPad != "NOTSET" && autoPad != "VALID") return false;
    const Tensor& w = graph.initializers.at(node.inputs[1]);
    return w.shape.size() == 4 && w.shape[2] * w.shape[3] > 1;
}

int64_t spatialSvdFullRank(const Graph& graph, int nodeIndex) {
    if (!spatialSvdApplies(graph, nodeIndex)) return 0;
    const auto& s = graph.initializers.at(graph.nodes[size_t(nodeIndex)].inputs[1]).shape;
    return std::min(s[1] * s[2], s[0] * s[3]);
}

Result<SpatialSvdResult> spatialSvdDecompose(Graph& graph, int nodeIndex, const LowRankSettings& settings) {
    SpatialSvdResult result;
    if (!spatialSvdApplies(graph, nodeIndex)) return result;
    const Node node = graph.nodes[size_t(nodeIndex)];
    const Tensor& w = graph.initializers.at(node.inputs[1]);
    const int64_t cout = w.shape[0], cin = w.shape[1], kh = w.shape[2], kw = w.shape[3];
    const int64_t rows = cin * kh, cols = cout * kw;
    result.fullRank = std::min(rows, cols);

    // M[(cin, y), (cout, x)] = W[cout, cin, y, x].
    std::vector<float> m(size_t(rows * cols));
    for (int64_t o = 0; o < cout; ++o)
        for (int64_t i = 0; i < cin; ++i)
            for (int64_t y = 0; y < kh; ++y)
                for (int64_t x = 0; x < kw; ++x)
                    m[size_t((i * kh + y) * cols + o * kw + x)] = w.data[size_t(((o * cin + i) * kh + y) * kw + x)];
    auto svd = truncatedSvd(m, rows, cols, settings, node.name + " (" + shapeToString(w.shape) + " as [" +
                                                         std::to_string(rows) + ", " + std::to_string(cols) + "])");
    if (!svd) return svd.error();
    const int64_t r = svd->rank;
    result.rank = r;
    result.relError = svd->relError;
    result.singularValues = std::move(svd->singularValues);

    Tensor vertical, horizontal;
    vertical.name = uniqueName(graph, node.inputs[1] + "_sp1");
    horizontal.name = uniqueName(graph, node.inputs[1] + "_sp2");
    vertical.shape = {r, cin, kh, 1};
    horizontal.shape = {cout, r, 1, kw};
    vertical.data.resize(size_t(r * rows));
    horizontal.data.resize(size_t(cout * r * kw));
    for (int64_t row = 0; row < rows; ++row)  // left [(cin, y), r] → [r, cin, y]
        for (int64_t k = 0; k < r; ++k) vertical.data[size_t(k * rows + row)] = svd->left[size_t(row * r + k)];
    for (int64_t k = 0; k < r; ++k)  // right [r, (cout, x)] → [cout, r, x]
        for (int64_t o = 0; o < cout; ++o)
            for (int64_t x = 0; x < kw; ++x)
                horizontal.data[size_t((o * r + k) * kw + x)] = svd->right[size_t(k * cols + o * kw + x)];

    const auto strides = node.attrInts("strides", {1, 1});
    const auto dilations = node.attrInts("dilations", {1, 1});
    auto pads = node.attrInts("pads", {0, 0, 0, 0});
    if (node.attrString("auto_pad", "NOTSET") == "VALID") pads = {0, 0, 0, 0};
    Node n1 = node, n2 = node;
    n1.name = uniqueName(graph, node.name + "_sp1");
    n2.name = uniqueName(graph, node.name + "_sp2");
    n1.attributes.erase("auto_pad");
    n2.attributes.erase("auto_pad");
    n1.attributes["kernel_shape"] = intsAttribute({kh, 1});
    n1.attributes["strides"] = intsAttribute({strides[0], 1});
    n1.attributes["pads"] = intsAttribute({pads[0], 0, pads[2], 0});
    n1.attributes["dilations"] = intsAttribute({dilations[0], 1});
    n2.attributes["kernel_shape"] = intsAttribute({1, kw});
    n2.attributes["strides"] = intsAttribute({1, strides[1]});
    n2.attributes["pads"] = intsAttribute({0, pads[1], 0, pads[3]});
    n2.attributes["dilations"] = intsAttribute({1, dilations[1]});
    n1.inputs = {std::string(), vertical.name};
    n2.inputs = {std::string(), horizontal.name};
    if (node.inputs.size() > 2 && !node.inputs[2].empty()) n2.inputs.push_back(node.inputs[2]);

    // The vertical conv leaves [N, r, H_out, W_in].
    std::vector<int64_t> hidden;
    const ValueInfo* x = graph.value(node.inputs[0]);
    const ValueInfo* y = graph.value(node.outputs[0]);
    if (x && y && x->hasShape && y->hasShape && x->shape.size() == 4 && y->shape.size() == 4)
        hidden = {y->shape[0], r, y->shape[2], x->shape[3]};

    result.nodes = {n1.name, n2.name};
    result.weights = {vertical.name, horizontal.name};
    std::vector<Tensor> weights;
    weights.push_back(std::move(vertical));
    weights.push_back(std::move(horizontal));
    replaceNodeByChain(graph, nodeIndex, {std::move(n1), std::move(n2)}, std::move(weights), {hidden});
    result.applied = true;
    return result;
}

Tensor recomposeSpatial(const Tensor& vertical, const Tensor& horizontal) {
    const int64_t r = vertical.shape[0], cin = vertical.shape[1], kh = vertical.shape[2];
    const int64_t cout = horizontal.shape[0], kw = horizontal.shape[3];
    Tensor out;
    out.name = vertical.name;
    out.shape = {cout, cin, kh, kw};
    out.data.assign(size_t(cout * cin * kh * kw), 0.f);
    for (int64_t o = 0; o < cout; ++o)
        for (int64_t i = 0; i < cin; ++i)
            for (int64_t y = 0; y < kh; ++y)
                for (int64_t x = 0; x < kw; ++x) {
                    double acc = 0;
                    for (int64_t k = 0; k < r; ++k)
                        acc += double(horizontal.data[size_t((o * r + k) * kw + x)]) *
                               vertical.data[size_t((k * cin + i) * kh + y)];
                    out.data[size_t(((o * cin + i) * kh + y) * kw + x)] = float(acc);
                }
    return out;
}

}  // namespace lathe
