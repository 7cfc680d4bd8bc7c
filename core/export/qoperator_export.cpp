// The QOperator export: integer ops for OpenCV DNN 4.6, which finds the parameters of a quantized tensor X_quantized
// only as the initializers X_scale and X_zero_point.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <set>

#include "core/compress/compressible_layer.h"
#include "core/export/export_util.h"
#include "core/export/onnx_export.h"

namespace lathe {

namespace {

bool isCodeOp(const Node& node) {
    static const std::set<std::string> ops = {"MaxPool", "Flatten", "Reshape", "Transpose",
                                              "Squeeze", "Unsqueeze", "Identity"};
    return (node.domain.empty() || node.domain == "ai.onnx") && ops.count(node.opType) && node.outputs.size() == 1 &&
           !node.inputs.empty();
}

struct Codes {
    std::string codes, scale, zeroPoint;
    ActivationRange params;
};

class QOperatorBuilder {
public:
    QOperatorBuilder(const CompressedModel& model, const ActivationRanges& ranges)
        : m_model(model), m_src(model.graph), m_ranges(ranges) {}

    Result<ExportGraph> build() {
        if (m_ranges.mode != ActivationMode::Static)
            return makeError(ErrorCode::InvalidArgument,
                             "activations.mode: the QOperator format (qop) needs static activation quantization "
                             "(\"activations\": {\"mode\": \"static\"}), got " +
                                 std::string(toString(m_ranges.mode)) + "; use --format qdq or float");
        if (m_ranges.bits != 8)
            return makeError(ErrorCode::InvalidArgument, "activations.bits: the QOperator format stores 8-bit "
                                                         "activations, got " + std::to_string(m_ranges.bits));
        if (m_src.opset < 10)
            return makeError(ErrorCode::Unsupported, "the QOperator format needs ONNX opset 10 (QLinearConv); the "
                                                     "model has opset " + std::to_string(m_src.opset));
        m_plan = planActivationQuant(m_src, ActivationMode::Static);
        m_out = m_src;
        m_out.nodes.clear();
        m_out.initializers.clear();
        m_float.insert(m_src.inputs.begin(), m_src.inputs.end());
        for (const Node& node : m_src.nodes) {
            if (m_skip.count(node.name)) continue;
            Status st = Ok{};
            const bool anchor = std::find(m_plan.anchors.begin(), m_plan.anchors.end(), node.name) !=
                                m_plan.anchors.end();
            const std::optional<std::string> why = anchor ? floatReason(node) : std::nullopt;
            if (anchor && !why) st = emitQLinear(node);
            else if (isCodeOp(node) && m_canonical.count(node.inputs[0])) st = emitCodeOp(node);
            else {
                if (anchor) m_notes.push_back("layer " + node.name + " runs in float in the QOperator file: " + *why);
                st = emitFloat(node);
            }
            if (!st) return st.error();
        }
        for (const auto& out : m_src.outputs)
            if (auto st = ensureFloat(out); !st) return st.error();
        ExportGraph result;
        result.graph = std::move(m_out);
        result.notes = std::move(m_notes);
        return result;
    }

private:
    bool taken(const std::string& s) const {
        auto in = [&](const Graph& g) {
            if (g.values.count(s) || g.initializers.count(s) || g.nodeIndex(s) >= 0) return true;
            return std::any_of(g.nodes.begin(), g.nodes.end(), [&](const Node& n) {
                return std::find(n.outputs.begin(), n.outputs.end(), s) != n.outputs.end();
            });
        };
        return in(m_out) || in(m_src);
    }

    // A base X whose X_quantized, X_scale and X_zero_point are all unused.
    std::string codeBase(const std::string& tensor) const {
        std::string base = tensor;
        for (int i = 2; taken(base + "_quantized") || taken(base + "_scale") || taken(base + "_zero_point"); ++i)
            base = tensor + "_" + std::to_string(i);
        return base;
    }

    // Declares base_quantized (uint8, shaped like `like`) with base_scale / base_zero_point initializers.
    Codes declareCodes(const std::string& base, const std::string& like, const ActivationRange& params) {
        Codes c{base + "_quantized", base + "_scale", base + "_zero_point", params};
        putInitializer(m_out, makeTensor(c.scale, DType::Float, {}, {params.scale}));
        putInitializer(m_out, makeTensor(c.zeroPoint, DType::UInt8, {}, {float(params.zeroPoint)}));
        declareValue(m_out, c.codes, like, DType::UInt8);
        return c;
    }

