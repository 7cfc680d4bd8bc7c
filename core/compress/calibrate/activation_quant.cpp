#include "core/compress/calibrate/activation_quant.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "core/compress/compressible_layer.h"

namespace lathe {

namespace {

bool isDefaultDomain(const Node& node) { return node.domain.empty() || node.domain == "ai.onnx"; }

// Values known before the graph runs: initializers and Constant outputs.
std::set<std::string> constantValues(const Graph& graph) {
    std::set<std::string> constants;
    for (const auto& [name, t] : graph.initializers) constants.insert(name);
    for (const Node& n : graph.nodes)
        if (n.opType == "Constant")
            for (const auto& out : n.outputs) constants.insert(out);
    return constants;
}

// The data inputs of an anchor (inputs that carry activations): X of Conv, A (and a computed B) of Gemm/MatMul.
std::vector<std::string> dataInputs(const Node& node, const std::set<std::string>& constants) {
    std::vector<std::string> inputs;
    const size_t count = node.opType == "Conv" ? 1 : 2;
    for (size_t i = 0; i < count && i < node.inputs.size(); ++i)
        if (!node.inputs[i].empty() && !constants.count(node.inputs[i])) inputs.push_back(node.inputs[i]);
    return inputs;
}

// Relu, or a Clip with constant bounds min = 0 <= max (ReLU6): an int8 kernel clamps its output codes to that range, so
// the activation fuses into the layer before the output is quantized.
bool isReluLike(const Graph& graph, const Node& node) {
    if (!isDefaultDomain(node) || node.outputs.empty() || node.inputs.empty()) return false;
    if (node.opType == "Relu") return true;
    if (node.opType != "Clip") return false;
    const auto range = clipRange(graph, node);
    return range && range->first == 0.f && range->second >= 0.f;
}

bool isAnchor(const Node& node, const std::set<std::string>& constants) {
    if (!isDefaultDomain(node) || node.inputs.empty()) return false;
    if (node.opType != "Conv" && node.opType != "Gemm" && node.opType != "MatMul") return false;
    return !node.inputs[0].empty() && !constants.count(node.inputs[0]);
}

Tensor scalarTensor(const std::string& name, DType dtype, float value) {
    Tensor t;
    t.name = name;
    t.dtype = dtype;
    t.data = {value};
    if (isIntegerType(dtype)) t.ints = {int64_t(value)};
    return t;
}

Node makeNode(const Graph& graph, const std::string& name, const std::string& op, std::vector<std::string> inputs,
              std::vector<std::string> outputs) {
    Node n;
    n.name = uniqueName(graph, name);
    n.opType = op;
    n.inputs = std::move(inputs);
    n.outputs = std::move(outputs);
    return n;
}

// Inserts the nodes queued per producer index (-1: before every node) right after their producer.
void insertAfterProducers(Graph& graph, std::map<int, std::vector<Node>>& queued) {
    std::vector<Node> nodes;
    nodes.reserve(graph.nodes.size() + 4 * queued.size());
    auto flush = [&](int index) {
        auto it = queued.find(index);
        if (it == queued.end()) return;
        for (Node& n : it->second) nodes.push_back(std::move(n));
    };
    flush(-1);
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        nodes.push_back(std::move(graph.nodes[i]));
        flush(int(i));
    }
    graph.nodes = std::move(nodes);
}

}  // namespace

std::optional<std::pair<float, float>> clipRange(const Graph& graph, const Node& clip) {
    auto bound = [&](size_t input, const char* attribute, float absent) -> std::optional<float> {
        if (clip.attribute(attribute)) return clip.attrFloat(attribute, absent);
        if (clip.inputs.size() <= input || clip.inputs[input].empty()) return absent;
        const Tensor* t = graph.initializer(clip.inputs[input]);
        if (!t) {
            const int producer = graph.producerOf(clip.inputs[input]);
            if (producer < 0 || graph.nodes[size_t(producer)].opType != "Constant") return std::nullopt;
            const Attribute* a = graph.nodes[size_t(producer)].attribute("value");
            t = a && a->tensor ? a->tensor.get() : nullptr;
        }
        if (!t || t->dtype != DType::Float || t->data.size() != 1) return std::nullopt;
        return t->data[0];
    };
    const auto low = bound(1, "min", -std::numeric_limits<float>::infinity());
    const auto high = bound(2, "max", std::numeric_limits<float>::infinity());
    if (!low || !high) return std::nullopt;
    return std::make_pair(*low, *high);
}

