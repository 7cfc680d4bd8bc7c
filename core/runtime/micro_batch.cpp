#include "core/runtime/micro_batch.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace lathe {

namespace {

// Rank of a value from the inferred shapes; -1 when unknown.
int rankOf(const Graph& graph, const std::string& name) {
    if (const ValueInfo* v = graph.value(name); v && !v->shape.empty()) return int(v->shape.size());
    if (const Tensor* t = graph.initializer(name)) return int(t->shape.size());
    return -1;
}

// A constant that broadcasts against a batch-carrying operand without a batch-sized first dimension.
bool broadcastsPerSample(const Graph& graph, const std::string& constant, int activationRank) {
    const Tensor* t = graph.initializer(constant);
    if (!t) return false;
    return int(t->shape.size()) < activationRank || t->shape.empty() || t->shape[0] == 1;
}

bool axisOffBatch(int64_t axis, int rank) {
    if (rank < 0) return axis > 0;
    return (axis < 0 ? axis + rank : axis) != 0;
}

bool nodeKeepsSamplesApart(const Graph& graph, const Node& node, const std::set<std::string>& carrying) {
    const std::string& op = node.opType;
    auto carries = [&](size_t i) { return i < node.inputs.size() && carrying.count(node.inputs[i]) > 0; };
    const int rank = node.inputs.empty() ? -1 : rankOf(graph, node.inputs[0]);
    static const std::set<std::string> perSample = {
        "Relu",        "LeakyRelu",         "Clip",          "Sigmoid",       "Tanh",          "HardSigmoid",
        "HardSwish",   "Identity",          "Dropout",       "Conv",          "MaxPool",       "AveragePool",
        "GlobalAveragePool", "GlobalMaxPool", "BatchNormalization", "QuantizeLinear", "DequantizeLinear",
        "QLinearConv"};
    if (perSample.count(op)) {
        // Only the first input carries samples; the rest (weights, ranges, scales) are constants.
        for (size_t i = 1; i < node.inputs.size(); ++i)
            if (carries(i)) return false;
        if ((op == "QuantizeLinear" || op == "DequantizeLinear") && !axisOffBatch(node.attrInt("axis", 1), rank))
            return false;
        return true;
    }
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
        if (carries(0) && carries(1)) return true;
        const size_t constant = carries(0) ? 1 : 0;
        const int activationRank = rankOf(graph, node.inputs[1 - constant]);
        return activationRank > 0 && broadcastsPerSample(graph, node.inputs[constant], activationRank);
    }
    if (op == "Gemm")
        return carries(0) && !carries(1) && !carries(2) && node.attrInt("transA", 0) == 0 &&
               (node.inputs.size() < 3 || node.inputs[2].empty() || broadcastsPerSample(graph, node.inputs[2], 2));
    if (op == "MatMul") return carries(0) && !carries(1) && rank >= 2 && graph.initializer(node.inputs[1]) != nullptr;
    if (op == "Flatten") return node.attrInt("axis", 1) > 0;
    if (op == "Softmax" || op == "LogSoftmax") return axisOffBatch(node.attrInt("axis", -1), rank);
    if (op == "Concat") {
        for (size_t i = 0; i < node.inputs.size(); ++i)
            if (!carries(i)) return false;
        return axisOffBatch(node.attrInt("axis", 0), rank);
    }
    if (op == "Transpose") {
        const std::vector<int64_t> perm = node.attrInts("perm");
        return !perm.empty() && perm[0] == 0;
    }
    if (op == "ReduceMean") {
        const std::vector<int64_t> axes = node.attrInts("axes");
        if (axes.empty() || node.inputs.size() > 1) return false;
        return std::all_of(axes.begin(), axes.end(), [&](int64_t a) { return axisOffBatch(a, rank); });
    }
    if (op == "Reshape") {
        // A constant target shape that keeps dimension 0: 0 copies it; -1 does when the other dimensions hold
        // exactly one sample.
        const Tensor* shape = node.inputs.size() > 1 ? graph.initializer(node.inputs[1]) : nullptr;
        if (!shape || shape->ints.empty() || node.attrInt("allowzero", 0) != 0) return false;
        if (shape->ints[0] == 0) return true;
        const ValueInfo* in = graph.value(node.inputs[0]);
        if (shape->ints[0] != -1 || !in || in->shape.size() < 2) return false;
        int64_t sample = 1, target = 1;
        for (size_t d = 1; d < in->shape.size(); ++d) sample *= in->shape[d];
        for (size_t d = 1; d < shape->ints.size(); ++d) target *= shape->ints[d];
        return sample > 0 && target == sample;
    }
    return false;
}

}  // namespace

bool isBatchSeparable(const Graph& graph) {
    std::vector<const std::string*> floatInputs;
    for (const auto& input : graph.inputs)
        if (!graph.initializer(input)) floatInputs.push_back(&input);
    if (floatInputs.size() != 1) return false;
    std::set<std::string> carrying{*floatInputs.front()};
    for (const Node& node : graph.nodes) {
        const bool fed = std::any_of(node.inputs.begin(), node.inputs.end(),
                                     [&](const std::string& in) { return carrying.count(in) > 0; });
        if (!fed) {
            if (node.opType == "Constant") continue;  // no input at all: a value of its own
            return false;                             // shape computations and the like: not followed
        }
        if (!nodeKeepsSamplesApart(graph, node, carrying)) return false;
        for (const std::string& out : node.outputs)
            if (!out.empty()) carrying.insert(out);
    }
    for (const auto& output : graph.outputs)
        if (!carrying.count(output)) return false;
    return true;
}

int64_t microBatchSize(const Graph& graph, int64_t sliceBytes) {
    if (!isBatchSeparable(graph) || sliceBytes <= 0) return 0;
    int64_t largest = 0;
    for (const Node& node : graph.nodes) {
        if (node.opType == "Constant") continue;  // a value of its own (Clip's bounds, say), not per sample
        for (const std::string& out : node.outputs) {
            const ValueInfo* v = graph.value(out);
            if (!v || v->shape.size() < 2) return 0;
            int64_t perSample = 4;
            for (size_t d = 1; d < v->shape.size(); ++d) {
                if (v->shape[d] <= 0) return 0;
                perSample *= v->shape[d];
            }
            largest = std::max(largest, perSample);
        }
    }
    return largest > 0 ? std::max<int64_t>(1, sliceBytes / largest) : 0;
}

}  // namespace lathe