    Result<ActivationRange> paramsOf(const std::string& tensor) const {
        auto it = m_ranges.tensors.find(tensor);
        if (it == m_ranges.tensors.end())
            return makeError(ErrorCode::InvalidArgument,
                             "activation tensor '" + tensor + "' has no calibrated range; calibrate the model first");
        return it->second;
    }

    void useInitializer(const std::string& name) {
        if (m_out.initializers.count(name)) return;
        if (const Tensor* t = m_src.initializer(name)) putInitializer(m_out, *t);
    }

    // The float form of `tensor`: as computed, or dequantized from its codes.
    Status ensureFloat(const std::string& tensor) {
        if (tensor.empty() || m_float.count(tensor)) return Ok{};
        if (m_src.initializer(tensor)) {
            useInitializer(tensor);
            return Ok{};
        }
        auto it = m_codes.find(tensor);
        if (it == m_codes.end())
            return makeError(ErrorCode::Internal, "QOperator export: tensor '" + tensor + "' is not available");
        const Codes& c = it->second;
        m_out.nodes.push_back(makeNode(m_out, tensor + "_DequantizeLinear", "DequantizeLinear",
                                       {c.codes, c.scale, c.zeroPoint}, {tensor}));
        m_float.insert(tensor);
        return Ok{};
    }

    // The codes of `tensor`: existing ones, or QuantizeLinear of its float form `from` with its calibrated range.
    Result<Codes> ensureCodes(const std::string& tensor, const std::string& from) {
        if (auto it = m_codes.find(tensor); it != m_codes.end()) return it->second;
        auto params = paramsOf(tensor);
        if (!params) return params.error();
        if (auto st = ensureFloat(from); !st) return st.error();
        Codes c = declareCodes(codeBase(tensor), tensor, params.value());
        m_out.nodes.push_back(makeNode(m_out, tensor + "_QuantizeLinear", "QuantizeLinear",
                                       {from, c.scale, c.zeroPoint}, {c.codes}));
        m_codes[tensor] = c;
        return c;
    }

    // Why the anchor has to stay in float; nullopt when it can be an integer op.
    std::optional<std::string> floatReason(const Node& node) const {
        if (node.inputs.size() < 2) return "it has no weight input";
        auto q = m_model.quantized.find(node.inputs[1]);
        if (q == m_model.quantized.end())
            return m_model.codebooks.count(node.inputs[1]) ? "k-means shared weights have no integer codes"
                                                           : "its weights are not quantized (bits 32)";
        if (!q->second.symmetric) return "asymmetric weights (OpenCV ignores weight zero points; use \"symmetric\": true)";
        const int axis = q->second.axis;
        if (node.opType == "Conv") {
            if (axis > 0) return "its per-channel axis " + std::to_string(axis) + " is not the output channel";
        } else if (node.opType == "Gemm") {
            const bool hasBias = node.inputs.size() > 2 && !node.inputs[2].empty();
            if (node.attrInt("transA", 0) != 0 || node.attrFloat("alpha", 1.f) != 1.f ||
                (hasBias && node.attrFloat("beta", 1.f) != 1.f))
                return "Gemm with transA, alpha or beta other than the defaults";
            const bool transB = node.attrInt("transB", 0) != 0;
            if (axis >= 0 && axis != (transB ? 0 : 1)) return "its per-channel axis is not the output axis";
            if (hasBias) {
                const Tensor* bias = m_src.initializer(node.inputs[2]);
                const int64_t outputs = q->second.shape[transB ? 0 : 1];
                if (!bias || bias->numel() != outputs || bias->dtype != DType::Float)
                    return "its bias C is not a constant vector over its outputs";
            }
        } else if (node.opType == "MatMul") {
            if (q->second.shape.size() != 2 || (axis >= 0 && axis != 1))
                return "its weight is not a 2-D matrix quantized per tensor or per column";
        } else {
            return "op " + node.opType + " has no QOperator form";
        }
        const std::string out = outputPoint(node);
        auto params = m_ranges.tensors.find(out);
        if (params == m_ranges.tensors.end()) return "its output '" + out + "' has no calibrated range";
        if (m_plan.fusedActivation.count(node.name) && params->second.zeroPoint != 0)
            return "its Relu/Clip cannot be fused (the output zero point is not 0)";
        return std::nullopt;
    }