bool isGridPreservingOp(const std::string& opType) {
    static const std::set<std::string> ops = {"MaxPool", "Relu",      "Flatten",  "Reshape", "Transpose",
                                              "Squeeze", "Unsqueeze", "Identity", "Dropout"};
    return ops.count(opType) > 0;
}

bool ActivationPlan::isOutputPoint(const std::string& tensor) const {
    return std::find(outputPoints.begin(), outputPoints.end(), tensor) != outputPoints.end();
}

std::vector<std::string> ActivationPlan::sources() const {
    std::vector<std::string> out;
    for (const auto& p : points)
        if (!shared.count(p)) out.push_back(p);
    return out;
}

ActivationPlan planActivationQuant(const Graph& graph, ActivationMode mode) {
    ActivationPlan plan;
    if (mode == ActivationMode::None) return plan;
    const std::set<std::string> constants = constantValues(graph);
    std::set<std::string> seen;
    auto addPoint = [&](const std::string& t) {
        if (seen.insert(t).second) plan.points.push_back(t);
    };
    for (const Node& node : graph.nodes) {
        if (!isAnchor(node, constants)) continue;
        plan.anchors.push_back(node.name);
        for (const auto& in : dataInputs(node, constants)) addPoint(in);
        if (mode != ActivationMode::Static || node.outputs.empty()) continue;
        std::string out = node.outputs[0];
        const std::vector<int> readers = graph.consumersOf(out);
        const bool isGraphOutput = std::find(graph.outputs.begin(), graph.outputs.end(), out) != graph.outputs.end();
        if (readers.size() == 1 && !isGraphOutput) {
            const Node& reader = graph.nodes[size_t(readers[0])];
            if (isReluLike(graph, reader)) {
                plan.fusedActivation[node.name] = reader.name;
                out = reader.outputs[0];
            }
        }
        addPoint(out);
        if (!plan.isOutputPoint(out)) plan.outputPoints.push_back(out);
    }
    // Inputs reached from an anchor output through grid-preserving ops share its parameters.
    for (const auto& p : plan.points) {
        if (plan.isOutputPoint(p)) continue;
        std::string t = p;
        for (int guard = 0; guard < int(graph.nodes.size()); ++guard) {
            const int producer = graph.producerOf(t);
            if (producer < 0) break;
            const Node& n = graph.nodes[size_t(producer)];
            if (!isGridPreservingOp(n.opType) || !isDefaultDomain(n) || n.inputs.empty()) break;
            t = n.inputs[0];
            if (plan.isOutputPoint(t)) {
                plan.shared[p] = t;
                break;
            }
        }
    }
    // Points in node order (inputs before the outputs of the same anchor already).
    return plan;
}

ActivationRange activationParams(float lo, float hi, int bits) {
    ActivationRange r;
    r.min = std::min(lo, 0.f);
    r.max = std::max(hi, 0.f);
    const float qmax = float((1 << bits) - 1);
    r.scale = (r.max - r.min) / qmax;
    if (!(r.scale > 0.f) || !std::isfinite(r.scale)) {
        r.scale = 1.f;
        r.zeroPoint = 0;
        return r;
    }
    r.zeroPoint = int32_t(std::clamp(std::nearbyint(-r.min / r.scale), 0.f, qmax));
    return r;
}

