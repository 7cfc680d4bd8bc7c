// Rewrite rule: DequantizeLinear(a) + DequantizeLinear(b) (→ Relu / Clip) → QuantizeLinear, the QDQ form of a residual
// Add, becomes one step on the codes (kernels/quantized_add.h), as ONNX Runtime's QDQ transformer makes it a
// QLinearAdd. Applicable when both DequantizeLinear steps and the QuantizeLinear have one-element constant scales and
// zero points and every value after the Add has no reader outside the chain. A DequantizeLinear step stays when
// something else reads its output.
#include "core/runtime/execution_plan.h"
#include "core/runtime/kernels/quantized_add.h"

namespace lathe {

std::vector<PlanStep> ExecutionPlan::fuseQuantizedAdds(const Graph& graph, std::vector<PlanStep> steps) {
    const ValueUse use = valueUse(steps);
    std::vector<char> absorbed(steps.size(), 0);
    for (size_t s = 0; s < steps.size(); ++s) {
        const PlanStep& add = steps[s];
        if (add.opType != "Add" || add.inputs.size() != 2 || add.outputs.size() != 1) continue;
        // Both operands: per-tensor DequantizeLinear steps.
        int dq[2] = {-1, -1};
        float scale[2] = {}, zero[2] = {};
        for (int i = 0; i < 2; ++i) {
            const int value = add.inputs[size_t(i)];
            dq[i] = value < 0 ? -1 : use.producer[size_t(value)];
            if (dq[i] < 0) break;
            const PlanStep& step = steps[size_t(dq[i])];
            const std::optional<float> sc = scalarConstant(step, 1, 0.f), z = scalarConstant(step, 2, 0.f);
            if (step.opType != "DequantizeLinear" || step.inputs.size() < 2 || step.inputs[0] < 0 || !sc || !z) {
                dq[i] = -1;
                break;
            }
            scale[i] = *sc;
            zero[i] = *z;
        }
        if (dq[0] < 0 || dq[1] < 0) continue;
        // After it: (Relu / Clip →) QuantizeLinear, each value read only inside the chain.
        std::vector<int> chain;
        QuantizedAddParams p{scale[0], zero[0], scale[1], zero[1]};
        int next = use.onlyReader(add.outputs[0]);
        if (next >= 0 && (steps[size_t(next)].opType == "Relu" || steps[size_t(next)].opType == "Clip")) {
            const std::optional<Epilogue> clamp = steps[size_t(next)].kernel->asEpilogue();
            if (!clamp || clamp->hasAffine() || clamp->silu || steps[size_t(next)].outputs.size() != 1) continue;
            p.low = clamp->low;
            p.high = clamp->high;
            chain.push_back(next);
            next = use.onlyReader(steps[size_t(next)].outputs[0]);
        }
        if (next < 0 || steps[size_t(next)].opType != "QuantizeLinear") continue;
        const PlanStep& q = steps[size_t(next)];
        const std::optional<float> yScale = scalarConstant(q, 1, 0.f), yZero = scalarConstant(q, 2, 0.f);
        if (!yScale || !yZero || q.inputs.size() < 2 || q.outputs.size() != 1 || q.node < 0) continue;
        chain.push_back(next);
        const Node& qNode = graph.nodes[size_t(q.node)];
        const bool ySigned =
            quantizedCodesSigned(graph, qNode.inputs.size() > 2 ? qNode.inputs[2] : "", qNode.outputs[0]);
        p.yScale = *yScale;
        p.yZero = *yZero;
        p.codeLow = ySigned ? -128.f : 0.f;
        p.codeHigh = ySigned ? 127.f : 255.f;
        auto kernel = makeQuantizedAddKernel(p);
        if (!kernel) continue;  // a scale that is not positive: the float steps run and report it

        PlanStep fused;
        fused.node = add.node;
        fused.kernel = std::move(kernel.value());
        fused.inputs = {steps[size_t(dq[0])].inputs[0], steps[size_t(dq[1])].inputs[0]};
        fused.outputs = q.outputs;
        for (int i = 0; i < 2; ++i) {
            const int value = add.inputs[size_t(i)];
            if (use.onlyReader(value) != int(s)) continue;  // read elsewhere too: the DequantizeLinear step stays
            const PlanStep& step = steps[size_t(dq[i])];
            fused.nodeName += step.nodeName + "+";
            fused.opType += step.opType + "+";
            absorbed[size_t(dq[i])] = 1;
            m_fusedAway[size_t(value)] = 1;
        }
        fused.nodeName += add.nodeName;
        fused.opType += add.opType;
        m_fusedAway[size_t(add.outputs[0])] = 1;
        for (int part : chain) {
            fused.nodeName += "+" + steps[size_t(part)].nodeName;
            fused.opType += "+" + steps[size_t(part)].opType;
            absorbed[size_t(part)] = 1;
            if (part != next) m_fusedAway[size_t(steps[size_t(part)].outputs[0])] = 1;
        }
        steps[s] = std::move(fused);
    }
    return withoutSteps(std::move(steps), absorbed);
}

}  // namespace lathe
