#pragma once

#include <limits>
#include <memory>

#include "core/common/result.h"
#include "core/runtime/kernel.h"

// DequantizeLinear(a) + DequantizeLinear(b) (→ Relu / Clip) → QuantizeLinear in one pass over the codes, as ONNX
// Runtime's QLinearAdd runs the QDQ form of a residual Add. Per element, the same float operations in the same order as
// the separate steps, so the codes are those steps' codes:
//   y = clamp(nearbyint(min(max((a - aZero) * aScale + (b - bZero) * bScale, low), high) / yScale) + yZero,
//             codeLow, codeHigh)
// a and b broadcast as for Add.
namespace lathe {

struct QuantizedAddParams {
    float aScale = 1.f, aZero = 0.f, bScale = 1.f, bZero = 0.f;
    float low = -std::numeric_limits<float>::infinity();  // a fused Relu/Clip, in real units
    float high = std::numeric_limits<float>::infinity();
    float yScale = 1.f, yZero = 0.f, codeLow = 0.f, codeHigh = 255.f;
};

// Errors name the parameter that is not a positive finite scale.
Result<std::unique_ptr<Kernel>> makeQuantizedAddKernel(const QuantizedAddParams& params);

}  // namespace lathe
