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

}  // namespace

int64_t nodeMacs(const Graph& graph, const Node& node) {
    if (node.inputs.size() < 2 || node.outputs.empty()) return 0;
    const auto* a = shapeOf(graph, node.inputs[0]);
    const auto* b = shapeOf(graph, node.inputs[1]);
    const auto* y = shapeOf(graph, node.outputs[0]);
    if (node.opType == "Conv") {
        if (!b || !y || b->size() < 2 || y->size() < 2) return 0;
        return knownProduct(*y, 1) * knownProduct(*b, 1);
    }
    if (node.opType == "ConvTranspose") {
        if (!a || !b || a->size() < 2 || b->size() < 2) return 0;
        return knownProduct(*a, 1) * knownProduct(*b, 1);
    }
    if (node.opType == "Gemm") {
        if (!a || !b || a->size() != 2 || b->size() != 2) return 0;
        bool transA = node.attrInt("transA", 0) != 0;
        bool transB = node.attrInt("transB", 0) != 0;
        int64_t m = transA ? (*a)[1] : (*a)[0];
        int64_t k = transA ? (*a)[0] : (*a)[1];
        int64_t n = transB ? (*b)[0] : (*b)[1];
        if (k <= 0 || n <= 0) return 0;
        return (m > 0 ? m : 1) * k * n;
    }
    if (node.opType == "MatMul") {
        if (!a || !y || a->empty()) return 0;
        int64_t k = a->back();
        if (k <= 0) return 0;
        return knownProduct(*y) * k;
    }
    return 0;
}

ModelSummary summarizeModel(const Graph& graph) {
    ModelSummary summary;
    std::set<std::string> counted;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        const Node& node = graph.nodes[i];
        int64_t macs = nodeMacs(graph, node);
        summary.totalMacs += macs;
        LayerInfo layer;
        layer.name = node.name;
        layer.op = node.opType;
        layer.nodeIndex = int(i);
        layer.macs = macs;
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