namespace {

// b ← round(b / (x_scale·w_scale[c]))·x_scale·w_scale[c] for the anchors with integer weights and a bias of their own.
void roundBiases(Graph& g, const ActivationPlan& plan, const ActivationRanges& ranges,
                 const std::map<std::string, QuantizedTensor>& weights) {
    for (const auto& name : plan.anchors) {
        const Node& node = g.nodes[size_t(g.nodeIndex(name))];
        if ((node.opType != "Conv" && node.opType != "Gemm") || node.inputs.size() < 3 || node.inputs[2].empty())
            continue;
        auto w = weights.find(node.inputs[1]);
        auto x = ranges.tensors.find(node.inputs[0]);
        auto b = g.initializers.find(node.inputs[2]);
        if (w == weights.end() || x == ranges.tensors.end() || b == g.initializers.end()) continue;
        Tensor& bias = b->second;
        const std::vector<float>& scales = w->second.scales;
        if (bias.dtype != DType::Float || useCount(g, bias.name) != 1 || scales.empty() ||
            (scales.size() != 1 && scales.size() != bias.data.size()))
            continue;
        for (size_t c = 0; c < bias.data.size(); ++c) {
            const double step = double(x->second.scale) * double(scales[scales.size() == 1 ? 0 : c]);
            const double q = std::clamp(std::nearbyint(double(bias.data[c]) / step), -2147483648.0, 2147483647.0);
            bias.data[c] = float(q * step);
        }
    }
}

}  // namespace