    // The anchor's quantized output: its own, or that of the Relu/Clip fused into it.
    std::string outputPoint(const Node& node) const {
        auto fused = m_plan.fusedActivation.find(node.name);
        if (fused == m_plan.fusedActivation.end()) return node.outputs[0];
        return m_src.nodes[size_t(m_src.nodeIndex(fused->second))].outputs[0];
    }

    // Weight codes as [N, C/group, k...] (Conv, Gemm as 1×1) or [K, N] (MatMul) with scales per output channel.
    struct IntegerWeight {
        std::string codes, scale, zeroPoint;
        std::vector<float> scales;
    };

    IntegerWeight integerWeight(const Node& node) {
        QuantizedTensor q = m_model.quantized.at(node.inputs[1]);
        if (node.opType == "Gemm") {
            if (node.attrInt("transB", 0) == 0) {  // [K, N] → [N, K]
                const int64_t k = q.shape[0], n = q.shape[1];
                std::vector<int32_t> codes(q.codes.size());
                for (int64_t i = 0; i < k; ++i)
                    for (int64_t j = 0; j < n; ++j) codes[size_t(j * k + i)] = q.codes[size_t(i * n + j)];
                q.codes = std::move(codes);
                q.shape = {n, k};
                if (q.axis >= 0) q.axis = 0;
            }
            q.shape = {q.shape[0], q.shape[1], 1, 1};
        }
        QuantizedInitializers qi = quantizedInitializers(m_out, q);
        IntegerWeight w{qi.codesName, qi.scaleName, qi.zeroPointName, q.scales};
        putInitializer(m_out, std::move(qi.codes));
        putInitializer(m_out, std::move(qi.scale));
        putInitializer(m_out, std::move(qi.zeroPoint));
        return w;
    }

    // int32 bias at scale x_scale · w_scale[c] (zero point 0), as QLinearConv requires.
    std::string integerBias(const std::string& bias, float xScale, const std::vector<float>& wScales) {
        const Tensor& b = *m_src.initializer(bias);
        std::vector<float> values(b.data.size());
        for (size_t c = 0; c < values.size(); ++c) {
            const double step = double(xScale) * double(wScales[wScales.size() == 1 ? 0 : c]);
            const double v = std::nearbyint(double(b.data[c]) / step);
            values[c] = float(std::clamp(v, -2147483648.0, 2147483647.0));
        }
        const std::string name = uniqueValueName(m_out, bias + "_quantized");
        Tensor t = makeTensor(name, DType::Int32, {int64_t(values.size())}, values);
        for (size_t c = 0; c < values.size(); ++c) t.ints[c] = int64_t(double(values[c]));
        putInitializer(m_out, std::move(t));
        return name;
    }

    std::string reshapeConstant(const std::string& base, std::vector<int64_t> shape) {
        const std::string name = uniqueValueName(m_out, base);
        std::vector<float> values(shape.begin(), shape.end());
        putInitializer(m_out, makeTensor(name, DType::Int64, {int64_t(shape.size())}, values));
        return name;
    }

