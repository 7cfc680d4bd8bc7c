// Rewrite rule: the exact GELU that torch exports below opset 20, x → Div(√2) → Erf → Add(1) → Mul(x, ·) → Mul(0.5),
// becomes one Gelu step (kernels/unary: one vectorised pass instead of five over the tensor), as ONNX Runtime's
// GeluFusion does. Applicable when the three operands are constant scalars of those values, every value inside the
// chain has exactly one reader in it (x has the Div and the first Mul) and none is a graph output.
#include <cmath>

#include "core/runtime/execution_plan.h"
#include "core/runtime/op_registry.h"

namespace lathe {

std::vector<PlanStep> ExecutionPlan::fuseGeluChains(std::vector<PlanStep> steps) {
    const ValueUse use = valueUse(steps);
    auto scalar = [&](int id, double value) {
        const NDArray* c = id >= 0 ? m_constants[size_t(id)].get() : nullptr;
        return c && c->numel() == 1 && std::fabs(double(c->data[0]) - value) <= 1e-6 * std::fabs(value);
    };
    // The step that alone reads `value` when it is `op` with one output; -1 otherwise.
    auto onlyReader = [&](int value, const char* op) {
        const int s = use.onlyReader(value);
        if (s < 0) return -1;
        const PlanStep& next = steps[size_t(s)];
        return next.opType == op && next.outputs.size() == 1 && next.inputs.size() == 2 ? s : -1;
    };
    // The operand of binary step `s` that is not `value` (-1 when both are `value`).
    auto other = [&](int s, int value) {
        const PlanStep& step = steps[size_t(s)];
        return step.inputs[0] == value ? (step.inputs[1] == value ? -1 : step.inputs[1]) : step.inputs[0];
    };
    const KernelFactory gelu = findKernelFactory("Gelu");
    std::vector<char> absorbed(steps.size(), 0);
    for (size_t s = 0; s < steps.size() && gelu; ++s) {
        const PlanStep& div = steps[s];
        if (div.opType != "Div" || div.inputs.size() != 2 || div.outputs.size() != 1 || !scalar(div.inputs[1], M_SQRT2))
            continue;
        const int x = div.inputs[0];
        if (x < 0 || m_constants[size_t(x)]) continue;
        const int erf = use.onlyReader(div.outputs[0]);
        if (erf < 0 || steps[size_t(erf)].opType != "Erf" || steps[size_t(erf)].outputs.size() != 1) continue;
        const int add = onlyReader(steps[size_t(erf)].outputs[0], "Add");
        if (add < 0 || !scalar(other(add, steps[size_t(erf)].outputs[0]), 1.0)) continue;
        const int times = onlyReader(steps[size_t(add)].outputs[0], "Mul");
        if (times < 0 || other(times, steps[size_t(add)].outputs[0]) != x) continue;
        const int half = onlyReader(steps[size_t(times)].outputs[0], "Mul");
        if (half < 0 || !scalar(other(half, steps[size_t(times)].outputs[0]), 0.5)) continue;

        Node node;
        node.name = div.nodeName;
        node.opType = "Gelu";
        node.inputs = {m_valueNames[size_t(x)]};
        node.outputs = {m_valueNames[size_t(steps[size_t(half)].outputs[0])]};
        KernelContext context{node, 20, {nullptr}, {DType::Float}, {DType::Float}, m_packWeights};
        auto kernel = gelu(context);
        if (!kernel) continue;
        PlanStep fused = div;
        fused.kernel = std::move(*kernel);
        fused.inputs = {x};
        fused.outputs = steps[size_t(half)].outputs;
        for (int part : {erf, add, times, half}) {
            fused.nodeName += "+" + steps[size_t(part)].nodeName;
            fused.opType += "+" + steps[size_t(part)].opType;
            absorbed[size_t(part)] = 1;
        }
        for (int part : {int(s), erf, add, times}) m_fusedAway[size_t(steps[size_t(part)].outputs[0])] = 1;
        steps[s] = std::move(fused);
    }
    return withoutSteps(std::move(steps), absorbed);
}

}  // namespace lathe
