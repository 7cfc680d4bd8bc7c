#include "core/model/model_summary.h"

#include <algorithm>
#include <map>
#include <set>

namespace lathe {

namespace {

// A value's dims, with which unknown dims are symbolic (named, such as the batch).
struct ShapeRef {
    const std::vector<int64_t>* dims = nullptr;
    const std::vector<std::string>* params = nullptr;

    explicit operator bool() const { return dims != nullptr; }
    const std::vector<int64_t>& operator*() const { return *dims; }
    const std::vector<int64_t>* operator->() const { return dims; }
};

ShapeRef shapeOf(const Graph& graph, const std::string& name) {
    if (const Tensor* t = graph.initializer(name)) return {&t->shape, nullptr};
    const ValueInfo* v = graph.value(name);
    return v && v->hasShape ? ShapeRef{&v->shape, &v->dimParams} : ShapeRef{};
}

// Product of the dims from `first` on, per sample: an unknown dim counts as 1 when it is the leading (batch) dim or
// a named one; nullopt when any other dim is unknown.
// Product of two counts; nullopt (unknown) when it does not fit in 64 bits, as a corrupt shape can make it.
std::optional<int64_t> multiply(std::optional<int64_t> a, std::optional<int64_t> b) {
    int64_t product = 0;
    if (!a || !b || __builtin_mul_overflow(*a, *b, &product)) return std::nullopt;
    return product;
}

std::optional<int64_t> perSample(const ShapeRef& shape, size_t first = 0) {
    std::optional<int64_t> n = 1;
    for (size_t i = first; i < shape->size() && n; ++i) {
        const int64_t d = (*shape)[i];
        if (d >= 0) {
            n = multiply(n, d);
            continue;
        }
        const bool named = shape.params && i < shape.params->size() && !(*shape.params)[i].empty();
        if (i != 0 && !named) return std::nullopt;
    }
    return n;
}

// Einsum: one multiply-accumulate per combination of all subscripts (ellipsis dims broadcast, right-aligned).
std::optional<int64_t> einsumMacs(const Graph& graph, const Node& node) {
    std::string equation;
    for (char c : node.attrString("equation"))
        if (c != ' ') equation += c;
    const std::string lhs = equation.substr(0, equation.find("->"));
    std::map<char, int64_t> sizes;
    std::vector<int64_t> ellipsis;
    size_t start = 0;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
        const size_t comma = lhs.find(',', start);
        const std::string term = lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        start = comma == std::string::npos ? lhs.size() : comma + 1;
        const ShapeRef shape = shapeOf(graph, node.inputs[i]);
        if (!shape) return std::nullopt;
        const size_t dots = term.find("...");
        const size_t letters = term.size() - (dots == std::string::npos ? 0 : 3);
        if (shape->size() < letters) return std::nullopt;
        const size_t own = shape->size() - letters;
        size_t d = 0;
        for (size_t c = 0; c < term.size(); ++c) {
            if (c == dots) {
                if (ellipsis.size() < own) ellipsis.insert(ellipsis.begin(), own - ellipsis.size(), 1);
                for (size_t e = 0; e < own; ++e, ++d) {
                    int64_t& slot = ellipsis[ellipsis.size() - own + e];
                    if ((*shape)[d] < 0 && d != 0) return std::nullopt;
                    slot = std::max(slot, (*shape)[d] < 0 ? int64_t(1) : (*shape)[d]);
                }
                c += 2;
                continue;
            }
            if ((*shape)[d] < 0 && d != 0) return std::nullopt;
            int64_t& size = sizes[term[c]];
            size = std::max(size, (*shape)[d] < 0 ? int64_t(1) : (*shape)[d]);
            ++d;
        }
    }
    std::optional<int64_t> macs = 1;
    for (const auto& [letter, size] : sizes) macs = multiply(macs, size);
    for (int64_t size : ellipsis) macs = multiply(macs, size);
    return macs;
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
    const bool counted = conv || matmul || op == "ConvTranspose" || op == "Gemm" || recurrent || op == "Einsum";
    bool hasWeights = false;
    for (size_t i = 1; i < node.inputs.size(); ++i)
        if (const Tensor* t = node.inputs[i].empty() ? nullptr : graph.initializer(node.inputs[i]))
            hasWeights = hasWeights || (isWeightTensor(*t) && t->numel() > 1);
    if (!counted) return hasWeights && !isWeightFreeOp(op) ? std::nullopt : std::optional<int64_t>(0);
    if (op == "Einsum") return node.inputs.size() >= 2 ? einsumMacs(graph, node) : std::optional<int64_t>(0);
    if (node.inputs.size() < (recurrent ? 3u : 2u) || node.outputs.empty()) return std::nullopt;
    const ShapeRef a = shapeOf(graph, node.inputs[0]);
    // QLinearConv's weight is its fourth input (x, x_scale, x_zero_point, w, …).
    const size_t weightInput = op == "QLinearConv" ? 3 : 1;
    if (node.inputs.size() <= weightInput) return std::nullopt;
    const ShapeRef b = shapeOf(graph, node.inputs[weightInput]);
    const ShapeRef y = shapeOf(graph, node.outputs[0]);
    if (recurrent) {
        // X is [seq, batch, input] (layout 0) or [batch, seq, input]; each step multiplies by W and R once.
        const ShapeRef r = shapeOf(graph, node.inputs[2]);
        const size_t seqAxis = node.attrInt("layout", 0) == 0 ? 0 : 1;
        if (!a || !b || !r || a->size() != 3 || (*a)[seqAxis] <= 0) return std::nullopt;
        const auto weights = perSample(b), recurrence = perSample(r);
        if (!weights || !recurrence) return std::nullopt;
        int64_t perStep = 0;
        if (__builtin_add_overflow(*weights, *recurrence, &perStep)) return std::nullopt;
        return multiply((*a)[seqAxis], perStep);
    }
    if (conv) {
        if (!b || !y || b->size() < 2 || y->size() < 2) return std::nullopt;
        return multiply(perSample(y, 1), perSample(b, 1));
    }
    if (op == "ConvTranspose") {
        if (!a || !b || a->size() < 2 || b->size() < 2) return std::nullopt;
        return multiply(perSample(a, 1), perSample(b, 1));
    }
    if (op == "Gemm") {
        if (!a || !b || a->size() != 2 || b->size() != 2) return std::nullopt;
        bool transA = node.attrInt("transA", 0) != 0;
        bool transB = node.attrInt("transB", 0) != 0;
        int64_t m = transA ? (*a)[1] : (*a)[0];
        int64_t k = transA ? (*a)[0] : (*a)[1];
        int64_t n = transB ? (*b)[0] : (*b)[1];
        if (k <= 0 || n <= 0) return std::nullopt;
        return multiply(multiply(m > 0 ? m : 1, k), n);
    }
    // MatMul (also of two activations, as in attention): one multiply-accumulate per output element and depth step.
    if (!a || !y || a->empty()) return std::nullopt;
    int64_t k = a->back();
    if (k <= 0) return std::nullopt;
    return multiply(perSample(y), k);
}

ModelSummary summarizeModel(const Graph& graph) {
    ModelSummary summary;
    std::set<std::string> counted;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        const Node& node = graph.nodes[i];
        std::optional<int64_t> macs = nodeMacs(graph, node);
        int64_t total = 0;
        if (macs && __builtin_add_overflow(summary.totalMacs, *macs, &total)) macs.reset();  // unknown, not wrapped
        if (macs) summary.totalMacs = total;
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
