// Rewrite rule: a per-tensor DequantizeLinear whose only reader only selects or moves elements (MaxPool, Flatten,
// Reshape, Transpose, Squeeze, Unsqueeze) moves after that reader, which then runs on the codes, as ONNX Runtime's
// QDQ propagation does. (x - zero) * scale with a positive scale keeps the order of the codes, so the max of the
// dequantized values is the dequantized max of the codes, bit for bit; the other ops copy elements. The
// DequantizeLinear then sits in front of the Conv / Gemm / MatMul that reads the result, where fuseQuantizedChains
// makes the chain one int8 step (LeNet-5's QDQ export: Conv → Q → DQ → MaxPool → Conv).
#include <algorithm>

#include "core/runtime/execution_plan.h"

namespace lathe {

std::vector<PlanStep> ExecutionPlan::propagateDequantize(std::vector<PlanStep> steps) {
    static const char* const kMovers[] = {"MaxPool", "Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze"};
    for (bool moved = true; moved;) {
        moved = false;
        const ValueUse use = valueUse(steps);
        for (size_t s = 0; s < steps.size() && !moved; ++s) {
            const PlanStep& dq = steps[s];
            if (dq.opType != "DequantizeLinear" || dq.outputs.size() != 1 || dq.inputs.empty() || dq.inputs[0] < 0)
                continue;
            const std::optional<float> scale = scalarConstant(dq, 1, 0.f), zero = scalarConstant(dq, 2, 0.f);
            if (dq.inputs.size() < 2 || !scale || !zero || !(*scale > 0.f)) continue;
            const int value = dq.outputs[0], r = use.onlyReader(value);
            if (r < 0) continue;
            const PlanStep& reader = steps[size_t(r)];
            const bool mover = std::any_of(std::begin(kMovers), std::end(kMovers),
                                           [&](const char* op) { return reader.opType == op; });
            if (!mover || reader.outputs.size() != 1 || reader.inputs.empty() || reader.inputs[0] != value ||
                std::count(reader.inputs.begin(), reader.inputs.end(), value) != 1)
                continue;
            // reader(codes) → a new value, then the DequantizeLinear into the reader's output.
            const int codes = valueId(
                "\x01"
                "codes:" +
                m_valueNames[size_t(reader.outputs[0])]);
            m_fusedAway.resize(m_valueNames.size(), 0);
            m_fusedAway[size_t(codes)] = 1;
            m_isIntermediate[size_t(codes)] = 1;
            m_fusedAway[size_t(value)] = 1;
            PlanStep onCodes = reader, dequantize = dq;
            onCodes.inputs[0] = dq.inputs[0];
            onCodes.outputs = {codes};
            dequantize.inputs[0] = codes;
            dequantize.outputs = reader.outputs;
            steps[size_t(r)] = std::move(onCodes);
            steps.insert(steps.begin() + r + 1, std::move(dequantize));
            steps.erase(steps.begin() + long(s));
            moved = true;
        }
    }
    return steps;
}

}  // namespace lathe
