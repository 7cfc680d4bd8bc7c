// Rewrite rule: DequantizeLinear(x codes) → Conv / MatMul / Gemm with weights DequantizeLinear(constant codes)
// (→ Relu / Clip) → QuantizeLinear becomes one int8 step on the codes (int8_linear.h), as ONNX Runtime's QDQ
// transformer turns the same chain into QLinearConv / QLinearMatMul. Applicable when the scales and zero points are
// constants (x and y per tensor; the weights per tensor or per output channel), a Conv/Gemm bias is constant
// (DequantizeLinear of int32 codes at x_scale · w_scale, or plain floats), Gemm has alpha = beta = 1 and no transA,
// and every value inside the chain has no reader outside it. The x DequantizeLinear step stays when something else
// reads its output.
#include <algorithm>
#include <cmath>

#include "core/runtime/execution_plan.h"
#include "core/runtime/kernels/int8_linear.h"

namespace lathe {

namespace {

// The constant codes, scale and zero point of a DequantizeLinear node whose inputs are all constants.
struct ConstantDequantize {
    const NDArray* codes = nullptr;
    const NDArray* scale = nullptr;
    const NDArray* zero = nullptr;  // null: 0
    int64_t axis = 1;
    bool codesSigned = false;
};

}  // namespace

bool quantizedCodesSigned(const Graph& graph, const std::string& zero, const std::string& codes) {
    for (const std::string& name : {zero, codes}) {
        const DType t = declaredType(graph, name);
        if (t != DType::Undefined) return t == DType::Int8;
    }
    return false;
}

std::optional<float> ExecutionPlan::scalarConstant(const PlanStep& step, size_t i, float fallback) const {
    if (i >= step.inputs.size() || step.inputs[i] < 0) return fallback;
    const NDArray* c = m_constants[size_t(step.inputs[i])].get();
    if (!c || c->numel() != 1) return std::nullopt;
    return c->data[0];
}

std::vector<PlanStep> ExecutionPlan::fuseQuantizedChains(const Graph& graph, const std::vector<PlanStep>& steps) {
    const ValueUse use = valueUse(steps);
    std::map<std::string, const Node*> producerNode;
    for (const Node& node : graph.nodes)
        for (const std::string& out : node.outputs) producerNode[out] = &node;
    auto constant = [&](const std::string& name) -> const NDArray* {
        auto it = m_valueIds.find(name);
        return name.empty() || it == m_valueIds.end() ? nullptr : m_constants[size_t(it->second)].get();
    };
    auto isSigned = [&](const std::string& zero, const std::string& codes) {
        return quantizedCodesSigned(graph, zero, codes);
    };
    auto constantDequantize = [&](const std::string& value) -> std::optional<ConstantDequantize> {
        auto it = producerNode.find(value);
        if (it == producerNode.end() || it->second->opType != "DequantizeLinear") return std::nullopt;
        const Node& dq = *it->second;
        ConstantDequantize d;
        d.codes = constant(dq.inputs[0]);
        d.scale = dq.inputs.size() > 1 ? constant(dq.inputs[1]) : nullptr;
        d.zero = dq.inputs.size() > 2 ? constant(dq.inputs[2]) : nullptr;
        if (!d.codes || !d.scale || (dq.inputs.size() > 2 && !dq.inputs[2].empty() && !d.zero)) return std::nullopt;
        d.axis = dq.attrInt("axis", 1);
        d.codesSigned = isSigned(dq.inputs.size() > 2 ? dq.inputs[2] : "", dq.inputs[0]);
        return d;
    };
    auto scalarInput = [&](const PlanStep& step, size_t i, float fallback) {
        return scalarConstant(step, i, fallback);
    };
    auto onlyReader = [&](int value) { return use.onlyReader(value); };

    std::vector<char> removed(steps.size(), 0);
    std::vector<PlanStep> result = steps;
    for (size_t s = 0; s < steps.size(); ++s) {
        const PlanStep& step = steps[s];
        const bool conv = step.opType == "Conv", gemm = step.opType == "Gemm";
        if ((!conv && !gemm && step.opType != "MatMul") || step.node < 0 || step.inputs.size() < 2 ||
            step.outputs.size() != 1)
            continue;
        const Node& node = graph.nodes[size_t(step.node)];
        if (gemm && (node.attrFloat("alpha", 1.f) != 1.f || node.attrFloat("beta", 1.f) != 1.f ||
                     node.attrInt("transA", 0) != 0))
            continue;
        // x: a run-time DequantizeLinear per tensor.
        const int xValue = step.inputs[0];
        if (xValue < 0 || use.producer[size_t(xValue)] < 0) continue;
        const PlanStep& dqx = steps[size_t(use.producer[size_t(xValue)])];
        if (dqx.opType != "DequantizeLinear" || dqx.inputs.empty() || dqx.inputs[0] < 0) continue;
        const std::optional<float> xScale = scalarInput(dqx, 1, 0.f), xZero = scalarInput(dqx, 2, 0.f);
        if (!xScale || !xZero || dqx.inputs.size() < 2) continue;
        // w: constant codes.
        const std::optional<ConstantDequantize> w = constantDequantize(node.inputs[1]);
        if (!w) continue;
        const int64_t wRank = w->codes->rank();
        const bool transB = gemm && node.attrInt("transB", 0) != 0;
        const int64_t channelAxis = conv ? 0 : transB ? 0 : 1;
        if ((!conv && wRank != 2) || (conv && wRank < 3)) continue;
        if (w->scale->numel() != 1 && (w->scale->rank() != 1 || (w->axis + wRank) % wRank != channelAxis ||
                                       w->scale->numel() != w->codes->shape[size_t(channelAxis)]))
            continue;
        // The chain after it: (Relu / Clip →) QuantizeLinear, each value read only inside the chain.
        int next = onlyReader(step.outputs[0]);
        std::vector<int> chain{int(s)};
        float low = -INFINITY, high = INFINITY;
        if (next >= 0 && (steps[size_t(next)].opType == "Relu" || steps[size_t(next)].opType == "Clip")) {
            std::optional<Epilogue> clamp = steps[size_t(next)].kernel->asEpilogue();
            if (!clamp || clamp->hasAffine() || steps[size_t(next)].outputs.size() != 1) continue;
            low = clamp->low, high = clamp->high;
            chain.push_back(next);
            next = onlyReader(steps[size_t(next)].outputs[0]);
        }
        if (next < 0 || steps[size_t(next)].opType != "QuantizeLinear") continue;
        const PlanStep& q = steps[size_t(next)];
        const std::optional<float> yScale = scalarInput(q, 1, 0.f), yZero = scalarInput(q, 2, 0.f);
        if (!yScale || !yZero || q.inputs.size() < 2 || q.outputs.size() != 1) continue;
        chain.push_back(next);

        Int8LinearParams p;
        p.xScale = *xScale;
        p.xZero = *xZero;
        const Node& dqxNode = graph.nodes[size_t(dqx.node)];
        p.xSigned = isSigned(dqxNode.inputs.size() > 2 ? dqxNode.inputs[2] : "", dqxNode.inputs[0]);
        p.weight = *w->codes;
        if (transB) {
            const int64_t rows = p.weight.shape[0], cols = p.weight.shape[1];
            NDArray t({cols, rows});
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t c = 0; c < cols; ++c) t.data[size_t(c * rows + r)] = p.weight.data[size_t(r * cols + c)];
            p.weight = std::move(t);
        }
        p.wScale = values(*w->scale);
        p.wZero = w->zero ? values(*w->zero) : std::vector<float>(p.wScale.size(), 0.f);
        p.wSigned = w->codesSigned;
        const Node& qNode = graph.nodes[size_t(q.node)];
        p.yScale = *yScale;
        p.yZero = *yZero;
        p.ySigned = isSigned(qNode.inputs.size() > 2 ? qNode.inputs[2] : "", qNode.outputs[0]);
        p.low = low;
        p.high = high;
        const int64_t channels = conv ? p.weight.shape[0] : p.weight.shape[1];
        if (node.inputs.size() > 2 && !node.inputs[2].empty()) {
            const NDArray* bias = constant(node.inputs[2]);
            if (!bias || bias->numel() != channels) continue;
            const std::optional<ConstantDequantize> b = constantDequantize(node.inputs[2]);
            bool codes =
                b && b->scale->numel() == int64_t(p.wScale.size() == 1 ? 1 : channels) &&
                (!b->zero || std::all_of(b->zero->data.begin(), b->zero->data.end(), [](float z) { return z == 0.f; }));
            for (int64_t c = 0; codes && c < b->scale->numel(); ++c)
                codes = b->scale->data[size_t(c)] == p.xScale * p.wScale[size_t(c)];
            if (codes)
                p.biasCodes = values(*b->codes);
            else
                p.biasReal = values(*bias);
        }
        auto kernel = conv ? makeInt8ConvKernel(node, std::move(p)) : makeInt8MatMulKernel(std::move(p));
        if (!kernel) continue;  // not applicable (codes out of range, ...): the float chain runs
        PlanStep fused;
        fused.node = step.node;
        fused.kernel = std::move(kernel.value());
        fused.inputs = {dqx.inputs[0]};
        fused.outputs = q.outputs;
        const bool dropDequantize = onlyReader(xValue) == int(s);
        fused.nodeName = dropDequantize ? dqx.nodeName + "+" : "";
        fused.opType = dropDequantize ? dqx.opType + "+" : "";
        for (size_t i = 0; i < chain.size(); ++i) {
            const PlanStep& part = steps[size_t(chain[i])];
            fused.nodeName += (i ? "+" : "") + part.nodeName;
            fused.opType += (i ? "+" : "") + part.opType;
            if (i + 1 < chain.size()) m_fusedAway[size_t(part.outputs[0])] = 1;
        }
        if (dropDequantize) {
            removed[size_t(use.producer[size_t(xValue)])] = 1;
            m_fusedAway[size_t(xValue)] = 1;
        }
        for (size_t i = 1; i < chain.size(); ++i) removed[size_t(chain[i])] = 1;
        result[s] = std::move(fused);
    }
    return withoutSteps(std::move(result), removed);
}

}  // namespace lathe