    Status emitQLinear(const Node& node) {
        const std::string& x = node.inputs[0];
        auto xc = ensureCodes(x, x);
        if (!xc) return xc.error();
        const std::string out = outputPoint(node);
        if (auto fused = m_plan.fusedActivation.find(node.name); fused != m_plan.fusedActivation.end())
            m_skip.insert(fused->second);
        auto yParams = paramsOf(out);
        if (!yParams) return yParams.error();
        const IntegerWeight w = integerWeight(node);
        const Codes& in = xc.value();
        if (node.opType == "MatMul") {
            Codes y = declareCodes(codeBase(out), out, yParams.value());
            Node q = makeNode(m_out, node.name, "QLinearMatMul",
                              {in.codes, in.scale, in.zeroPoint, w.codes, w.scale, w.zeroPoint, y.scale, y.zeroPoint},
                              {y.codes});
            m_out.nodes.push_back(std::move(q));
            return finishCodes(out, y);
        }
        std::string bias;
        if (node.inputs.size() > 2 && !node.inputs[2].empty())
            bias = integerBias(node.inputs[2], in.params.scale, w.scales);
        if (node.opType == "Conv") {
            Codes y = declareCodes(codeBase(out), out, yParams.value());
            Node q = makeNode(m_out, node.name, "QLinearConv",
                              {in.codes, in.scale, in.zeroPoint, w.codes, w.scale, w.zeroPoint, y.scale, y.zeroPoint},
                              {y.codes});
            if (!bias.empty()) q.inputs.push_back(bias);
            q.attributes = node.attributes;
            m_out.nodes.push_back(std::move(q));
            return finishCodes(out, y);
        }
        // Gemm: [N, K] → [N, K, 1, 1] → 1×1 QLinearConv → [N, M].
        Codes x4 = declareCodes(codeBase(x + "_nchw"), x, in.params);
        m_out.nodes.push_back(makeNode(m_out, node.name + "_to_nchw", "Reshape",
                                       {in.codes, reshapeConstant(node.name + "_nchw_shape", {0, -1, 1, 1})},
                                       {x4.codes}));
        Codes y4 = declareCodes(codeBase(out + "_nchw"), out, yParams.value());
        Node q = makeNode(m_out, node.name, "QLinearConv",
                          {x4.codes, x4.scale, x4.zeroPoint, w.codes, w.scale, w.zeroPoint, y4.scale, y4.zeroPoint},
                          {y4.codes});
        if (!bias.empty()) q.inputs.push_back(bias);
        q.attributes["kernel_shape"] = intsAttribute({1, 1});
        m_out.nodes.push_back(std::move(q));
        Codes y = declareCodes(codeBase(out), out, yParams.value());
        m_out.nodes.push_back(makeNode(m_out, node.name + "_from_nchw", "Reshape",
                                       {y4.codes, reshapeConstant(node.name + "_flat_shape", {0, -1})}, {y.codes}));
        return finishCodes(out, y);
    }

    Status finishCodes(const std::string& tensor, const Codes& codes) {
        m_codes[tensor] = codes;
        m_canonical.insert(tensor);
        return Ok{};
    }

    Status emitCodeOp(const Node& node) {
        const Codes& in = m_codes.at(node.inputs[0]);
        Node n = node;
        n.inputs[0] = in.codes;
        for (size_t i = 1; i < n.inputs.size(); ++i)
            if (auto st = ensureFloat(n.inputs[i]); !st) return st;
        const std::string& out = node.outputs[0];
        Codes y = declareCodes(codeBase(out), out, in.params);
        n.outputs[0] = y.codes;
        m_out.nodes.push_back(std::move(n));
        return finishCodes(out, y);
    }

    Status emitFloat(const Node& node) {
        Node n = node;
        for (const auto& in : n.inputs)
            if (auto st = ensureFloat(in); !st) return st;
        std::vector<std::string> quantizeAfter;
        for (auto& out : n.outputs) {
            if (out.empty()) continue;
            if (m_plan.isOutputPoint(out)) {  // every reader sees codes, as in the fake-quantized graph
                const std::string original = out;
                out = uniqueValueName(m_out, original + "_float");
                declareValue(m_out, out, original, DType::Float);
                m_float.insert(out);
                quantizeAfter.push_back(original);
                m_renamed[original] = out;
            } else {
                m_float.insert(out);
            }
        }
        m_out.nodes.push_back(std::move(n));
        for (const auto& t : quantizeAfter) {
            auto c = ensureCodes(t, m_renamed.at(t));
            if (!c) return c.error();
            m_canonical.insert(t);
        }
        return Ok{};
    }

    const CompressedModel& m_model;
    const Graph& m_src;
    const ActivationRanges& m_ranges;
    ActivationPlan m_plan;
    Graph m_out;
    std::map<std::string, Codes> m_codes;  // float tensor name → its codes
    std::set<std::string> m_canonical;     // tensors every reader sees as codes
    std::set<std::string> m_float;         // tensors available in float under their own name
    std::map<std::string, std::string> m_renamed;
    std::set<std::string> m_skip;  // Relu nodes fused into the op before them
    std::vector<std::string> m_notes;
};

}  // namespace

Result<ExportGraph> buildQOperatorGraph(const CompressedModel& model, const ActivationRanges& activations) {
    return QOperatorBuilder(model, activations).build();
}

}  // namespace lathe
