#include "core/model/model_summary.h"

#include <set>

namespace lathe {

namespace {

// Product of the known dims from `first` on; unknown (symbolic) dims count as 1.
int64_t knownProduct(const std::vector<int64_t>& shape, size_t first = 0) {
    int64_t n = 1;
    for (size_t i = first; i < shape.size(); ++i) n *= shape[i] > 0 ? shape[i] : 1;
    return n;
}

const std::vector<int64_t>* shapeOf(const Graph& graph, const std::string& name) {
    if (const Tensor* t = graph.initializer(name)) return &t->shape;
    const ValueInfo* v = graph.value(name);
    return v && v->hasShape ? &v->shape : nullptr;
}

bool isWeightTensor(const Tensor& t) {
    return t.dtype != DType::Int64 && t.dtype != DType::Int32 && t.dtype != DType::Bool && t.dtype != DType::String &&
           t.dtype != DType::UInt64 && t.dtype != DType::UInt32;
}

// Ops with float constant inputs that are not weights a layer multiplies by (scales, shapes, pads, clip bounds…).
bool isWeightFreeOp(const std::string& op) {
    static const std::set<std::string> ops = {
        "BatchNormalization", "InstanceNormalization", "LayerNormalization", "Add", "Sub", "Mul", "Div", "Pow",
        "Clip", "Reshape", "Pad", "Resize", "Upsample", "PRelu", "Where", "Max", "Min", "Equal", "Less", "Greater",
        "Expand", "Tile", "Slice", "Gather", "Concat", "ConstantOfShape", "QuantizeLinear", "DequantizeLinear",
        "Range", "Sum", "Mean"};
    return ops.count(op) > 0;
}

}  // namespace

std::optional<int64_t> nodeMacs(const Graph& graph, const Node& node) {
    const std::string& op = node.opType;
    const bool recurrent = op == "RNN" || op == "GRU" || op == "LSTM";
    const bool conv = op == "Conv" || op == "QLinearConv" || op == "ConvInteger";
    const bool matmul = op == "MatMul" || op == "QLinearMatMul" || op == "MatMulInteger";
    const bool counted = conv || matmul || op == "ConvTranspose" || op == "Gemm" || recurrent;
    bool hasWeights = false;
    for (size_t i = 1; i < node.inputs.size(); ++i)
        if (const Tensor* t = node.inputs[i].empty() ? nullptr : graph.initializer(node.inputs[i]))
            hasWeights = hasWeights || (isWeightTensor(*t) && t->numel() > 1);
    if (!counted) return hasWeights && !isWeightFreeOp(op) ? std::nullopt : std::optional<int64_t>(0);
    if (node.inputs.size() < (recurrent ? 3u : 2u) || node.outputs.empty()) return std::nullopt;
    const auto* a = shapeOf(graph, node.inputs[0]);
    // QLinearConv's weight is its fourth input (x, x_scale, x_zero_point, w, …).
    const size_t weightInput = op == "QLinearConv" ? 3 : 1;
    if (node.inputs.size() <= weightInput) return std::nullopt;
    const auto* b = shapeOf(graph, node.inputs[weightInput]);
    const auto* y = shapeOf(graph, node.outputs[0]);
    if (recurrent) {
        // X is [seq, batch, input] (layout 0) or [batch, seq, input]; each step multiplies by W and R once.
        const auto* r = shapeOf(graph, node.inputs[2]);
        const size_t seqAxis = node.attrInt("layout", 0) == 0 ? 0 : 1;
        if (!a || !b || !r || a->size() != 3 || (*a)[seqAxis] <= 0) return std::nullopt;
        return (*a)[seqAxis] * (knownProduct(*b) + knownProduct(*r));
    }
    if (conv) {
        if (!b || !y || b->size() < 2 || y->size() < 2) return std::nullopt;
        return knownProduct(*y, 1) * knownProduct(*b, 1);
    }
    if (op == "ConvTranspose") {
        if (!a || !b || a->size() < 2 || b->size() < 2) return std::nullopt;
        return knownProduct(*a, 1) * knownProduct(*b, 1);
    }
    if (op == "Gemm") {
        if (!a || !b || a->size() != 2 || b->size() != 2) return std::nullopt;
        bool transA = node.attrInt("transA", 0) != 0;
        bool transB = node.attrInt("transB", 0) != 0;
        int64_t m = transA ? (*a)[1] : (*a)[0];
        int64_t k = transA ? (*a)[0] : (*a)[1];
        int64_t n = transB ? (*b)[0] : (*b)[1];
        if (k <= 0 || n <= 0) return std::nullopt;
        return (m > 0 ? m : 1) * k * n;
    }
    // MatMul
    if (!a || !y || a->empty()) return std::nullopt;
    int64_t k = a->back();
    if (k <= 0) return std::nullopt;
    return knownProduct(*y) * k;
}

ModelSummary summarizeModel(const Graph& graph) {
    ModelSummary summary;
    std::set<std::string> counted;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        const Node& node = graph.nodes[i];
        const std::optional<int64_t> macs = nodeMacs(graph, node);
        summary.totalMacs += macs.value_or(0);
        if (!macs) summary.unknownMacs.push_back(node.name);
        LayerInfo layer;
        layer.name = node.name;
        layer.op = node.opType;
        layer.nodeIndex = int(i);
        layer.macs = macs.value_or(0);
        layer.macsKnown = macs.has_value();
        for (const auto& input : node.inputs) {
            const Tensor* t = input.empty() ? nullptr : graph.initializer(input);
            if (!t || !isWeightTensor(*t)) continue;
            WeightInfo w{t->name, t->shape, t->dtype, t->numel(), t->byteSize()};
            layer.params += w.params;
            layer.bytes += w.bytes;
            if (counted.insert(t->name).second) {
                summary.totalParams += w.params;
                summary.totalBytes += w.bytes;
            }
            layer.weights.push_back(std::move(w));
        }
        if (!layer.weights.empty()) summary.layers.push_back(std::move(layer));
    }
    return summary;
}

}  // namespace lathe