Result<Graph> withActivationFakeQuant(const Graph& source, const ActivationRanges& ranges,
                                      const std::map<std::string, QuantizedTensor>& weights) {
    Graph g = source;
    g.sourcePath.clear();  // no longer the graph of that file: a file-reading backend must not run it
    if (ranges.mode == ActivationMode::None) return g;
    const ActivationPlan plan = planActivationQuant(g, ranges.mode);
    std::set<std::string> anchorSet(plan.anchors.begin(), plan.anchors.end());
    std::map<int, std::vector<Node>> queued;
    // Anchors reading `tensor` as a data input get `replacement` instead.
    auto rewireAnchors = [&](const std::string& tensor, const std::string& replacement) {
        for (Node& n : g.nodes) {
            if (!anchorSet.count(n.name)) continue;
            const size_t count = n.opType == "Conv" ? 1 : 2;
            for (size_t i = 0; i < count && i < n.inputs.size(); ++i)
                if (n.inputs[i] == tensor) n.inputs[i] = replacement;
        }
    };

    if (ranges.mode == ActivationMode::Dynamic) {
        if (ranges.bits != 8)
            return makeError(ErrorCode::InvalidArgument,
                             "activations.bits: dynamic quantization (DynamicQuantizeLinear) is 8-bit only, got " +
                                 std::to_string(ranges.bits) + "; use static mode for other bit-widths");
        if (g.opset < 11)
            return makeError(ErrorCode::Unsupported,
                             "activations.mode: dynamic quantization needs ONNX opset 11 "
                             "(DynamicQuantizeLinear); the model has opset " +
                                 std::to_string(g.opset));
        for (const auto& t : plan.points) {
            const std::string q = uniqueValueName(g, t + "_dynamic_quantized");
            const std::string scale = uniqueValueName(g, t + "_dynamic_scale");
            const std::string zero = uniqueValueName(g, t + "_dynamic_zero_point");
            const std::string deq = uniqueValueName(g, t + "_dynamic_dequantized");
            declareValue(g, q, t, DType::UInt8);
            g.values[scale] = ValueInfo{scale, DType::Float, true, {}, {}};
            g.values[zero] = ValueInfo{zero, DType::UInt8, true, {}, {}};
            declareValue(g, deq, t, DType::Float);
            auto& list = queued[g.producerOf(t)];
            list.push_back(makeNode(g, t + "_DynamicQuantizeLinear", "DynamicQuantizeLinear", {t}, {q, scale, zero}));
            list.push_back(makeNode(g, t + "_DequantizeLinear", "DequantizeLinear", {q, scale, zero}, {deq}));
            rewireAnchors(t, deq);
        }
        insertAfterProducers(g, queued);
        return g;
    }

    if (ranges.bits < 2 || ranges.bits > 8)
        return makeError(ErrorCode::InvalidArgument,
                         "activations.bits: " + std::to_string(ranges.bits) + " is not a valid bit-width (2–8)");
    if (g.opset < 10 || (ranges.bits < 8 && g.opset < 12))
        return makeError(
            ErrorCode::Unsupported,
            "activations.mode: static quantization needs ONNX opset " +
                std::string(ranges.bits < 8 ? "12 (QuantizeLinear + an integer Clip)" : "10 (QuantizeLinear)") +
                "; the model has opset " + std::to_string(g.opset));
    roundBiases(g, plan, ranges, weights);
    for (const auto& t : plan.sources()) {
        auto it = ranges.tensors.find(t);
        if (it == ranges.tensors.end())
            return makeError(ErrorCode::InvalidArgument,
                             "activation tensor '" + t + "' has no calibrated range; calibrate the model first");
        const ActivationRange& r = it->second;
        const std::string scale = uniqueValueName(g, t + "_scale");
        putInitializer(g, scalarTensor(scale, DType::Float, r.scale));
        const std::string zero = uniqueValueName(g, t + "_zero_point");
        putInitializer(g, scalarTensor(zero, DType::UInt8, float(r.zeroPoint)));
        const int producer = g.producerOf(t);
        const bool everyReader = plan.isOutputPoint(t) && producer >= 0;
        std::string input = t, output = t;
        if (everyReader) {
            input = uniqueValueName(g, t + "_float");
            declareValue(g, input, t, DType::Float);
            for (auto& out : g.nodes[size_t(producer)].outputs)
                if (out == t) out = input;
        } else {
            output = uniqueValueName(g, t + "_fake_quantized");
            declareValue(g, output, t, DType::Float);
        }
        std::string codes = uniqueValueName(g, t + "_quantized");
        declareValue(g, codes, t, DType::UInt8);
        auto& list = queued[producer];
        list.push_back(makeNode(g, t + "_QuantizeLinear", "QuantizeLinear", {input, scale, zero}, {codes}));
        if (ranges.bits < 8) {
            const std::string low = uniqueValueName(g, t + "_code_min");
            const std::string high = uniqueValueName(g, t + "_code_max");
            putInitializer(g, scalarTensor(low, DType::UInt8, 0.f));
            putInitializer(g, scalarTensor(high, DType::UInt8, float((1 << ranges.bits) - 1)));
            const std::string clipped = uniqueValueName(g, t + "_quantized_clipped");
            declareValue(g, clipped, t, DType::UInt8);
            list.push_back(makeNode(g, t + "_Clip", "Clip", {codes, low, high}, {clipped}));
            codes = clipped;
        }
        list.push_back(makeNode(g, t + "_DequantizeLinear", "DequantizeLinear", {codes, scale, zero}, {output}));
        if (!everyReader) rewireAnchors(t, output);
    }
    insertAfterProducers(g, queued);
    return g;
}

nlohmann::json activationRangesToJson(const ActivationRanges& ranges) {
    nlohmann::json tensors = nlohmann::json::object();
    for (const auto& [name, r] : ranges.tensors) {
        nlohmann::json t = {{"min", r.min}, {"max", r.max}, {"scale", r.scale}, {"zero_point", r.zeroPoint}};
        if (!r.source.empty()) t["source"] = r.source;
        tensors[name] = std::move(t);
    }
    nlohmann::json j = {{"mode", toString(ranges.mode)}, {"bits", ranges.bits}};
    if (ranges.mode == ActivationMode::Static) {
        j["calibration"] = toString(ranges.calibration);
        if (ranges.calibration == Calibration::Percentile) j["percentile"] = ranges.percentile;
        j["samples"] = ranges.samples;
        if (!ranges.bounded.empty()) j["bounded"] = ranges.bounded;
        if (ranges.calibrationTop1 >= 0)
            j["check"] = {{"calibration_top1", ranges.calibrationTop1}, {"minmax_top1", ranges.minMaxTop1}};
        if (!ranges.warnings.empty()) j["warnings"] = ranges.warnings;
        j["tensors"] = std::move(tensors);
    }
    return j;
}

}  // namespace lathe
